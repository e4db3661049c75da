use actix_web::{delete, get, patch, post, web, HttpResponse};

use crate::auth::{Perm, Principal};
use crate::features::events::model::{
    DeliveryFilter, PingResult, RecoverRequest, RecoverResult, WebhookDelivery, WebhookDeliveryPage, WebhookEndpoint,
    WebhookEndpointCreate, WebhookEndpointUpdate, WebhookEndpointWithSecret,
};
use crate::features::events::{deliveries, endpoints, sender};
use crate::platform::error::ApiError;
use crate::platform::page::PageParams;
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// Webhook endpoints the caller manages (a property-restricted caller: those limited to its
/// properties), newest first. Never the secret.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "Endpoints", body = Vec<WebhookEndpoint>)))]
#[get("/api/v1/webhook-endpoints")]
pub async fn list_webhook_endpoints(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.db(move |conn| endpoints::list(conn, &p)).await?))
}

/// Registers a receiver. Deliveries start with the events committed from now on, signed per
/// Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the
/// `secret` of this answer — the only time it is shown. A property-restricted caller must name
/// some of its own properties in `property_ids`.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), request_body = WebhookEndpointCreate,
    responses((status = 201, description = "Created; the secret is shown once", body = WebhookEndpointWithSecret)))]
#[post("/api/v1/webhook-endpoints")]
pub async fn create_webhook_endpoint(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<WebhookEndpointCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::WebhooksManage)?;
    let (body, cipher) = (body.into_inner(), state.cipher.clone());
    let created = state.db(move |conn| endpoints::create(conn, &p, &cipher, body)).await?;
    state.workers.webhooks.wake();
    Ok(HttpResponse::Created().json(created))
}

/// One endpoint (404 for one beyond a restricted caller's properties).
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "The endpoint", body = WebhookEndpoint)))]
#[get("/api/v1/webhook-endpoints/{id}")]
pub async fn get_webhook_endpoint(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| endpoints::get(conn, &p, &id)).await?))
}

/// Changes URL, description, type or property filters, or enables/disables it. Re-enabling
/// resumes with new events; `recover` sends what it missed.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), request_body = WebhookEndpointUpdate,
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "Updated", body = WebhookEndpoint)))]
#[patch("/api/v1/webhook-endpoints/{id}")]
pub async fn update_webhook_endpoint(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<WebhookEndpointUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let updated = state.db(move |conn| endpoints::update(conn, &p, &id, body)).await?;
    state.workers.webhooks.wake();
    Ok(HttpResponse::Ok().json(updated))
}

/// Deletes the endpoint and its delivery log.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 204, description = "Deleted")))]
#[delete("/api/v1/webhook-endpoints/{id}")]
pub async fn delete_webhook_endpoint(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.db(move |conn| endpoints::delete(conn, &p, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new secret, shown in this answer only. The previous one keeps signing for 24 hours
/// (`webhook-signature` then carries both), so the receiver can switch without losing a delivery.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "Rotated; the new secret is shown once", body = WebhookEndpointWithSecret)))]
#[post("/api/v1/webhook-endpoints/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, cipher) = (id.into_inner(), state.cipher.clone());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| endpoints::rotate_secret(conn, &p, &cipher, &id))
            .await?,
    ))
}

/// Sends a signed `ping` (`{"type": "ping", …}`) to the endpoint now and reports its answer
/// (the receiver's failure is reported in the body, not as an error of this call). Not logged
/// as a delivery.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "The receiver's answer", body = PingResult)))]
#[post("/api/v1/webhook-endpoints/{id}/test")]
pub async fn test_webhook_endpoint(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, cipher) = (id.into_inner(), state.cipher.clone());
    let ping = state.db(move |conn| endpoints::ping(conn, &p, &cipher, &id)).await?;
    let answer = web::block(move || {
        sender::post(
            &sender::agent(),
            &sender::Outgoing {
                url: &ping.url,
                msg_id: &ping.msg_id,
                timestamp: ping.timestamp,
                signature: &ping.signature,
                body: &ping.body,
            },
        )
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(PingResult {
        ok: answer.succeeded(),
        status: answer.status.map(i32::from),
        latency_ms: answer.latency_ms,
        response: answer.body,
        error: answer.error,
    }))
}

/// The delivery log of an endpoint, newest first: each event's state, attempts, last status,
/// latency, the first 2 KiB of the last answer and the next attempt.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id"), DeliveryFilter, PageParams),
    responses((status = 200, description = "Deliveries", body = WebhookDeliveryPage)))]
#[get("/api/v1/webhook-endpoints/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    f: web::Query<DeliveryFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, f, page) = (id.into_inner(), f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| deliveries::list(conn, &p, &id, &f, &page)).await?))
}

/// Sends one delivery again from its first attempt, with the same `webhook-id` (409 while it is
/// being sent). A replay does not count toward disabling the endpoint.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id"), ("delivery_id" = String, Path, description = "Delivery id")),
    responses((status = 202, description = "Queued", body = WebhookDelivery)))]
#[post("/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_webhook_delivery(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let d = state
        .db(move |conn| deliveries::retry(conn, &p, &id, &delivery_id))
        .await?;
    state.workers.webhooks.wake();
    Ok(HttpResponse::Accepted().json(d))
}

/// After an outage: re-sends every event of `[since, until)` this endpoint selects and has not
/// received (failed, given up, or missed while disabled), oldest first, each with its own
/// `webhook-id`, in order per aggregate. Replays do not count toward disabling. At most 50,000
/// events per call (422 beyond: split the window).
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), request_body = RecoverRequest,
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 202, description = "Queued", body = RecoverResult)))]
#[post("/api/v1/webhook-endpoints/{id}/recover")]
pub async fn recover_webhook_endpoint(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<RecoverRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let r = state.db(move |conn| deliveries::recover(conn, &p, &id, body)).await?;
    state.workers.webhooks.wake();
    Ok(HttpResponse::Accepted().json(r))
}
