//! The guest's own profile (customer tokens only).

use actix_web::{get, patch, put, web, HttpRequest, HttpResponse};

use crate::auth::Principal;
use crate::features::guests::customers;
use crate::features::guests::model::*;
use crate::platform::error::{ApiError, Problem};
use crate::platform::page::PageParams;
use crate::server::http::{if_match, with_etag};
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// The guest's own profile, whole.
#[utoipa::path(tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "Own profile", body = Customer, headers(("ETag" = String, description = "Version for If-Match")))))]
#[get("/api/v1/me")]
pub async fn get_me(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    let id = p.require_customer()?.to_string();
    let cipher = state.cipher.clone();
    let c = state
        .db_then_commit(move |conn| customers::get(conn, &cipher, &p, &id))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), c.version).json(c))
}

/// Updates the guest's own profile. Only the fields of `MePatch`: sending `grade`, `tier`,
/// `points`, `tags`, `email` or any other field answers 422 and changes nothing. A phone number
/// that another profile holds is accepted like any other (a guest is never told that another
/// guest exists); staff see and merge duplicates.
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = MePatch,
    params(("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    responses((status = 200, description = "Updated", body = Customer, headers(("ETag" = String, description = "New version"))),
              (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json")))]
#[patch("/api/v1/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    body: ApiJson<MePatch>,
) -> Result<HttpResponse, ApiError> {
    let id = p.require_customer()?.to_string();
    let version = if_match(&req)?;
    let cipher = state.cipher.clone();
    let patch: CustomerPatch = body.into_inner().into();
    let c = state
        .db(move |conn| customers::update(conn, &cipher, &p, &id, patch, version))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), c.version).json(c))
}

/// Grants or withdraws one of the guest's own consents (source defaults to `app`).
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = ConsentUpdate,
    params(("purpose" = ConsentPurpose, Path, description = "Consent purpose")),
    responses((status = 200, description = "The consent now", body = ConsentState)))]
#[put("/api/v1/me/consents/{purpose}")]
pub async fn set_my_consent(
    state: web::Data<AppState>,
    p: Principal,
    purpose: web::Path<ConsentPurpose>,
    body: ApiJson<ConsentUpdate>,
) -> Result<HttpResponse, ApiError> {
    let id = p.require_customer()?.to_string();
    let (purpose, body) = (purpose.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| customers::set_consent(conn, &p, &id, purpose, body))
            .await?,
    ))
}

/// The guest's own consent history, newest first.
#[utoipa::path(tag = "me", security(("bearer" = [])), params(PageParams),
    responses((status = 200, description = "Consent events", body = ConsentEventPage)))]
#[get("/api/v1/me/consents/history")]
pub async fn list_my_consent_history(
    state: web::Data<AppState>,
    p: Principal,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = p.require_customer()?.to_string();
    let page = page.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| customers::consent_history(conn, &p, &id, &page))
            .await?,
    ))
}
