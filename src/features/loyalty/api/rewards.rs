use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};

use crate::auth::Principal;
use crate::features::loyalty::rewards::{
    self, Redemption, RedemptionNote, RedemptionPage, RedemptionRequest, Reward, RewardCreate, RewardPatch,
};
use crate::platform::error::{ApiError, Problem};
use crate::platform::page::PageParams;
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// The rewards catalogue, cheapest first. Guests and integrations see active rewards only.
#[utoipa::path(tag = "rewards", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "Rewards", body = Vec<Reward>)))]
#[get("/api/v1/rewards")]
pub async fn list_rewards(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.db(move |conn| rewards::list_rewards(conn, &p)).await?))
}

/// Adds a reward (e.g. a free night for 5,000 points). Audited.
#[utoipa::path(tag = "rewards", security(("bearer" = [])), request_body = RewardCreate,
    responses((status = 201, description = "Created", body = Reward),
              (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/rewards")]
pub async fn create_reward(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<RewardCreate>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    Ok(HttpResponse::Created().json(state.db(move |conn| rewards::create_reward(conn, &p, body)).await?))
}

/// Changes a reward's name, description, cost or availability. Audited.
#[utoipa::path(tag = "rewards", security(("bearer" = [])), request_body = RewardPatch,
    params(("id" = String, Path, description = "Reward id")),
    responses((status = 200, description = "Updated", body = Reward)))]
#[patch("/api/v1/rewards/{id}")]
pub async fn update_reward(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<RewardPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| rewards::update_reward(conn, &p, &id, body))
            .await?,
    ))
}

/// The guest redeems a reward from their own balance: the points leave at once (409 when the
/// balance does not cover it); the order starts `pending`. `Idempotency-Key` is required.
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = RedemptionRequest,
    responses((status = 201, description = "Ordered", body = Redemption),
              (status = 409, description = "Insufficient points", body = Problem, content_type = "application/problem+json"),
              (status = 428, description = "Missing Idempotency-Key", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/me/redemptions")]
pub async fn redeem(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    body: ApiJson<RedemptionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = p.require_customer()?.to_string();
    let key = crate::server::http::required_idempotency_key(&req, "redemptions")?;
    let body = body.into_inner();
    state
        .db_answered(StatusCode::CREATED, move |conn| {
            rewards::redeem(conn, &p, &id, body, &key).map(|(r, _)| r)
        })
        .await
}

/// The guest's own redemption orders, newest first.
#[utoipa::path(tag = "me", security(("bearer" = [])), params(PageParams),
    responses((status = 200, description = "Orders", body = RedemptionPage)))]
#[get("/api/v1/me/redemptions")]
pub async fn list_my_redemptions(
    state: web::Data<AppState>,
    p: Principal,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = p.require_customer()?.to_string();
    let page = page.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| rewards::list_redemptions(conn, &p, &id, &page))
            .await?,
    ))
}

/// A guest's redemption orders, newest first.
#[utoipa::path(tag = "rewards", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Customer id"), PageParams),
    responses((status = 200, description = "Orders", body = RedemptionPage)))]
#[get("/api/v1/customers/{id}/redemptions")]
pub async fn list_customer_redemptions(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, page) = (id.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| rewards::list_redemptions(conn, &p, &id, &page))
            .await?,
    ))
}

/// Marks a pending order fulfilled (the reward was handed over). Idempotent; 409 for a
/// cancelled order.
#[utoipa::path(tag = "rewards", security(("bearer" = []), ("api_key" = [])), request_body = RedemptionNote,
    params(("id" = String, Path, description = "Redemption id")),
    responses((status = 200, description = "Fulfilled", body = Redemption),
              (status = 409, description = "Not pending", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/redemptions/{id}/fulfilment")]
pub async fn fulfil_redemption(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<RedemptionNote>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| rewards::fulfil(conn, &p, &id, body)).await?))
}

/// Cancels a pending order; a `reverse` entry gives the points back. Idempotent; 409 for a
/// fulfilled order.
#[utoipa::path(tag = "rewards", security(("bearer" = []), ("api_key" = [])), request_body = RedemptionNote,
    params(("id" = String, Path, description = "Redemption id")),
    responses((status = 200, description = "Cancelled", body = Redemption),
              (status = 409, description = "Not pending", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/redemptions/{id}/cancellation")]
pub async fn cancel_redemption(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<RedemptionNote>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| rewards::cancel(conn, &p, &id, body)).await?))
}
