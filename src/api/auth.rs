use actix_web::{post, web, HttpRequest, HttpResponse};

use crate::api::json::ApiJson;
use crate::error::ApiError;
use crate::services::auth::{self, LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};
use crate::state::AppState;

fn limiter_key(req: &HttpRequest, kind: &str, email: &str) -> String {
    let ip = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    format!("{kind}:{ip}:{}", email.trim().to_lowercase())
}

async fn do_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: LoginRequest,
    staff: bool,
) -> Result<HttpResponse, ApiError> {
    let key = limiter_key(&req, if staff { "staff" } else { "customer" }, &body.email);
    state
        .login_limiter
        .check(&key)
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let st = state.clone();
    let result = state
        .db(move |conn| {
            let tokens = st.tokens();
            if staff {
                auth::staff_login(conn, &tokens, &body)
            } else {
                auth::customer_login(conn, &tokens, &body)
            }
        })
        .await;
    match result {
        Ok(t) => {
            state.login_limiter.reset(&key);
            Ok(HttpResponse::Ok().json(t))
        }
        Err(e @ ApiError::Unauthorized(_)) => {
            let _ = state.login_limiter.hit(&key);
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Staff login. Ten failed attempts per address and email in 15 minutes answer 429.
///
/// **Access:** public.
#[utoipa::path(tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, description = "Tokens", body = TokenResponse)))]
#[post("/api/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    do_login(state, req, body.into_inner(), true).await
}

/// Guest login (the mobile app).
///
/// **Access:** public.
#[utoipa::path(tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, description = "Tokens", body = TokenResponse)))]
#[post("/api/v1/auth/customer/login")]
pub async fn customer_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    do_login(state, req, body.into_inner(), false).await
}

/// Guest self-registration: creates the guest profile (source `app`) and logs in.
///
/// **Access:** public.
#[utoipa::path(tag = "auth", security(()), request_body = RegisterRequest,
    responses((status = 201, description = "Registered; tokens", body = TokenResponse),
              (status = 409, description = "Email already registered", body = crate::error::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/auth/customer/register")]
pub async fn customer_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    let key = format!("register:{}", ip.clone().unwrap_or_default());
    state
        .login_limiter
        .hit(&key)
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let request_id = req.extensions_id();
    let st = state.clone();
    let body = body.into_inner();
    let t = state
        .db(move |conn| {
            let tokens = st.tokens();
            auth::register(conn, &tokens, &st.cipher, body, ip, request_id)
        })
        .await?;
    Ok(HttpResponse::Created().json(t))
}

/// Exchanges a refresh token for new tokens (rotation: the old one stops working; presenting
/// it again revokes the session).
///
/// **Access:** public (the refresh token is the credential).
#[utoipa::path(tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 200, description = "New tokens", body = TokenResponse)))]
#[post("/api/v1/auth/refresh")]
pub async fn refresh(state: web::Data<AppState>, body: ApiJson<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let body = body.into_inner();
    let t = state
        .db(move |conn| {
            let tokens = st.tokens();
            auth::refresh(conn, &tokens, &body)
        })
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Ends the session: revokes the refresh token and its rotations. Idempotent.
///
/// **Access:** public (the refresh token is the credential).
#[utoipa::path(tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 204, description = "Logged out")))]
#[post("/api/v1/auth/logout")]
pub async fn logout(state: web::Data<AppState>, body: ApiJson<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    state.db(move |conn| auth::logout(conn, &body)).await?;
    Ok(HttpResponse::NoContent().finish())
}

trait RequestIdExt {
    fn extensions_id(&self) -> Option<String>;
}

impl RequestIdExt for HttpRequest {
    fn extensions_id(&self) -> Option<String> {
        use actix_web::HttpMessage;
        self.extensions()
            .get::<crate::middleware::RequestId>()
            .map(|r| r.0.clone())
    }
}
