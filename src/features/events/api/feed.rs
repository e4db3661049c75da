use actix_web::{get, put, web, HttpResponse};

use crate::auth::Principal;
use crate::features::events::feed;
use crate::features::events::model::{EventFeedPage, EventFeedParams, EventSettings};
use crate::platform::error::ApiError;
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// The event feed: every committed change, oldest first, gap-free. Follow `next_cursor` (always
/// set) with `after=`; a page short of `limit` with `has_more: false` means you have caught up —
/// poll again later with the same cursor. An event committed by a slower transaction is never
/// skipped: events are served only once every transaction that could still precede them has
/// ended, so a cursor never passes a place an event can still appear. Events are kept for the
/// retention (`/event-settings`, default 90 days). Payloads hold ids, states, changed field
/// names and deltas, never personal data; a property-restricted caller sees its properties'
/// events only.
#[utoipa::path(tag = "events", security(("bearer" = []), ("api_key" = [])), params(EventFeedParams),
    responses((status = 200, description = "A page of the feed", body = EventFeedPage)))]
#[get("/api/v1/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<EventFeedParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| feed::list(conn, &p, &q)).await?))
}

/// How long events and the webhook delivery log are kept.
#[utoipa::path(tag = "events", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "The retention", body = EventSettings)))]
#[get("/api/v1/event-settings")]
pub async fn get_event_settings(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.db(move |conn| feed::settings(conn, &p)).await?))
}

/// Sets the retention (7–3650 days); the nightly job prunes what is older. Audited.
#[utoipa::path(tag = "events", security(("bearer" = [])), request_body = EventSettings,
    responses((status = 200, description = "Updated", body = EventSettings)))]
#[put("/api/v1/event-settings")]
pub async fn update_event_settings(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<EventSettings>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| feed::update_settings(conn, &p, body)).await?))
}
