pub mod api_keys;

use actix_web::{get, patch, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Perm, Principal};
use crate::features::staff::{self, StaffCreate, StaffPatch, StaffUser};
use crate::platform::error::ApiError;
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// All staff users, by email (a property-restricted admin: those working only at its
/// properties).
#[utoipa::path(tag = "staff", security(("bearer" = [])),
    responses((status = 200, description = "Staff users", body = Vec<StaffUser>)))]
#[get("/api/v1/staff")]
pub async fn list_staff(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    p.require(Perm::StaffManage)?;
    Ok(HttpResponse::Ok().json(state.db(move |conn| staff::list(conn, &p)).await?))
}

/// Creates a staff user with a role and property scope. Audited. A property-restricted admin
/// grants only its own properties: an empty list (all properties) or another property answers
/// 403.
#[utoipa::path(tag = "staff", security(("bearer" = [])), request_body = StaffCreate,
    responses((status = 201, description = "Created", body = StaffUser),
              (status = 409, description = "Email taken", body = crate::platform::error::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/staff")]
pub async fn create_staff(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<StaffCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::StaffManage)?;
    let body = body.into_inner();
    let u = state.db(move |conn| staff::create(conn, Some(&p), body)).await?;
    Ok(HttpResponse::Created().json(u))
}

/// One staff user (404 for one working beyond a restricted admin's properties).
#[utoipa::path(tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, description = "Staff user id")),
    responses((status = 200, description = "The staff user", body = StaffUser)))]
#[get("/api/v1/staff/{id}")]
pub async fn get_staff(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::StaffManage)?;
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| staff::get(conn, &p, &id)).await?))
}

/// Changes name, role, property scope, active flag or password. Role changes invalidate the
/// user's access tokens. Audited. A property-restricted admin edits only staff within its
/// properties (404 otherwise), grants no property beyond its own and cannot change its own
/// properties (403).
#[utoipa::path(tag = "staff", security(("bearer" = [])), request_body = StaffPatch,
    params(("id" = String, Path, description = "Staff user id")),
    responses((status = 200, description = "Updated", body = StaffUser),
              (status = 409, description = "An admin cannot demote or deactivate themself", body = crate::platform::error::Problem, content_type = "application/problem+json")))]
#[patch("/api/v1/staff/{id}")]
pub async fn update_staff(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<StaffPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::StaffManage)?;
    let (id, body) = (id.into_inner(), body.into_inner());
    let user_id = id.clone();
    let user = state.db(move |conn| staff::update(conn, &p, &id, body)).await?;
    // This instance sees a deactivation, role or scope change at once (others within the
    // authentication cache's bound).
    state.auth_cache.staff.forget(&user_id);
    Ok(HttpResponse::Ok().json(user))
}

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_staff)
        .service(create_staff)
        .service(get_staff)
        .service(update_staff)
        .service(api_keys::list_api_keys)
        .service(api_keys::create_api_key)
        .service(api_keys::get_api_key)
        .service(api_keys::revoke_api_key);
}
