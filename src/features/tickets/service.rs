//! Tickets (SPEC §4): complaints and service requests from first contact to a confirmed close.
//! Every change appends to the ticket's timeline; SLA due times are stored on the ticket and
//! moved only by the rules in `sla` (apply, pause, resume); the sweep (`sweep`) marks breaches,
//! escalates one level per breach and closes resolved tickets nobody answered — each step a
//! conditional update, so several instances may sweep at once and each event is recorded once.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::auth::scope::works_at;
use crate::auth::{Actor, Perm, Principal, Role};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{customers, escalation_contacts as ec, staff_users, stays, ticket_entries as te, tickets as t};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::features::tickets::config::{self as ticket_config, Severity};
use crate::features::tickets::sla::{self, Clock, ResponseRule};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};
use crate::platform::page::{self as pagination, Order, Page, PageItem, PageParams};

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

impl TicketState {
    /// The state machine (SPEC §4), in one place.
    pub fn allowed_next(self) -> &'static [TicketState] {
        use TicketState::*;
        match self {
            New => &[Acknowledged, Investigating, AwaitingCustomer, Resolved],
            Acknowledged | Reopened => &[Investigating, AwaitingCustomer, Resolved],
            Investigating => &[AwaitingCustomer, Resolved],
            AwaitingCustomer => &[Investigating, Resolved],
            Resolved => &[Closed, Reopened],
            Closed => &[Reopened],
        }
    }
    pub fn is_open(self) -> bool {
        !matches!(self, TicketState::Resolved | TicketState::Closed)
    }
}

#[derive(Queryable, Insertable, AsChangeset, Clone, Debug)]
#[diesel(table_name = t)]
#[diesel(treat_none_as_null = true)]
pub struct TicketRow {
    pub id: String,
    pub property_id: String,
    pub customer_id: Option<String>,
    pub stay_id: Option<String>,
    pub kind: String,
    pub category: String,
    pub severity: String,
    pub channel: String,
    pub subject: String,
    pub description: String,
    pub state: String,
    pub owner_id: Option<String>,
    pub created_by_kind: String,
    pub created_by_id: Option<String>,
    pub escalation_level: i32,
    pub first_response_due_at: NaiveDateTime,
    pub resolution_due_at: Option<NaiveDateTime>,
    pub resolution_paused_at: Option<NaiveDateTime>,
    pub resolution_remaining_secs: Option<i64>,
    pub first_responded_at: Option<NaiveDateTime>,
    pub first_response_breached_at: Option<NaiveDateTime>,
    pub resolution_breached_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub resolution_summary: Option<String>,
    pub reopen_count: i32,
    pub customer_replied_at: Option<NaiveDateTime>,
    pub source_kind: Option<String>,
    pub source_id: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TicketRow {
    fn state(&self) -> TicketState {
        TicketState::parse(&self.state).unwrap_or(TicketState::New)
    }
    fn severity(&self) -> Severity {
        Severity::parse(&self.severity).unwrap_or(Severity::Medium)
    }
    fn channel(&self) -> TicketChannel {
        TicketChannel::parse(&self.channel).unwrap_or(TicketChannel::Web)
    }
}

fn utc(n: NaiveDateTime) -> DateTime<Utc> {
    n.and_utc()
}

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

fn render(r: TicketRow) -> Ticket {
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

fn render_mine(r: TicketRow, reopen_window_days: i64) -> MyTicket {
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

/// Until when a resolved or closed ticket may be reopened.
fn reopen_deadline(r: &TicketRow, window_days: i64) -> Option<NaiveDateTime> {
    match r.state() {
        TicketState::Resolved | TicketState::Closed => {
            r.closed_at.or(r.resolved_at).map(|at| at + Duration::days(window_days))
        }
        _ => None,
    }
}

pub type TicketPage = Page<Ticket>;

impl PageItem for Ticket {
    const PAGE: &'static str = "TicketPage";
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

// ---- internals ------------------------------------------------------------------------------

fn load_row(conn: &mut DbConnection, id: &str) -> Result<TicketRow, ApiError> {
    t::table
        .find(id)
        .select(t::all_columns)
        .first::<TicketRow>(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("ticket"))
}

/// The ticket if the caller's properties include it (404 otherwise, like a missing one).
fn load_for_staff(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<TicketRow, ApiError> {
    let r = load_row(conn, id)?;
    if !who.can_access_property(&r.property_id) {
        return Err(ApiError::not_found("ticket"));
    }
    Ok(r)
}

/// Takes the ticket's row lock for the rest of the transaction (PostgreSQL; SQLite's write
/// transaction already holds the database), so concurrent changes of one ticket — a comment,
/// a sweep, a guest's reopen — run one after the other, each on the state the other left.
fn lock_row(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    crate::db::lock_row!(conn, t::table, t::version, id)?;
    Ok(())
}

/// The ticket's row lock for the rest of the caller's transaction (compensation totals).
pub(crate) fn lock_in_tx(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    lock_row(conn, id)
}

fn lock_for_staff(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<TicketRow, ApiError> {
    load_for_staff(conn, who, id)?;
    lock_row(conn, id)?;
    load_row(conn, id)
}

fn lock_for_guest(conn: &mut DbConnection, customer_id: &str, id: &str) -> Result<TicketRow, ApiError> {
    load_for_guest(conn, customer_id, id)?;
    lock_row(conn, id)?;
    load_row(conn, id)
}

/// The guest's own ticket (404 for anyone else's).
fn load_for_guest(conn: &mut DbConnection, customer_id: &str, id: &str) -> Result<TicketRow, ApiError> {
    let r = load_row(conn, id)?;
    if r.customer_id.as_deref() != Some(customer_id) {
        return Err(ApiError::not_found("ticket"));
    }
    Ok(r)
}

fn save(conn: &mut DbConnection, r: &mut TicketRow, at: NaiveDateTime) -> Result<(), ApiError> {
    r.version += 1;
    r.updated_at = at;
    diesel::update(t::table.find(&r.id)).set(&*r).execute(conn)?;
    Ok(())
}

struct EntryDraft<'a> {
    kind: EntryKind,
    visibility: Visibility,
    body: Option<&'a str>,
    data: Value,
}

fn add_entry(
    conn: &mut DbConnection,
    ticket_id: &str,
    actor_kind: &str,
    actor_id: Option<&str>,
    e: EntryDraft,
    at: NaiveDateTime,
) -> Result<String, ApiError> {
    let id = new_id();
    diesel::insert_into(te::table)
        .values((
            te::id.eq(&id),
            te::ticket_id.eq(ticket_id),
            te::kind.eq(e.kind.as_str()),
            te::visibility.eq(e.visibility.as_str()),
            te::body.eq(e.body),
            te::data.eq(e.data.to_string()),
            te::actor_kind.eq(actor_kind),
            te::actor_id.eq(actor_id),
            te::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(id)
}

fn entry_by(
    conn: &mut DbConnection,
    who: &Principal,
    ticket_id: &str,
    e: EntryDraft,
    at: NaiveDateTime,
) -> Result<String, ApiError> {
    add_entry(conn, ticket_id, who.actor_kind(), Some(who.actor_id()), e, at)
}

fn sla_entry(
    conn: &mut DbConnection,
    ticket_id: &str,
    event: SlaEvent,
    data: Value,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    let mut data = data;
    data["event"] = json!(event.as_str());
    add_entry(
        conn,
        ticket_id,
        "system",
        None,
        EntryDraft {
            kind: EntryKind::Sla,
            visibility: Visibility::Internal,
            body: None,
            data,
        },
        at,
    )
    .map(|_| ())
}

fn response_rule(channel: TicketChannel) -> ResponseRule {
    match channel {
        TicketChannel::OnSite => ResponseRule::OnSite,
        TicketChannel::OtaReview | TicketChannel::Survey => ResponseRule::Within24h,
        _ => ResponseRule::Policy,
    }
}

/// Sets both due times from `from` (the opening time) under the policy in force, recording an
/// `applied` event.
fn apply_sla(
    conn: &mut DbConnection,
    r: &mut TicketRow,
    from: NaiveDateTime,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    let policy = ticket_config::policy_for(conn, Some(&r.property_id), r.severity())?;
    let clock = ticket_config::clock_for(conn, &r.property_id)?;
    let rule = response_rule(r.channel());
    let due = sla::due_times(
        &clock,
        utc(from),
        policy.first_response_minutes as i64,
        policy.resolution_minutes as i64,
        rule,
    );
    r.first_response_due_at = due.first_response.naive_utc();
    r.resolution_due_at = Some(due.resolution.naive_utc());
    r.resolution_paused_at = None;
    r.resolution_remaining_secs = None;
    sla_entry(
        conn,
        &r.id,
        SlaEvent::Applied,
        json!({
            "severity": r.severity,
            "first_response_due_at": due.first_response,
            "resolution_due_at": due.resolution,
            "first_response_minutes": policy.first_response_minutes,
            "resolution_minutes": policy.resolution_minutes,
            "policy": if policy.property_id.is_some() { "property" } else { "group" },
            "rule": match rule { ResponseRule::Policy => "policy", ResponseRule::OnSite => "on_site_15_minutes", ResponseRule::Within24h => "within_24_hours" },
            "business_hours": matches!(clock, Clock::Business(_)),
        }),
        at,
    )
}

#[derive(Debug, Serialize, Clone)]
struct Notified {
    staff_id: String,
    display_name: String,
    role: String,
}

/// Who hears of an escalation to `level` at a property: its configured contacts, else the
/// property's managers (levels 1–2) or the group's admins (level 3).
fn notified_for(conn: &mut DbConnection, property_id: &str, level: i32) -> Result<Vec<Notified>, ApiError> {
    let contacts: Vec<String> = ec::table
        .filter(ec::property_id.eq(property_id))
        .filter(ec::level.eq(level))
        .select(ec::staff_id)
        .load(conn)?;
    let mut q = staff_users::table
        .filter(staff_users::active.eq(true))
        .select((
            staff_users::id,
            staff_users::display_name,
            staff_users::role,
            staff_users::property_ids,
        ))
        .order(staff_users::id)
        .into_boxed();
    let fallback = contacts.is_empty();
    if fallback {
        q = q.filter(staff_users::role.eq(Role::escalation_fallback(level).as_str()));
    } else {
        q = q.filter(staff_users::id.eq_any(contacts));
    }
    let staff: Vec<(String, String, String, String)> = q.load(conn)?;
    Ok(staff
        .into_iter()
        .filter(|s| !fallback || works_at(&s.3, property_id))
        .map(|s| Notified {
            staff_id: s.0,
            display_name: s.1,
            role: s.2,
        })
        .collect())
}

/// Raises the ticket to `level`, recording who was notified.
fn escalate_to(
    conn: &mut DbConnection,
    r: &mut TicketRow,
    level: i32,
    reason: &str,
    actor: (&str, Option<&str>),
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    if level <= r.escalation_level {
        return Ok(());
    }
    let notified = notified_for(conn, &r.property_id, level)?;
    let from = r.escalation_level;
    r.escalation_level = level;
    add_entry(
        conn,
        &r.id,
        actor.0,
        actor.1,
        EntryDraft {
            kind: EntryKind::Escalation,
            visibility: Visibility::Internal,
            body: None,
            data: json!({"from_level": from, "to_level": level, "reason": reason, "notified": notified}),
        },
        at,
    )
    .map(|_| ())
}

fn check_text(c: &mut Checks, subject: &str, description: &str) -> (String, String) {
    (
        c.text("subject", subject, 1, 200),
        c.text("description", description, 1, 10_000),
    )
}

/// The stay, if given, must be at the property and (when a guest is named) the guest's.
fn check_links(
    conn: &mut DbConnection,
    property_id: &str,
    customer_id: Option<&str>,
    stay_id: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if let Some(cid) = customer_id {
        let n: i64 = customers::table.find(cid).count().get_result(conn)?;
        if n == 0 {
            return Err(ApiError::field("customer_id", "unknown guest"));
        }
    }
    let Some(sid) = stay_id else {
        return Ok(customer_id.map(str::to_string));
    };
    let stay: Option<(String, String)> = stays::table
        .find(sid)
        .select((stays::property_id, stays::customer_id))
        .first(conn)
        .optional()?;
    let Some((stay_property, stay_customer)) = stay else {
        return Err(ApiError::field("stay_id", "unknown stay"));
    };
    if stay_property != property_id {
        return Err(ApiError::field("stay_id", "the stay is at another property"));
    }
    match customer_id {
        Some(cid) if cid != stay_customer => Err(ApiError::field("stay_id", "the stay is another guest's")),
        _ => Ok(Some(stay_customer)),
    }
}

fn ensure_property(conn: &mut DbConnection, who: &Principal, property_id: &str) -> Result<(), ApiError> {
    if !who.can_access_property(property_id) {
        return Err(ApiError::field("property_id", "unknown property"));
    }
    crate::features::properties::ensure_exist(conn, &[property_id.to_string()], "property_id")
}

/// Fails unless `staff_id` is an active agent/manager/admin who may see the property.
fn check_assignee(conn: &mut DbConnection, staff_id: &str, property_id: &str, field: &str) -> Result<(), ApiError> {
    let s: Option<(String, String, bool)> = staff_users::table
        .find(staff_id)
        .select((staff_users::role, staff_users::property_ids, staff_users::active))
        .first(conn)
        .optional()?;
    let Some((role, ids, active)) = s else {
        return Err(ApiError::field(field, "unknown staff member"));
    };
    if !active {
        return Err(ApiError::field(field, "this staff member is deactivated"));
    }
    if !role.parse::<Role>().is_ok_and(Role::may_own_tickets) {
        return Err(ApiError::field(field, "analysts cannot own tickets"));
    }
    if !works_at(&ids, property_id) {
        return Err(ApiError::field(
            field,
            "this staff member does not work at the ticket's property",
        ));
    }
    Ok(())
}

struct NewTicket {
    property_id: String,
    customer_id: Option<String>,
    stay_id: Option<String>,
    kind: TicketKind,
    category: String,
    severity: Severity,
    channel: TicketChannel,
    subject: String,
    description: String,
    owner_id: Option<String>,
    source_kind: Option<String>,
    source_id: Option<String>,
}

/// Opens a ticket in the caller's transaction: SLA applied, `critical` at level 3.
fn open(conn: &mut DbConnection, who: &Principal, n: NewTicket, at: NaiveDateTime) -> Result<TicketRow, ApiError> {
    ticket_config::ensure_active_category(conn, &n.category)?;
    let (created_by_kind, created_by_id) = (who.actor_kind().to_string(), Some(who.actor_id().to_string()));
    let mut r = TicketRow {
        id: new_id(),
        property_id: n.property_id,
        customer_id: n.customer_id,
        stay_id: n.stay_id,
        kind: n.kind.as_str().into(),
        category: n.category,
        severity: n.severity.as_str().into(),
        channel: n.channel.as_str().into(),
        subject: n.subject,
        description: n.description,
        state: TicketState::New.as_str().into(),
        owner_id: n.owner_id,
        created_by_kind,
        created_by_id,
        escalation_level: 0,
        first_response_due_at: at,
        resolution_due_at: None,
        resolution_paused_at: None,
        resolution_remaining_secs: None,
        first_responded_at: None,
        first_response_breached_at: None,
        resolution_breached_at: None,
        resolved_at: None,
        closed_at: None,
        resolution_summary: None,
        reopen_count: 0,
        customer_replied_at: None,
        source_kind: n.source_kind,
        source_id: n.source_id,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    diesel::insert_into(t::table).values(&r).execute(conn)?;
    entry_by(
        conn,
        who,
        &r.id,
        EntryDraft {
            kind: EntryKind::Created,
            visibility: Visibility::CustomerVisible,
            body: None,
            data: json!({"kind": r.kind, "category": r.category, "channel": r.channel}),
        },
        at,
    )?;
    apply_sla(conn, &mut r, at, at)?;
    if n.severity == Severity::Critical {
        escalate_to(
            conn,
            &mut r,
            3,
            "critical ticket: starts at the general manager",
            ("system", None),
            at,
        )?;
    }
    diesel::update(t::table.find(&r.id)).set(&r).execute(conn)?;
    audit::record(
        conn,
        who,
        "ticket.created",
        "ticket",
        Some(&r.id),
        json!({"property_id": r.property_id, "severity": r.severity, "channel": r.channel}),
    )?;
    Ok(r)
}

/// Service recovery (SPEC §5): a low survey score opens a `feedback` ticket linked to the
/// response and its stay, on the survey channel (24 h first response), unowned.
pub fn open_for_survey(
    conn: &mut DbConnection,
    _who: &Principal,
    property_id: &str,
    customer_id: &str,
    stay_id: Option<String>,
    response_id: &str,
    subject: &str,
) -> Result<String, ApiError> {
    let system = Principal::system("survey");
    let r = open(
        conn,
        &system,
        NewTicket {
            property_id: property_id.to_string(),
            customer_id: Some(customer_id.to_string()),
            stay_id,
            kind: TicketKind::Feedback,
            category: "other".into(),
            // Low: its policy's first response is the 24 h of SPEC §5 (staff may re-triage).
            severity: Severity::Low,
            channel: TicketChannel::Survey,
            subject: subject.to_string(),
            description: format!("Opened by survey response {response_id}."),
            owner_id: None,
            source_kind: Some("survey_response".into()),
            source_id: Some(response_id.to_string()),
        },
        now(),
    )?;
    Ok(r.id)
}

// ---- staff and integrations ---------------------------------------------------------------

pub fn create(conn: &mut DbConnection, who: &Principal, input: TicketCreate) -> Result<Ticket, ApiError> {
    who.require(Perm::TicketsWrite)?;
    let mut c = Checks::new();
    let (subject, description) = check_text(&mut c, &input.subject, &input.description);
    let source_kind = c.opt_text("source_kind", input.source_kind.as_deref(), 40);
    let source_id = c.opt_text("source_id", input.source_id.as_deref(), 200);
    c.finish()?;
    write_tx(conn, |conn| {
        ensure_property(conn, who, &input.property_id)?;
        let customer_id = check_links(
            conn,
            &input.property_id,
            input.customer_id.as_deref(),
            input.stay_id.as_deref(),
        )?;
        let owner_id = match (&input.owner_id, &who.actor) {
            (Some(o), _) => Some(o.clone()),
            (None, Actor::Staff(s)) => Some(s.id.clone()),
            (None, _) => None,
        };
        if let Some(o) = &owner_id {
            check_assignee(conn, o, &input.property_id, "owner_id")?;
        }
        let r = open(
            conn,
            who,
            NewTicket {
                property_id: input.property_id.clone(),
                customer_id,
                stay_id: input.stay_id.clone(),
                kind: input.kind,
                category: input.category.trim().to_string(),
                severity: input.severity,
                channel: input.channel,
                subject,
                description,
                owner_id,
                source_kind,
                source_id,
            },
            now(),
        )?;
        Ok(render(r))
    })
}

pub fn get(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Ticket, ApiError> {
    who.require(Perm::TicketsRead)?;
    read_tx(conn, |conn| Ok(render(load_for_staff(conn, who, id)?)))
}

/// Newest first, filtered; tickets outside the caller's properties never appear.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    f: &TicketFilter,
    page: &PageParams,
) -> Result<TicketPage, ApiError> {
    who.require(Perm::TicketsRead)?;
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let mut q = t::table
            .select(t::all_columns)
            .order(t::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(scope) = who.property_scope() {
            q = q.filter(t::property_id.eq_any(scope.to_vec()));
        }
        if let Some(p) = &f.property_id {
            q = q.filter(t::property_id.eq(p.clone()));
        }
        if let Some(s) = f.state {
            q = q.filter(t::state.eq(s.as_str()));
        }
        if let Some(s) = f.severity {
            q = q.filter(t::severity.eq(s.as_str()));
        }
        if let Some(c) = &f.category {
            q = q.filter(t::category.eq(c.clone()));
        }
        if let Some(k) = f.kind {
            q = q.filter(t::kind.eq(k.as_str()));
        }
        if let Some(ch) = f.channel {
            q = q.filter(t::channel.eq(ch.as_str()));
        }
        if let Some(o) = &f.owner_id {
            q = q.filter(t::owner_id.eq(o.clone()));
        }
        if let Some(cid) = &f.customer_id {
            q = q.filter(t::customer_id.eq(cid.clone()));
        }
        match f.breached {
            Some(true) => {
                q = q.filter(
                    t::first_response_breached_at
                        .is_not_null()
                        .or(t::resolution_breached_at.is_not_null()),
                )
            }
            Some(false) => {
                q = q.filter(
                    t::first_response_breached_at
                        .is_null()
                        .and(t::resolution_breached_at.is_null()),
                )
            }
            None => {}
        }
        if let Some(d) = f.due_before {
            let d = d.naive_utc();
            q = q.filter(t::state.ne_all(vec!["resolved", "closed"])).filter(
                (t::first_responded_at.is_null().and(t::first_response_due_at.lt(d))).or(t::resolution_due_at.lt(d)),
            );
        }
        if let Some(a) = &cur.after {
            q = q.filter(t::id.lt(a.clone()));
        }
        let rows: Vec<TicketRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        Ok(TicketPage {
            data: rows.into_iter().map(render).collect(),
            next_cursor,
        })
    })
}

fn check_version(r: &TicketRow, version: Option<i64>) -> Result<(), ApiError> {
    match version {
        Some(v) if v != r.version => Err(ApiError::PreconditionFailed(format!(
            "the ticket changed since you read it (version {} now)",
            r.version
        ))),
        _ => Ok(()),
    }
}

pub fn update(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    patch: TicketPatch,
    version: Option<i64>,
) -> Result<Ticket, ApiError> {
    who.require(Perm::TicketsWrite)?;
    let mut c = Checks::new();
    let subject = patch.subject.as_deref().map(|s| c.text("subject", s, 1, 200));
    c.finish()?;
    write_tx(conn, |conn| {
        let mut r = lock_for_staff(conn, who, id)?;
        check_version(&r, version)?;
        let at = now();
        let mut changed = serde_json::Map::new();
        if let Some(cat) = &patch.category {
            let cat = cat.trim().to_string();
            if cat != r.category {
                ticket_config::ensure_active_category(conn, &cat)?;
                changed.insert("category".into(), json!({"from": r.category, "to": cat}));
                r.category = cat;
            }
        }
        if let Some(s) = subject {
            if s != r.subject {
                changed.insert("subject".into(), json!({"from": r.subject, "to": s}));
                r.subject = s;
            }
        }
        if let Some(sev) = patch.severity {
            if sev != r.severity() {
                let old_severity = r.severity();
                changed.insert("severity".into(), json!({"from": r.severity, "to": sev.as_str()}));
                r.severity = sev.as_str().into();
                if r.state().is_open() {
                    retarget(conn, &mut r, old_severity, at)?;
                }
                if sev == Severity::Critical {
                    escalate_to(
                        conn,
                        &mut r,
                        3,
                        "raised to critical",
                        (who.actor_kind(), Some(who.actor_id())),
                        at,
                    )?;
                }
            }
        }
        if changed.is_empty() {
            return Ok(render(r));
        }
        entry_by(
            conn,
            who,
            &r.id,
            EntryDraft {
                kind: EntryKind::Updated,
                visibility: Visibility::Internal,
                body: None,
                data: Value::Object(changed),
            },
            at,
        )?;
        save(conn, &mut r, at)?;
        audit::record(conn, who, "ticket.updated", "ticket", Some(&r.id), json!({}))?;
        Ok(render(r))
    })
}

/// Re-triage: the first response (if not given yet) gets the new severity's target from the
/// opening time; the resolution clock keeps what it has used and gains or loses the difference
/// between the two targets (paused time stays uncounted; a breach already recorded stays).
fn retarget(conn: &mut DbConnection, r: &mut TicketRow, old: Severity, at: NaiveDateTime) -> Result<(), ApiError> {
    let before = ticket_config::policy_for(conn, Some(&r.property_id), old)?;
    let after = ticket_config::policy_for(conn, Some(&r.property_id), r.severity())?;
    let clock = ticket_config::clock_for(conn, &r.property_id)?;
    if r.first_responded_at.is_none() && r.first_response_breached_at.is_none() {
        let due = sla::due_times(
            &clock,
            utc(r.created_at),
            after.first_response_minutes as i64,
            after.resolution_minutes as i64,
            response_rule(r.channel()),
        );
        r.first_response_due_at = due.first_response.naive_utc();
    }
    let delta = (after.resolution_minutes as i64 - before.resolution_minutes as i64) * 60;
    if r.resolution_breached_at.is_none() {
        if let Some(left) = r.resolution_remaining_secs.as_mut() {
            *left += delta;
        } else if let Some(due) = r.resolution_due_at {
            let left = clock.between(utc(at), utc(due)) + delta;
            r.resolution_due_at = Some(sla::resume(&clock, left, utc(at)).naive_utc());
        }
    }
    sla_entry(
        conn,
        &r.id,
        SlaEvent::Applied,
        json!({
            "reason": "severity changed",
            "severity": r.severity,
            "first_response_due_at": r.first_response_due_at.and_utc(),
            "resolution_due_at": r.resolution_due_at.map(utc),
            "resolution_remaining_seconds": r.resolution_remaining_secs,
        }),
        at,
    )
}

/// The one path every state change takes, whoever asks.
fn change_state(
    conn: &mut DbConnection,
    who: &Principal,
    r: &mut TicketRow,
    to: TicketState,
    summary: Option<String>,
    note: Option<String>,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    let from = r.state();
    if !from.allowed_next().contains(&to) {
        let allowed: Vec<String> = from.allowed_next().iter().map(|s| s.as_str().to_string()).collect();
        return Err(ApiError::IllegalTransition {
            detail: format!(
                "a {} ticket cannot become {}; allowed: {}",
                from.as_str(),
                to.as_str(),
                allowed.join(", ")
            ),
            allowed,
        });
    }
    let settings = ticket_config::settings(conn)?;
    let clock = ticket_config::clock_for(conn, &r.property_id)?;
    if to == TicketState::Resolved && summary.is_none() {
        return Err(ApiError::field("resolution_summary", "is required to resolve a ticket"));
    }
    if to == TicketState::Reopened {
        let deadline = reopen_deadline(r, settings.reopen_window_days);
        if deadline.is_none_or(|d| at > d) {
            return Err(ApiError::Conflict {
                detail: format!(
                    "the reopen window of {} days has passed; open a new ticket",
                    settings.reopen_window_days
                ),
                existing_id: None,
            });
        }
    }
    // Resolution clock: pause on waiting for the guest, resume when the wait ends.
    if to == TicketState::AwaitingCustomer {
        if let Some(due) = r.resolution_due_at {
            let left = sla::pause(&clock, utc(due), utc(at));
            if left <= 0 && r.resolution_breached_at.is_none() {
                // Already late: the breach happened before the wait, record it now.
                breach(conn, r, Clock_::Resolution, at)?;
            }
            r.resolution_remaining_secs = Some(left);
            r.resolution_paused_at = Some(at);
            r.resolution_due_at = None;
            sla_entry(
                conn,
                &r.id,
                SlaEvent::Paused,
                json!({"clock": "resolution", "remaining_seconds": left}),
                at,
            )?;
        }
    } else if from == TicketState::AwaitingCustomer {
        if let Some(left) = r.resolution_remaining_secs.take() {
            let due = sla::resume(&clock, left, utc(at));
            r.resolution_due_at = Some(due.naive_utc());
            r.resolution_paused_at = None;
            sla_entry(
                conn,
                &r.id,
                SlaEvent::Resumed,
                json!({"clock": "resolution", "resolution_due_at": due}),
                at,
            )?;
        }
    }
    match to {
        TicketState::Resolved => {
            // The resolution summary is shown to the guest: it is a response too.
            first_response(conn, r, at)?;
            r.resolved_at = Some(at);
            r.resolution_summary = summary.clone();
            let on_time = r.resolution_breached_at.is_none() && r.resolution_due_at.is_none_or(|d| at <= d);
            if on_time {
                sla_entry(conn, &r.id, SlaEvent::Met, json!({"clock": "resolution"}), at)?;
            } else if r.resolution_breached_at.is_none() {
                breach(conn, r, Clock_::Resolution, at)?;
            }
        }
        TicketState::Closed => {
            r.closed_at = Some(at);
        }
        TicketState::Reopened => {
            r.reopen_count += 1;
            r.resolved_at = None;
            r.closed_at = None;
            r.resolution_summary = None;
            // A past breach stays on record (reports count it); the new clock runs for the queue.
            let policy = ticket_config::policy_for(conn, Some(&r.property_id), r.severity())?;
            let due = clock.add(utc(at), policy.resolution_minutes as i64 * 60);
            r.resolution_due_at = Some(due.naive_utc());
            sla_entry(
                conn,
                &r.id,
                SlaEvent::Applied,
                json!({"clock": "resolution", "resolution_due_at": due, "reason": "reopened"}),
                at,
            )?;
        }
        _ => {}
    }
    r.state = to.as_str().into();
    entry_by(
        conn,
        who,
        &r.id,
        EntryDraft {
            kind: EntryKind::StateChange,
            visibility: Visibility::CustomerVisible,
            body: summary.as_deref().filter(|_| to == TicketState::Resolved),
            data: json!({"from": from.as_str(), "to": to.as_str()}),
        },
        at,
    )?;
    if let Some(n) = note {
        entry_by(
            conn,
            who,
            &r.id,
            EntryDraft {
                kind: EntryKind::Comment,
                visibility: Visibility::Internal,
                body: Some(&n),
                data: json!({}),
            },
            at,
        )?;
    }
    save(conn, r, at)?;
    audit::record(
        conn,
        who,
        "ticket.state_changed",
        "ticket",
        Some(&r.id),
        json!({"from": from.as_str(), "to": to.as_str()}),
    )?;
    // A closed ticket invites its guest to the post-ticket survey (`app::reactions`), except
    // one a survey answer opened (no feedback loops).
    let data = json!({
        "from": from.as_str(), "to": to.as_str(), "customer_id": r.customer_id, "source_kind": r.source_kind,
    });
    let ev = NewEvent::new("ticket.state_changed", "ticket", &r.id).property(r.property_id.as_str());
    outbox::emit_in_tx(conn, who, ev.data(data))?;
    Ok(())
}

pub fn transition(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: TransitionRequest,
    version: Option<i64>,
) -> Result<Ticket, ApiError> {
    who.require(Perm::TicketsWrite)?;
    let mut c = Checks::new();
    let summary = c.opt_text("resolution_summary", input.resolution_summary.as_deref(), 5000);
    let note = c.opt_text("note", input.note.as_deref(), 5000);
    c.finish()?;
    write_tx(conn, |conn| {
        let mut r = lock_for_staff(conn, who, id)?;
        check_version(&r, version)?;
        change_state(conn, who, &mut r, input.to, summary, note, now())?;
        Ok(render(r))
    })
}

/// Records the first response if this is it (on time: `met`; late: `breached`).
fn first_response(conn: &mut DbConnection, r: &mut TicketRow, at: NaiveDateTime) -> Result<(), ApiError> {
    if r.first_responded_at.is_some() {
        return Ok(());
    }
    r.first_responded_at = Some(at);
    if r.first_response_breached_at.is_some() {
        return Ok(());
    }
    if at <= r.first_response_due_at {
        sla_entry(conn, &r.id, SlaEvent::Met, json!({"clock": "first_response"}), at)
    } else {
        breach(conn, r, Clock_::FirstResponse, at)
    }
}

pub fn comment(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: CommentCreate,
) -> Result<TimelineEntry, ApiError> {
    who.require(Perm::TicketsWrite)?;
    let mut c = Checks::new();
    let body = c.text("body", &input.body, 1, 10_000);
    c.finish()?;
    let visibility = input.visibility.unwrap_or(Visibility::Internal);
    write_tx(conn, |conn| {
        let mut r = lock_for_staff(conn, who, id)?;
        let at = now();
        if visibility == Visibility::CustomerVisible {
            first_response(conn, &mut r, at)?;
        }
        let entry_id = entry_by(
            conn,
            who,
            &r.id,
            EntryDraft {
                kind: EntryKind::Comment,
                visibility,
                body: Some(&body),
                data: json!({}),
            },
            at,
        )?;
        save(conn, &mut r, at)?;
        entry(conn, &entry_id, true)
    })
}

pub fn handover(conn: &mut DbConnection, who: &Principal, id: &str, input: Handover) -> Result<Ticket, ApiError> {
    who.require(Perm::TicketsWrite)?;
    let mut c = Checks::new();
    let note = c.opt_text("note", input.note.as_deref(), 2000);
    c.finish()?;
    write_tx(conn, |conn| {
        let mut r = lock_for_staff(conn, who, id)?;
        // The owner hands over; managers and admins may reassign; an unowned ticket may be taken.
        let may = match &r.owner_id {
            None => true,
            Some(o) => who.staff().is_some_and(|s| &s.id == o) || who.may_reassign_tickets(),
        };
        if !may {
            return Err(ApiError::Forbidden(
                "only the ticket's owner, a manager or an admin may hand it over".into(),
            ));
        }
        if r.owner_id.as_deref() == Some(input.to_staff_id.as_str()) {
            return Err(ApiError::field("to_staff_id", "already owns the ticket"));
        }
        check_assignee(conn, &input.to_staff_id, &r.property_id, "to_staff_id")?;
        let at = now();
        entry_by(
            conn,
            who,
            &r.id,
            EntryDraft {
                kind: EntryKind::Handover,
                visibility: Visibility::Internal,
                body: note.as_deref(),
                data: json!({"from": r.owner_id, "to": input.to_staff_id}),
            },
            at,
        )?;
        r.owner_id = Some(input.to_staff_id.clone());
        save(conn, &mut r, at)?;
        audit::record(
            conn,
            who,
            "ticket.handed_over",
            "ticket",
            Some(&r.id),
            json!({"to": input.to_staff_id}),
        )?;
        Ok(render(r))
    })
}

type EntryRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    NaiveDateTime,
);

fn to_entry(e: EntryRow, staff_view: bool) -> TimelineEntry {
    TimelineEntry {
        id: e.0,
        kind: EntryKind::parse(&e.1).unwrap_or(EntryKind::Comment),
        visibility: Visibility::parse(&e.2).unwrap_or(Visibility::Internal),
        body: e.3,
        data: serde_json::from_str(&e.4).unwrap_or(Value::Null),
        actor_kind: e.5,
        actor_id: if staff_view { e.6 } else { None },
        created_at: utc(e.7),
    }
}

fn entry_cols() -> (
    te::id,
    te::kind,
    te::visibility,
    te::body,
    te::data,
    te::actor_kind,
    te::actor_id,
    te::created_at,
) {
    (
        te::id,
        te::kind,
        te::visibility,
        te::body,
        te::data,
        te::actor_kind,
        te::actor_id,
        te::created_at,
    )
}

fn entry(conn: &mut DbConnection, id: &str, staff_view: bool) -> Result<TimelineEntry, ApiError> {
    let e: EntryRow = te::table.find(id).select(entry_cols()).first(conn)?;
    Ok(to_entry(e, staff_view))
}

fn timeline_page(
    conn: &mut DbConnection,
    ticket_id: &str,
    customer_only: bool,
    f: &TimelineFilter,
    page: &PageParams,
) -> Result<TimelinePage, ApiError> {
    let cur = page.resolve(Order::Asc)?;
    let mut q = te::table
        .filter(te::ticket_id.eq(ticket_id))
        .select(entry_cols())
        .order(te::id.asc())
        .limit(cur.limit + 1)
        .into_boxed();
    if customer_only {
        q = q.filter(te::visibility.eq(Visibility::CustomerVisible.as_str()));
    }
    if let Some(k) = f.kind {
        q = q.filter(te::kind.eq(k.as_str()));
    }
    if let Some(a) = &cur.after {
        q = q.filter(te::id.gt(a.clone()));
    }
    let rows: Vec<EntryRow> = q.load(conn)?;
    let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.0);
    Ok(TimelinePage {
        data: rows.into_iter().map(|e| to_entry(e, !customer_only)).collect(),
        next_cursor,
    })
}

/// Oldest first: the ticket's story in order.
pub fn timeline(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    f: &TimelineFilter,
    page: &PageParams,
) -> Result<TimelinePage, ApiError> {
    who.require(Perm::TicketsRead)?;
    read_tx(conn, |conn| {
        load_for_staff(conn, who, id)?;
        timeline_page(conn, id, false, f, page)
    })
}

/// A compensation event on the timeline; approved ones are shown to the guest.
pub fn record_compensation(
    conn: &mut DbConnection,
    who: &Principal,
    ticket_id: &str,
    data: Value,
    customer_visible: bool,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    entry_by(
        conn,
        who,
        ticket_id,
        EntryDraft {
            kind: EntryKind::Compensation,
            visibility: if customer_visible {
                Visibility::CustomerVisible
            } else {
                Visibility::Internal
            },
            body: None,
            data,
        },
        at,
    )
    .map(|_| ())
}

// ---- guests ---------------------------------------------------------------------------------

pub fn create_mine(conn: &mut DbConnection, who: &Principal, input: MyTicketCreate) -> Result<MyTicket, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    let mut c = Checks::new();
    let (subject, description) = check_text(&mut c, &input.subject, &input.description);
    c.finish()?;
    let kind = input.kind.unwrap_or(TicketKind::Complaint);
    write_tx(conn, |conn| {
        crate::features::properties::ensure_exist(conn, std::slice::from_ref(&input.property_id), "property_id")?;
        check_links(conn, &input.property_id, Some(&customer_id), input.stay_id.as_deref())?;
        let r = open(
            conn,
            who,
            NewTicket {
                property_id: input.property_id.clone(),
                customer_id: Some(customer_id.clone()),
                stay_id: input.stay_id.clone(),
                kind,
                category: input.category.trim().to_string(),
                // Staff triage sets the real severity; complaints start at medium.
                severity: if kind == TicketKind::Complaint {
                    Severity::Medium
                } else {
                    Severity::Low
                },
                channel: TicketChannel::App,
                subject,
                description,
                owner_id: None,
                source_kind: None,
                source_id: None,
            },
            now(),
        )?;
        let window = ticket_config::settings(conn)?.reopen_window_days;
        Ok(render_mine(r, window))
    })
}

pub fn get_mine(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<MyTicket, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    read_tx(conn, |conn| {
        let r = load_for_guest(conn, &customer_id, id)?;
        let window = ticket_config::settings(conn)?.reopen_window_days;
        Ok(render_mine(r, window))
    })
}

pub fn list_mine(conn: &mut DbConnection, who: &Principal, page: &PageParams) -> Result<MyTicketPage, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let window = ticket_config::settings(conn)?.reopen_window_days;
        let mut q = t::table
            .filter(t::customer_id.eq(&customer_id))
            .select(t::all_columns)
            .order(t::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(a) = &cur.after {
            q = q.filter(t::id.lt(a.clone()));
        }
        let rows: Vec<TicketRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        Ok(MyTicketPage {
            data: rows.into_iter().map(|r| render_mine(r, window)).collect(),
            next_cursor,
        })
    })
}

/// Customer-visible entries only.
pub fn timeline_mine(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    f: &TimelineFilter,
    page: &PageParams,
) -> Result<TimelinePage, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    read_tx(conn, |conn| {
        load_for_guest(conn, &customer_id, id)?;
        timeline_page(conn, id, true, f, page)
    })
}

/// The guest writes on their ticket; a reply while the hotel waits for them resumes the work.
pub fn comment_mine(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: MyComment,
) -> Result<TimelineEntry, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    let mut c = Checks::new();
    let body = c.text("body", &input.body, 1, 10_000);
    c.finish()?;
    write_tx(conn, |conn| {
        let mut r = lock_for_guest(conn, &customer_id, id)?;
        if r.state() == TicketState::Closed {
            return Err(ApiError::Conflict {
                detail: "the ticket is closed; reopen it to write more".into(),
                existing_id: None,
            });
        }
        let at = now();
        r.customer_replied_at = Some(at);
        let entry_id = entry_by(
            conn,
            who,
            &r.id,
            EntryDraft {
                kind: EntryKind::Comment,
                visibility: Visibility::CustomerVisible,
                body: Some(&body),
                data: json!({}),
            },
            at,
        )?;
        if r.state() == TicketState::AwaitingCustomer {
            change_state(conn, who, &mut r, TicketState::Investigating, None, None, at)?;
        } else {
            save(conn, &mut r, at)?;
        }
        entry(conn, &entry_id, false)
    })
}

/// The guest confirms the resolution: resolved → closed.
pub fn confirm_mine(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<MyTicket, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    write_tx(conn, |conn| {
        let mut r = lock_for_guest(conn, &customer_id, id)?;
        if r.state() != TicketState::Resolved {
            return Err(ApiError::IllegalTransition {
                detail: format!("only a resolved ticket can be confirmed; this one is {}", r.state),
                allowed: vec![],
            });
        }
        change_state(conn, who, &mut r, TicketState::Closed, None, None, now())?;
        let window = ticket_config::settings(conn)?.reopen_window_days;
        Ok(render_mine(r, window))
    })
}

/// The guest reopens a resolved or closed ticket within the window.
pub fn reopen_mine(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: ReopenRequest,
) -> Result<MyTicket, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    let mut c = Checks::new();
    let reason = c.text("reason", &input.reason, 1, 5000);
    c.finish()?;
    write_tx(conn, |conn| {
        let mut r = lock_for_guest(conn, &customer_id, id)?;
        let at = now();
        change_state(conn, who, &mut r, TicketState::Reopened, None, None, at)?;
        entry_by(
            conn,
            who,
            &r.id,
            EntryDraft {
                kind: EntryKind::Comment,
                visibility: Visibility::CustomerVisible,
                body: Some(&reason),
                data: json!({"reopen_reason": true}),
            },
            at,
        )?;
        let window = ticket_config::settings(conn)?.reopen_window_days;
        Ok(render_mine(r, window))
    })
}

// ---- SLA sweep --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
enum Clock_ {
    FirstResponse,
    Resolution,
}

/// Marks a clock breached (once) and escalates one level.
fn breach(conn: &mut DbConnection, r: &mut TicketRow, which: Clock_, at: NaiveDateTime) -> Result<(), ApiError> {
    let (name, due) = match which {
        Clock_::FirstResponse => {
            r.first_response_breached_at = Some(at);
            ("first_response", Some(r.first_response_due_at))
        }
        Clock_::Resolution => {
            r.resolution_breached_at = Some(at);
            ("resolution", r.resolution_due_at)
        }
    };
    sla_entry(
        conn,
        &r.id,
        SlaEvent::Breached,
        json!({"clock": name, "due_at": due.map(utc)}),
        at,
    )?;
    let level = sla::escalate(r.escalation_level);
    escalate_to(conn, r, level, &format!("{name} SLA breached"), ("system", None), at)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub first_response_breaches: usize,
    pub resolution_breaches: usize,
    pub auto_closed: usize,
}

/// Handles one ticket the sweep found: under the ticket's row lock, re-checks on the current row
/// that the step is still due (another instance may have done it meanwhile) and acts.
fn sweep_one(
    conn: &mut DbConnection,
    id: &str,
    due: impl Fn(&TicketRow) -> bool,
    act: impl FnOnce(&mut DbConnection, &mut TicketRow) -> Result<(), ApiError>,
) -> Result<bool, ApiError> {
    write_tx(conn, |conn| {
        lock_row(conn, id)?;
        let mut r = load_row(conn, id)?;
        if !due(&r) {
            return Ok(false);
        }
        act(conn, &mut r)?;
        Ok(true)
    })
}

/// One pass of the SLA job at `as_of`, at most `batch` tickets per step. Each ticket is handled
/// in its own transaction under its row lock and only if the step is still due on the row as it
/// is then, so concurrent sweeps never record an event twice.
pub fn sweep(conn: &mut DbConnection, as_of: NaiveDateTime, batch: i64) -> Result<SweepReport, ApiError> {
    let mut rep = SweepReport::default();
    let closed_states = || vec!["resolved", "closed"];
    let first_due = |r: &TicketRow| {
        r.state().is_open()
            && r.first_responded_at.is_none()
            && r.first_response_breached_at.is_none()
            && r.first_response_due_at < as_of
    };
    let first: Vec<String> = t::table
        .filter(t::first_responded_at.is_null())
        .filter(t::first_response_breached_at.is_null())
        .filter(t::first_response_due_at.lt(as_of))
        .filter(t::state.ne_all(closed_states()))
        .select(t::id)
        .order(t::first_response_due_at)
        .limit(batch)
        .load(conn)?;
    for id in first {
        rep.first_response_breaches += sweep_one(conn, &id, first_due, |conn, r| {
            breach(conn, r, Clock_::FirstResponse, as_of)?;
            save(conn, r, as_of)
        })? as usize;
    }
    let resolution_due = |r: &TicketRow| {
        r.state().is_open()
            && r.resolved_at.is_none()
            && r.resolution_breached_at.is_none()
            && r.resolution_paused_at.is_none()
            && r.resolution_due_at.is_some_and(|d| d < as_of)
    };
    let resolution: Vec<String> = t::table
        .filter(t::resolved_at.is_null())
        .filter(t::resolution_breached_at.is_null())
        .filter(t::resolution_paused_at.is_null())
        .filter(t::resolution_due_at.lt(as_of))
        .filter(t::state.ne_all(closed_states()))
        .select(t::id)
        .order(t::resolution_due_at)
        .limit(batch)
        .load(conn)?;
    for id in resolution {
        rep.resolution_breaches += sweep_one(conn, &id, resolution_due, |conn, r| {
            breach(conn, r, Clock_::Resolution, as_of)?;
            save(conn, r, as_of)
        })? as usize;
    }
    let days = ticket_config::settings(conn)?.auto_close_days;
    let cutoff = as_of - Duration::days(days);
    let quiet = |r: &TicketRow| {
        r.state() == TicketState::Resolved
            && r.resolved_at.is_some_and(|at| at < cutoff)
            && (r.customer_replied_at.is_none() || r.customer_replied_at < r.resolved_at)
    };
    let stale: Vec<String> = t::table
        .filter(t::state.eq(TicketState::Resolved.as_str()))
        .filter(t::resolved_at.lt(cutoff))
        .filter(
            t::customer_replied_at
                .is_null()
                .or(t::customer_replied_at.lt(t::resolved_at)),
        )
        .select(t::id)
        .order(t::resolved_at)
        .limit(batch)
        .load(conn)?;
    let job = Principal::system("ticket-sweep");
    for id in stale {
        rep.auto_closed += sweep_one(conn, &id, quiet, |conn, r| {
            change_state(
                conn,
                &job,
                r,
                TicketState::Closed,
                None,
                Some(format!("closed automatically: no reply {days} days after resolution")),
                as_of,
            )
        })? as usize;
    }
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::TicketState::*;
    use super::*;

    #[test]
    fn state_machine() {
        assert!(New.allowed_next().contains(&Acknowledged));
        assert!(AwaitingCustomer.allowed_next().contains(&Investigating));
        assert!(Resolved.allowed_next().contains(&Closed));
        assert!(Closed.allowed_next().contains(&Reopened));
        assert!(Reopened.allowed_next().contains(&Investigating));
        assert!(!Closed.allowed_next().contains(&Investigating), "reopen first");
        assert!(!New.allowed_next().contains(&Closed), "close only after resolving");
        assert!(!Resolved.allowed_next().contains(&AwaitingCustomer));
        for s in TicketState::ALL {
            assert!(!s.allowed_next().contains(s), "{s:?} → itself");
            assert!(!s.allowed_next().contains(&New), "nothing goes back to new");
        }
    }

    #[test]
    fn response_rules_by_channel() {
        assert_eq!(response_rule(TicketChannel::OnSite), ResponseRule::OnSite);
        assert_eq!(response_rule(TicketChannel::OtaReview), ResponseRule::Within24h);
        assert_eq!(response_rule(TicketChannel::Survey), ResponseRule::Within24h);
        assert_eq!(response_rule(TicketChannel::Phone), ResponseRule::Policy);
    }
}
