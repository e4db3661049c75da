//! Tickets' wire types (serde + utoipa): what staff, integrations and guests send and receive.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::db::TicketRow;
use super::rules::reopen_deadline;
use crate::features::tickets::config::Severity;
use crate::platform::ids::now;
use crate::platform::page::{Page, PageItem};

string_enum!(TicketKind { Complaint => "complaint", ServiceRequest => "service_request", Inquiry => "inquiry", Feedback => "feedback", Compliment => "compliment" });
string_enum!(
    /// Where the ticket came from.
    TicketChannel { OnSite => "on_site", Phone => "phone", Email => "email", App => "app", Web => "web", OtaReview => "ota_review", SocialMedia => "social_media", GovernmentHotline => "government_hotline", Survey => "survey" }
);
string_enum!(TicketState { New => "new", Acknowledged => "acknowledged", Investigating => "investigating", AwaitingCustomer => "awaiting_customer", Resolved => "resolved", Closed => "closed", Reopened => "reopened" });
string_enum!(
    /// What a timeline entry records.
    #[schema(as = TimelineEntryKind)]
    EntryKind { Created => "created", Comment => "comment", StateChange => "state_change", Handover => "handover", Sla => "sla", Escalation => "escalation", Compensation => "compensation", Updated => "updated" }
);
string_enum!(Visibility { Internal => "internal", CustomerVisible => "customer_visible" });
string_enum!(SlaEvent { Applied => "applied", Paused => "paused", Resumed => "resumed", Breached => "breached", Met => "met" });

/// The SLA clocks of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSla {
    pub first_response_due_at: DateTime<Utc>,
    pub first_responded_at: Option<DateTime<Utc>>,
    pub first_response_breached_at: Option<DateTime<Utc>>,
    /// Null while the clock is paused (`awaiting_customer`).
    pub resolution_due_at: Option<DateTime<Utc>>,
    pub resolution_paused: bool,
    /// Working seconds left on the resolution clock while paused.
    pub resolution_remaining_seconds: Option<i64>,
    pub resolution_breached_at: Option<DateTime<Utc>>,
    /// Either clock breached.
    pub breached: bool,
}

/// A ticket as staff and integrations see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ticket {
    pub id: String,
    pub property_id: String,
    pub customer_id: Option<String>,
    pub stay_id: Option<String>,
    pub kind: TicketKind,
    pub category: String,
    pub severity: Severity,
    pub channel: TicketChannel,
    pub subject: String,
    pub description: String,
    pub state: TicketState,
    /// The states it may move to next.
    pub allowed_transitions: Vec<TicketState>,
    /// The staff member who owns it (first contact until an explicit handover).
    pub owner_id: Option<String>,
    /// 0 owner, 1 department manager, 2 resident manager, 3 general manager.
    pub escalation_level: i32,
    /// When the first customer-visible response is due (also `sla.first_response_due_at`).
    pub first_response_due_at: DateTime<Utc>,
    /// When the resolution is due; null while the clock is paused (`awaiting_customer`).
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// The first customer-visible response (comment or resolution summary).
    pub first_responded_at: Option<DateTime<Utc>>,
    /// Both SLA clocks in full: breaches, pause state, remaining time.
    pub sla: TicketSla,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub resolution_summary: Option<String>,
    pub reopen_count: i32,
    /// The guest's last reply in the app; one after `resolved_at` holds off the auto-close
    /// until staff close or reopen the ticket.
    pub customer_replied_at: Option<DateTime<Utc>>,
    /// What opened it, e.g. `ota_review` + the review id, or `survey_response`.
    pub source_kind: Option<String>,
    pub source_id: Option<String>,
    pub created_by: String,
    /// Also the ETag.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub type TicketPage = Page<Ticket>;

impl PageItem for Ticket {
    const PAGE: &'static str = "TicketPage";
}

/// A ticket as its guest sees it in the app: no internal fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyTicket {
    pub id: String,
    pub property_id: String,
    pub stay_id: Option<String>,
    pub kind: TicketKind,
    pub category: String,
    pub subject: String,
    pub description: String,
    pub state: TicketState,
    pub first_responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub resolution_summary: Option<String>,
    /// The guest may confirm the resolution (closes the ticket).
    pub can_confirm: bool,
    /// The guest may reopen it (resolved or closed, within the reopen window).
    pub can_reopen: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub type MyTicketPage = Page<MyTicket>;

impl PageItem for MyTicket {
    const PAGE: &'static str = "MyTicketPage";
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketCreate {
    pub property_id: String,
    /// Optional: anonymous reports have no guest.
    pub customer_id: Option<String>,
    /// A stay of the guest at this property (sets the guest when `customer_id` is absent).
    pub stay_id: Option<String>,
    pub kind: TicketKind,
    /// A code from `GET /api/v1/ticket-categories`.
    #[schema(example = "cleanliness")]
    pub category: String,
    pub severity: Severity,
    pub channel: TicketChannel,
    #[schema(example = "Bathroom not cleaned", min_length = 1, max_length = 200)]
    pub subject: String,
    #[schema(
        example = "Guest in 1208 found the bathroom uncleaned at 16:00.",
        min_length = 1,
        max_length = 10000
    )]
    pub description: String,
    /// An active agent, manager or admin of the property. Staff: defaults to the caller
    /// (first-contact ownership). Integrations: unowned unless they name one.
    pub owner_id: Option<String>,
    /// What opened it, e.g. `ota_review` with the review's id.
    #[schema(max_length = 40)]
    pub source_kind: Option<String>,
    #[schema(max_length = 200)]
    pub source_id: Option<String>,
}

/// What a guest sends to open a ticket from the app.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyTicketCreate {
    pub property_id: String,
    /// One of the guest's own stays at this property.
    pub stay_id: Option<String>,
    /// `complaint` (default), `service_request`, `inquiry`, `feedback` or `compliment`.
    pub kind: Option<TicketKind>,
    #[schema(example = "noise")]
    pub category: String,
    #[schema(example = "Noise from the corridor", min_length = 1, max_length = 200)]
    pub subject: String,
    #[schema(min_length = 1, max_length = 10000)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    pub category: Option<String>,
    /// Re-applies the SLA from the ticket's opening time; `critical` escalates to level 3.
    pub severity: Option<Severity>,
    #[schema(min_length = 1, max_length = 200)]
    pub subject: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    pub to: TicketState,
    /// Required for `resolved`; shown to the guest.
    #[schema(max_length = 5000)]
    pub resolution_summary: Option<String>,
    /// An internal note on the change.
    #[schema(max_length = 5000)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentCreate {
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
    /// `internal` (default) or `customer_visible`; the first customer-visible comment is the
    /// first response.
    pub visibility: Option<Visibility>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyComment {
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    /// An active agent, manager or admin with access to the ticket's property.
    pub to_staff_id: String,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketFilter {
    pub state: Option<TicketState>,
    pub severity: Option<Severity>,
    pub category: Option<String>,
    pub kind: Option<TicketKind>,
    pub channel: Option<TicketChannel>,
    pub property_id: Option<String>,
    pub owner_id: Option<String>,
    pub customer_id: Option<String>,
    /// true: tickets with a breached clock; false: tickets without.
    pub breached: Option<bool>,
    /// Open tickets whose next SLA deadline (first response not yet given, else resolution)
    /// falls before this instant.
    pub due_before: Option<DateTime<Utc>>,
}

/// One entry of a ticket's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub id: String,
    pub kind: EntryKind,
    pub visibility: Visibility,
    /// Comment text.
    pub body: Option<String>,
    /// Details by kind: `{from, to}` for state changes, `{event, clock, due_at}` for SLA events,
    /// `{from_level, to_level, reason, notified}` for escalations, `{from, to}` for handovers.
    #[schema(value_type = Object)]
    pub data: Value,
    /// `staff`, `customer`, `api_key` or `system`.
    pub actor_kind: String,
    /// Staff views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub type TimelinePage = Page<TimelineEntry>;

impl PageItem for TimelineEntry {
    const PAGE: &'static str = "TimelinePage";
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineFilter {
    /// Only entries of this kind (e.g. `sla` for the SLA events).
    pub kind: Option<EntryKind>,
}

pub(super) fn utc(n: NaiveDateTime) -> DateTime<Utc> {
    n.and_utc()
}

pub(super) fn render(r: TicketRow) -> Ticket {
    let state = r.state();
    Ticket {
        allowed_transitions: state.allowed_next().to_vec(),
        kind: TicketKind::parse(&r.kind).unwrap_or(TicketKind::Complaint),
        severity: r.severity(),
        channel: r.channel(),
        state,
        first_response_due_at: utc(r.first_response_due_at),
        resolution_due_at: r.resolution_due_at.map(utc),
        first_responded_at: r.first_responded_at.map(utc),
        sla: TicketSla {
            first_response_due_at: utc(r.first_response_due_at),
            first_responded_at: r.first_responded_at.map(utc),
            first_response_breached_at: r.first_response_breached_at.map(utc),
            resolution_due_at: r.resolution_due_at.map(utc),
            resolution_paused: r.resolution_paused_at.is_some(),
            resolution_remaining_seconds: r.resolution_remaining_secs,
            resolution_breached_at: r.resolution_breached_at.map(utc),
            breached: r.first_response_breached_at.is_some() || r.resolution_breached_at.is_some(),
        },
        created_by: match &r.created_by_id {
            Some(id) => format!("{}:{id}", r.created_by_kind),
            None => r.created_by_kind.clone(),
        },
        id: r.id,
        property_id: r.property_id,
        customer_id: r.customer_id,
        stay_id: r.stay_id,
        category: r.category,
        subject: r.subject,
        description: r.description,
        owner_id: r.owner_id,
        escalation_level: r.escalation_level,
        resolved_at: r.resolved_at.map(utc),
        closed_at: r.closed_at.map(utc),
        resolution_summary: r.resolution_summary,
        reopen_count: r.reopen_count,
        customer_replied_at: r.customer_replied_at.map(utc),
        source_kind: r.source_kind,
        source_id: r.source_id,
        version: r.version,
        created_at: utc(r.created_at),
        updated_at: utc(r.updated_at),
    }
}

pub(super) fn render_mine(r: TicketRow, reopen_window_days: i64) -> MyTicket {
    let state = r.state();
    MyTicket {
        can_confirm: state == TicketState::Resolved,
        can_reopen: reopen_deadline(&r, reopen_window_days).is_some_and(|d| now() <= d),
        kind: TicketKind::parse(&r.kind).unwrap_or(TicketKind::Complaint),
        state,
        id: r.id,
        property_id: r.property_id,
        stay_id: r.stay_id,
        category: r.category,
        subject: r.subject,
        description: r.description,
        first_responded_at: r.first_responded_at.map(utc),
        resolved_at: r.resolved_at.map(utc),
        closed_at: r.closed_at.map(utc),
        resolution_summary: r.resolution_summary,
        created_at: utc(r.created_at),
        updated_at: utc(r.updated_at),
    }
}
