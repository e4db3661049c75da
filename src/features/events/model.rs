//! Wire types of the event feed and of webhook endpoints and deliveries (SPEC §8).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::platform::page::PageItem;

/// What an event is about.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = EventAggregate)]
pub struct Aggregate {
    /// `customer`, `stay`, `ticket`, `loyalty_account`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// A change, as the feed serves it and webhooks deliver it. `data` carries ids, states, changed
/// field names and points deltas — never personal data: fetch the resource with your own
/// credentials for its contents.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    /// Stable: it is also the `webhook-id` of every delivery of this event.
    pub id: String,
    /// `<aggregate>.<what happened>`, e.g. `ticket.state_changed`.
    #[serde(rename = "type")]
    #[schema(example = "ticket.state_changed")]
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub aggregate: Aggregate,
    /// Counts the aggregate's events from 1 without gaps: a consumer can tell when it missed one.
    pub sequence: i64,
    /// The property it belongs to; `null` for group-wide records (guests, the programme, …).
    pub property_id: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}

/// One page of the feed. Unlike other lists, `next_cursor` is always set: it is where to
/// continue, also once you have caught up (poll with it later). A page may hold fewer than
/// `limit` events — even none — while `has_more` is true (a type filter skipping many events):
/// keep following the cursor.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventFeedPage {
    pub data: Vec<Event>,
    pub next_cursor: String,
    /// Whether more events are ready now (`false`: caught up).
    pub has_more: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFeedParams {
    /// The `next_cursor` of the previous page; omitted: from the oldest event kept.
    pub after: Option<String>,
    /// Comma-separated types; `*` matches any run of characters (`ticket.*,loyalty.*`).
    #[param(example = "ticket.*,loyalty.entry_posted")]
    pub types: Option<String>,
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// How long the feed keeps events and the delivery log keeps deliveries.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// Days, 7–3650 (default 90).
    #[schema(minimum = 7, maximum = 3650, example = 90)]
    pub retention_days: i64,
}

/// A receiver of webhook deliveries. The secret is never shown again after creation or rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Type patterns delivered (`*` wildcards); empty = every type.
    pub types: Vec<String>,
    /// Only events of these properties; empty = all (and group-wide events).
    pub property_ids: Vec<String>,
    pub enabled: bool,
    /// Why it was disabled: `gone` (the receiver answered 410), `failing` (5 days of failures)
    /// or `manual`; `null` while enabled.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Failing without a success since then; `null` when the last delivery succeeded.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until then the previous secret signs too (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new endpoint, or a rotation: the only answers that show the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: verify `webhook-signature` with it (any Standard Webhooks library). Store it
    /// now; it is never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointCreate {
    /// `https://…` (plain `http://` only to the loopback address, for development).
    #[schema(example = "https://pms.example.com/hooks/concierge", max_length = 2000)]
    pub url: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// Type patterns (`ticket.*`); empty or omitted = every type. At most 20.
    #[serde(default)]
    pub types: Vec<String>,
    /// Only events of these properties; empty = all. A property-restricted caller must name
    /// some of its own.
    #[serde(default)]
    pub property_ids: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Changes to an endpoint; omitted fields stay. Enabling a disabled endpoint resumes delivery
/// with new events (`recover` sends what it missed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointUpdate {
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    pub types: Option<Vec<String>>,
    pub property_ids: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// One event's delivery to one endpoint: its state and last attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    pub id: String,
    /// The event, and the `webhook-id` the receiver sees (the same on every attempt).
    pub event_id: String,
    pub event_type: String,
    pub aggregate: Aggregate,
    pub sequence: i64,
    /// `pending` (waiting for its turn or next attempt), `sending`, `succeeded`, `failed` (given
    /// up after 10 attempts, or its event is no longer kept).
    #[schema(example = "succeeded")]
    pub state: String,
    pub attempts: i32,
    /// Re-armed by `retry` or `recover` (its failures do not count toward disabling).
    pub replay: bool,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// HTTP status of the last attempt (`null`: no answer, see `last_error`).
    pub last_status: Option<i32>,
    pub last_latency_ms: Option<i32>,
    /// The first 2 KiB of the last answer's body.
    pub last_response: Option<String>,
    /// Why the last attempt failed without an answer (timeout, refused connection, …).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl PageItem for WebhookDelivery {
    const PAGE: &'static str = "WebhookDeliveryPage";
}

pub type WebhookDeliveryPage = crate::platform::page::Page<WebhookDelivery>;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// Only deliveries in this state.
    pub state: Option<String>,
}

/// A window of events to send again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    pub since: DateTime<Utc>,
    /// Default now.
    pub until: Option<DateTime<Utc>>,
}

/// What `recover` queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoverResult {
    /// Events of the window this endpoint had not received, now queued oldest first.
    pub queued: i64,
    /// Events of the window it had already received (left alone).
    pub already_delivered: i64,
}

/// The answer of a `ping` sent to the endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct PingResult {
    /// Whether the receiver answered 2xx.
    pub ok: bool,
    pub status: Option<i32>,
    pub latency_ms: i32,
    /// The first 2 KiB of the answer.
    pub response: Option<String>,
    pub error: Option<String>,
}
