use actix_web::{post, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::features::sessions::{self as auth, LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};
use crate::platform::error::ApiError;
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// Failed logins allowed per account (email) per window, from anywhere.
pub const LOGIN_FAILURES_PER_ACCOUNT: u32 = 10;
/// Failed logins (and registrations of taken emails) allowed per client address per window,
/// across every account it tries.
pub const LOGIN_FAILURES_PER_ADDRESS: u32 = 30;
/// Registrations per client address per window, successful or not.
pub const REGISTRATIONS_PER_ADDRESS: u32 = 10;

fn client_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

fn address_key(ip: Option<&str>) -> String {
    format!("addr:{}", ip.unwrap_or_default())
}

fn too_many(retry_after_secs: u64) -> ApiError {
    ApiError::TooManyRequests { retry_after_secs }
}

async fn do_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: LoginRequest,
    staff: bool,
) -> Result<HttpResponse, ApiError> {
    let kind = if staff { "staff" } else { "customer" };
    let account = format!("{kind}:{}", body.email.trim().to_lowercase());
    let address = address_key(client_ip(&req).as_deref());
    // Reserved before any password work: parallel guesses each take a slot first.
    state
        .login_limiter
        .hit_all(&[
            (&account, LOGIN_FAILURES_PER_ACCOUNT),
            (&address, LOGIN_FAILURES_PER_ADDRESS),
        ])
        .map_err(too_many)?;
    let st = state.clone();
    let result = state
        .db(move |conn| {
            let tokens = auth::TokenIssuer::new(&st);
            if staff {
                auth::staff_login(conn, &tokens, &body)
            } else {
                auth::customer_login(conn, &tokens, &body)
            }
        })
        .await;
    match result {
        Ok(t) => {
            state.login_limiter.reset(&account);
            state.login_limiter.refund(&address);
            Ok(HttpResponse::Ok().json(t))
        }
        // A failed attempt keeps its slot on both keys.
        Err(e @ ApiError::Unauthorized(_)) => Err(e),
        Err(e) => {
            state.login_limiter.refund(&account);
            state.login_limiter.refund(&address);
            Err(e)
        }
    }
}

/// Staff login.
///
/// Each attempt is counted before the password is checked: after ten failures for
/// one email, or thirty from one address (any emails), in 15 minutes, attempts answer 429 with
/// `Retry-After` (even with the right password) until the window passes.
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

/// Guest login (the mobile app), throttled like the staff login.
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

/// Guest self-registration: creates a new guest profile (source `app`) and logs in.
///
/// An email that only the hotel's own records hold registers like a new one (a new profile;
/// staff see and merge the duplicate). An email that already has an app login answers 409
/// with a generic problem and is noted in the audit log of that account; it counts against
/// the address's failed-login allowance. At most ten registrations per address in 15 minutes.
#[utoipa::path(tag = "auth", security(()), request_body = RegisterRequest,
    responses((status = 201, description = "Registered; tokens", body = TokenResponse),
              (status = 409, description = "This email cannot be registered (log in or reset the password)", body = crate::platform::error::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/auth/customer/register")]
pub async fn customer_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req);
    let register_key = format!("register:{}", ip.clone().unwrap_or_default());
    let address = address_key(ip.as_deref());
    state
        .login_limiter
        .hit_all(&[
            (&register_key, REGISTRATIONS_PER_ADDRESS),
            (&address, LOGIN_FAILURES_PER_ADDRESS),
        ])
        .map_err(too_many)?;
    let request_id = req.extensions_id();
    let st = state.clone();
    let body = body.into_inner();
    let result = state
        .db(move |conn| {
            let tokens = auth::TokenIssuer::new(&st);
            auth::register(conn, &tokens, &st.cipher, body, ip, request_id)
        })
        .await;
    // A taken email counts as a failure from this address (probing for accounts); anything
    // else gives the address slot back.
    if !matches!(result, Err(ApiError::Conflict { .. })) {
        state.login_limiter.refund(&address);
    }
    let t = result?;
    Ok(HttpResponse::Created().json(t))
}

/// Exchanges a refresh token for new tokens (rotation: the old one stops working; presenting
/// it again revokes the session).
#[utoipa::path(tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 200, description = "New tokens", body = TokenResponse)))]
#[post("/api/v1/auth/refresh")]
pub async fn refresh(state: web::Data<AppState>, body: ApiJson<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let body = body.into_inner();
    let t = state
        .db(move |conn| {
            let tokens = auth::TokenIssuer::new(&st);
            auth::refresh(conn, &tokens, &body)
        })
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Ends the session: revokes the refresh token and its rotations. Idempotent.
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
            .get::<crate::server::middleware::RequestId>()
            .map(|r| r.0.clone())
    }
}

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(customer_register)
        .service(customer_login)
        .service(refresh)
        .service(logout);
}
