use actix_web::{delete, get, put, web, HttpResponse};

use crate::auth::Principal;
use crate::features::loyalty::programme::{self, Programme, ProgrammeUpdate, PropertyRules, PropertyRulesUpdate};
use crate::platform::error::{ApiError, Problem};
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// The loyalty programme's rules: points per currency unit, outlet weights, lot expiry, tier
/// thresholds and multipliers, and properties' own earning rules.
#[utoipa::path(tag = "loyalty", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "The programme", body = Programme)))]
#[get("/api/v1/loyalty/programme")]
pub async fn get_programme(state: web::Data<AppState>, _p: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.db(programme::get).await?))
}

/// Replaces the group's programme rules (every field). Applies to points earned from now on;
/// tier thresholds apply at the next earning (upgrades) and the yearly review (downgrades).
/// Audited with the values before and after.
#[utoipa::path(tag = "loyalty", security(("bearer" = [])), request_body = ProgrammeUpdate,
    responses((status = 200, description = "The programme", body = Programme)))]
#[put("/api/v1/loyalty/programme")]
pub async fn update_programme(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<ProgrammeUpdate>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| programme::update(conn, &p, body)).await?))
}

/// Sets a property's own earning rules (points per unit, outlet weights), replacing any it had;
/// what it does not set follows the group. Audited.
#[utoipa::path(tag = "loyalty", security(("bearer" = [])), request_body = PropertyRulesUpdate,
    params(("id" = String, Path, description = "Property id")),
    responses((status = 200, description = "The property's rules", body = PropertyRules)))]
#[put("/api/v1/properties/{id}/loyalty-rules")]
pub async fn set_property_loyalty_rules(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<PropertyRulesUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| programme::set_property_rules(conn, &p, &id, body))
            .await?,
    ))
}

/// Removes a property's own earning rules: it follows the group again. Audited.
#[utoipa::path(tag = "loyalty", security(("bearer" = [])),
    params(("id" = String, Path, description = "Property id")),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No rules of its own", body = Problem, content_type = "application/problem+json")))]
#[delete("/api/v1/properties/{id}/loyalty-rules")]
pub async fn remove_property_loyalty_rules(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db(move |conn| programme::remove_property_rules(conn, &p, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
