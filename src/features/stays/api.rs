use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Actor, Principal};
use crate::features::stays::service::{
    self as stays, SpendInput, SpendLine, Stay, StayBatch, StayBatchResult, StayDetail, StayFilter, StayInput,
    StayPage, StayPatch,
};
use crate::platform::error::{ApiError, Problem};
use crate::platform::page::PageParams;
use crate::server::http::{if_match, with_etag};
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// Integrations must make their pushes retry-safe (SPEC §10); staff corrections need not.
fn require_idempotency_key(p: &Principal, req: &HttpRequest) -> Result<(), ApiError> {
    if matches!(p.actor, Actor::ApiKey(_)) {
        crate::server::http::required_idempotency_key(req, "integration pushes")?;
    }
    Ok(())
}

/// Pushes a stay (PMS). Upsert by `(property_id, confirmation_number)`: 201 when new, 200 when
/// known. Status changes follow `reserved → in_house → checked_out`, `→ cancelled | no_show`;
/// an illegal change answers 409 naming the allowed ones. API keys must send `Idempotency-Key`.
#[utoipa::path(tag = "stays", security(("bearer" = []), ("api_key" = [])), request_body = StayInput,
    responses((status = 200, description = "Updated", body = Stay, headers(("ETag" = String, description = "Version for If-Match"))), (status = 201, description = "Created", body = Stay, headers(("ETag" = String, description = "Version for If-Match"))),
              (status = 409, description = "Illegal status change, or the confirmation number is another guest's", body = Problem, content_type = "application/problem+json"),
              (status = 428, description = "API key without Idempotency-Key", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/stays")]
pub async fn push_stay(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    body: ApiJson<StayInput>,
) -> Result<HttpResponse, ApiError> {
    require_idempotency_key(&p, &req)?;
    let body = body.into_inner();
    let (stay, created) = state.db(move |conn| stays::upsert_stay(conn, &p, body)).await?;
    let b = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(with_etag(b, stay.version).json(stay))
}

/// Pushes up to 1,000 stays; each is applied on its own and gets its own result (status and,
/// on failure, the problem it would have answered alone). The body may be up to 4 MiB (a full
/// batch with every field at its maximum length fits); other operations take 256 KiB.
#[utoipa::path(tag = "stays", security(("bearer" = []), ("api_key" = [])), request_body = StayBatch,
    responses((status = 200, description = "A result per item", body = StayBatchResult),
              (status = 428, description = "API key without Idempotency-Key", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/stays/batch")]
pub async fn push_stay_batch(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    body: ApiJson<StayBatch>,
) -> Result<HttpResponse, ApiError> {
    require_idempotency_key(&p, &req)?;
    let body = body.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| stays::upsert_batch(conn, &p, body)).await?))
}

/// One stay with its spend lines (404 outside the caller's properties).
#[utoipa::path(tag = "stays", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Stay id")),
    responses((status = 200, description = "The stay", body = StayDetail, headers(("ETag" = String, description = "Version for If-Match")))))]
#[get("/api/v1/stays/{id}")]
pub async fn get_stay(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let d = state.db(move |conn| stays::get_stay(conn, &p, &id)).await?;
    Ok(with_etag(HttpResponse::Ok(), d.stay.version).json(d))
}

/// Changes a stay (status, dates, room, rate). `If-Match` with the `ETag` guards against lost
/// updates (412 when stale).
#[utoipa::path(tag = "stays", security(("bearer" = []), ("api_key" = [])), request_body = StayPatch,
    params(("id" = String, Path, description = "Stay id"), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    responses((status = 200, description = "Updated", body = Stay, headers(("ETag" = String, description = "Version for If-Match"))),
              (status = 409, description = "Illegal status change", body = Problem, content_type = "application/problem+json"),
              (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json")))]
#[patch("/api/v1/stays/{id}")]
pub async fn update_stay(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<StayPatch>,
) -> Result<HttpResponse, ApiError> {
    let version = if_match(&req)?;
    let (id, body) = (id.into_inner(), body.into_inner());
    let s = state
        .db(move |conn| stays::update_stay(conn, &p, &id, body, version))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), s.version).json(s))
}

/// Pushes a spend line (POS/PMS). Upsert by `(property_id, external_id)`; in the property's
/// currency; negative amounts for refunds. API keys must send `Idempotency-Key`.
#[utoipa::path(tag = "stays", security(("bearer" = []), ("api_key" = [])), request_body = SpendInput,
    responses((status = 200, description = "Updated", body = SpendLine), (status = 201, description = "Created", body = SpendLine),
              (status = 428, description = "API key without Idempotency-Key", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/spend")]
pub async fn push_spend(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    body: ApiJson<SpendInput>,
) -> Result<HttpResponse, ApiError> {
    require_idempotency_key(&p, &req)?;
    let body = body.into_inner();
    let (line, created) = state.db(move |conn| stays::upsert_spend(conn, &p, body)).await?;
    Ok(if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(line))
}

/// A guest's stays in the caller's properties, newest first.
#[utoipa::path(tag = "stays", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Customer id"), StayFilter, PageParams),
    responses((status = 200, description = "Stays", body = StayPage)))]
#[get("/api/v1/customers/{id}/stays")]
pub async fn list_customer_stays(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    f: web::Query<StayFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, f, page) = (id.into_inner(), f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| stays::list_customer_stays(conn, &p, &id, &f, &page))
            .await?,
    ))
}

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(push_stay)
        .service(push_stay_batch)
        .service(get_stay)
        .service(update_stay)
        .service(push_spend)
        .service(list_customer_stays);
}
