use actix_web::{get, patch, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Perm, Principal};
use crate::features::properties::{self, Property, PropertyCreate, PropertyPatch};
use crate::platform::error::ApiError;
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// Properties in the caller's scope, ordered by code.
#[utoipa::path(tag = "properties", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "Properties", body = Vec<Property>)))]
#[get("/api/v1/properties")]
pub async fn list_properties(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    p.require(Perm::PropertiesRead)?;
    let list = state.db(move |conn| properties::list(conn, &p)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a property. A group-wide act: a property-restricted admin gets 403.
#[utoipa::path(tag = "properties", security(("bearer" = [])), request_body = PropertyCreate,
    responses((status = 201, description = "Created", body = Property),
              (status = 409, description = "Code taken", body = crate::platform::error::Problem, content_type = "application/problem+json")))]
#[post("/api/v1/properties")]
pub async fn create_property(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<PropertyCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require_group_wide(Perm::PropertiesWrite)?;
    let body = body.into_inner();
    let created = state.db(move |conn| properties::create(conn, &p, body)).await?;
    Ok(HttpResponse::Created().json(created))
}

/// One property (404 outside the caller's scope).
#[utoipa::path(tag = "properties", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Property id")),
    responses((status = 200, description = "The property", body = Property)))]
#[get("/api/v1/properties/{id}")]
pub async fn get_property(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::PropertiesRead)?;
    let id = id.into_inner();
    let prop = state.db(move |conn| properties::get(conn, &p, &id)).await?;
    Ok(HttpResponse::Ok().json(prop))
}

/// Updates name, time zone or currency (404 outside the caller's properties).
#[utoipa::path(tag = "properties", security(("bearer" = [])), request_body = PropertyPatch,
    params(("id" = String, Path, description = "Property id")),
    responses((status = 200, description = "Updated", body = Property)))]
#[patch("/api/v1/properties/{id}")]
pub async fn update_property(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<PropertyPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::PropertiesWrite)?;
    let (id, body) = (id.into_inner(), body.into_inner());
    let prop = state.db(move |conn| properties::update(conn, &p, &id, body)).await?;
    Ok(HttpResponse::Ok().json(prop))
}

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_properties)
        .service(create_property)
        .service(get_property)
        .service(update_property);
}
