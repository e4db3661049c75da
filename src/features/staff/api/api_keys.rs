use actix_web::{delete, get, post, web, HttpResponse};

use crate::auth::{Perm, Principal};
use crate::features::staff::api_keys::{self, ApiKey, ApiKeyCreate, ApiKeyCreated};
use crate::platform::error::ApiError;
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// All API keys, newest first (never the secret); a property-restricted admin sees the keys
/// restricted to its properties.
#[utoipa::path(tag = "api-keys", security(("bearer" = [])),
    responses((status = 200, description = "API keys", body = Vec<ApiKey>)))]
#[get("/api/v1/api-keys")]
pub async fn list_api_keys(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    p.require(Perm::ApiKeysManage)?;
    Ok(HttpResponse::Ok().json(state.db(move |conn| api_keys::list(conn, &p)).await?))
}

/// Creates a scoped key. The full `key` is in this answer only; it is stored as a hash. A
/// property-restricted admin grants only its own properties: an empty list (all properties) or
/// another property answers 403.
#[utoipa::path(tag = "api-keys", security(("bearer" = [])), request_body = ApiKeyCreate,
    responses((status = 201, description = "Created; the key is shown once", body = ApiKeyCreated)))]
#[post("/api/v1/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<ApiKeyCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::ApiKeysManage)?;
    let body = body.into_inner();
    Ok(HttpResponse::Created().json(state.db(move |conn| api_keys::create(conn, &p, body)).await?))
}

/// One API key (404 for one reaching beyond a restricted admin's properties).
#[utoipa::path(tag = "api-keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses((status = 200, description = "The key", body = ApiKey)))]
#[get("/api/v1/api-keys/{id}")]
pub async fn get_api_key(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::ApiKeysManage)?;
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| api_keys::get(conn, &p, &id)).await?))
}

/// Revokes a key at once; it stays listed (with `revoked_at`) for the audit trail. Idempotent.
/// Audited. A restricted admin revokes only keys within its properties (404 otherwise).
#[utoipa::path(tag = "api-keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses((status = 204, description = "Revoked")))]
#[delete("/api/v1/api-keys/{id}")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::ApiKeysManage)?;
    let id = id.into_inner();
    state.db(move |conn| api_keys::revoke(conn, &p, &id)).await?;
    // Keys are cached by their hash, which is not stored with the id here: forget them all
    // (revocations are rare), so this instance refuses the key at once.
    state.auth_cache.keys.clear();
    Ok(HttpResponse::NoContent().finish())
}
