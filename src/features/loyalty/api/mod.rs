pub mod programme;
pub mod rewards;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Principal;
use crate::features::loyalty::ledger::{self as loyalty, AdjustmentRequest, LedgerEntry, LedgerPage, LoyaltySummary};
use crate::platform::error::{ApiError, Problem};
use crate::platform::page::PageParams;
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// A guest's loyalty summary: balance, tier, progress to the next tier, points expiring in the
/// next 90 days. `enrolled: false` for a guest without an account.
#[utoipa::path(tag = "loyalty", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "Summary", body = LoyaltySummary)))]
#[get("/api/v1/customers/{id}/loyalty")]
pub async fn get_loyalty(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| loyalty::summary(conn, &p, &id)).await?))
}

/// The statement: entries newest first with the running balance after each, and for
/// deductions the lots they consumed.
#[utoipa::path(tag = "loyalty", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Customer id"), PageParams),
    responses((status = 200, description = "Entries", body = LedgerPage)))]
#[get("/api/v1/customers/{id}/loyalty/entries")]
pub async fn list_loyalty_entries(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, page) = (id.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| loyalty::entries(conn, &p, &id, &page)).await?))
}

/// Posts a manual adjustment with a reason (positive: a new lot; negative: taken from the
/// soonest-expiring lots, never below zero → 409). `Idempotency-Key` is required: a ledger
/// posting is applied at most once. Audited.
#[utoipa::path(tag = "loyalty", security(("bearer" = []), ("api_key" = [])), request_body = AdjustmentRequest,
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 201, description = "Posted", body = LedgerEntry),
              (status = 409, description = "Insufficient points", body = Problem, content_type = "application/problem+json"),
              (status = 428, description = "Missing Idempotency-Key", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/customers/{id}/loyalty/adjustments")]
pub async fn create_loyalty_adjustment(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<AdjustmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = crate::server::http::required_idempotency_key(&req, "ledger postings")?;
    let (id, body) = (id.into_inner(), body.into_inner());
    // The entry, the balance, the audit row, the event, the key and this answer: one commit.
    state
        .db_answered(StatusCode::CREATED, move |conn| {
            loyalty::adjust(conn, &p, &id, body, Some(key)).map(|(entry, _)| entry)
        })
        .await
}

/// Enrols a staff-created guest in the programme (201; 200 when already enrolled).
#[utoipa::path(tag = "loyalty", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "Already enrolled", body = LoyaltySummary), (status = 201, description = "Enrolled", body = LoyaltySummary)))]
#[post("/api/v1/customers/{id}/loyalty/enrolment")]
pub async fn enrol_customer(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (s, created) = state.db(move |conn| loyalty::enrol(conn, &p, &id)).await?;
    Ok(if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(s))
}

/// The guest's own loyalty summary.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses((status = 200, description = "Summary", body = LoyaltySummary)))]
#[get("/api/v1/me/loyalty")]
pub async fn get_my_loyalty(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    let id = p.require_customer()?.to_string();
    Ok(HttpResponse::Ok().json(state.db(move |conn| loyalty::summary(conn, &p, &id)).await?))
}

/// The guest's own statement (signed points, running balance).
#[utoipa::path(tag = "me", security(("bearer" = [])), params(PageParams), responses((status = 200, description = "Entries", body = LedgerPage)))]
#[get("/api/v1/me/loyalty/entries")]
pub async fn list_my_loyalty_entries(
    state: web::Data<AppState>,
    p: Principal,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = p.require_customer()?.to_string();
    let page = page.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| loyalty::entries(conn, &p, &id, &page)).await?))
}

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_loyalty)
        .service(list_loyalty_entries)
        .service(create_loyalty_adjustment)
        .service(enrol_customer)
        .service(get_my_loyalty)
        .service(list_my_loyalty_entries)
        .service(programme::get_programme)
        .service(programme::update_programme)
        .service(programme::set_property_loyalty_rules)
        .service(programme::remove_property_loyalty_rules)
        .service(rewards::list_rewards)
        .service(rewards::create_reward)
        .service(rewards::update_reward)
        .service(rewards::redeem)
        .service(rewards::list_my_redemptions)
        .service(rewards::list_customer_redemptions)
        .service(rewards::fulfil_redemption)
        .service(rewards::cancel_redemption);
}
