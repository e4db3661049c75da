//! The tickets and their timeline entries: rows, loads, row locks, writes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use super::model::*;
use crate::auth::{Principal, Role};
use crate::db::schema::{escalation_contacts as ec, ticket_entries as te, tickets as t};
use crate::db::DbConnection;
use crate::features::tickets::config::Severity;
use crate::features::{guests, staff, stays};
use crate::platform::error::ApiError;
use crate::platform::ids::new_id;
use crate::platform::page::{self as pagination, Order, PageParams};

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
    pub(super) fn state(&self) -> TicketState {
        TicketState::parse(&self.state).unwrap_or(TicketState::New)
    }
    pub(super) fn severity(&self) -> Severity {
        Severity::parse(&self.severity).unwrap_or(Severity::Medium)
    }
    pub(super) fn channel(&self) -> TicketChannel {
        TicketChannel::parse(&self.channel).unwrap_or(TicketChannel::Web)
    }
}

pub(super) fn load_row(conn: &mut DbConnection, id: &str) -> Result<TicketRow, ApiError> {
    t::table
        .find(id)
        .select(t::all_columns)
        .first::<TicketRow>(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("ticket"))
}

/// The ticket if the caller's properties include it (404 otherwise, like a missing one).
pub(super) fn load_for_staff(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<TicketRow, ApiError> {
    let r = load_row(conn, id)?;
    if !who.can_access_property(&r.property_id) {
        return Err(ApiError::not_found("ticket"));
    }
    Ok(r)
}

/// Takes the ticket's row lock for the rest of the transaction (PostgreSQL; SQLite's write
/// transaction already holds the database), so concurrent changes of one ticket — a comment,
/// a sweep, a guest's reopen — run one after the other, each on the state the other left.
pub(super) fn lock_row(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    crate::db::lock_row!(conn, t::table, t::version, id)?;
    Ok(())
}

/// The ticket's row lock for the rest of the caller's transaction (compensation totals).
pub(crate) fn lock_in_tx(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    lock_row(conn, id)
}

pub(super) fn lock_for_staff(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<TicketRow, ApiError> {
    load_for_staff(conn, who, id)?;
    lock_row(conn, id)?;
    load_row(conn, id)
}

pub(super) fn lock_for_guest(conn: &mut DbConnection, customer_id: &str, id: &str) -> Result<TicketRow, ApiError> {
    load_for_guest(conn, customer_id, id)?;
    lock_row(conn, id)?;
    load_row(conn, id)
}

/// The guest's own ticket (404 for anyone else's).
pub(super) fn load_for_guest(conn: &mut DbConnection, customer_id: &str, id: &str) -> Result<TicketRow, ApiError> {
    let r = load_row(conn, id)?;
    if r.customer_id.as_deref() != Some(customer_id) {
        return Err(ApiError::not_found("ticket"));
    }
    Ok(r)
}

pub(super) fn save(conn: &mut DbConnection, r: &mut TicketRow, at: NaiveDateTime) -> Result<(), ApiError> {
    r.version += 1;
    r.updated_at = at;
    diesel::update(t::table.find(&r.id)).set(&*r).execute(conn)?;
    Ok(())
}

pub(super) struct EntryDraft<'a> {
    pub(super) kind: EntryKind,
    pub(super) visibility: Visibility,
    pub(super) body: Option<&'a str>,
    pub(super) data: Value,
}

pub(super) fn add_entry(
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

pub(super) fn entry_by(
    conn: &mut DbConnection,
    who: &Principal,
    ticket_id: &str,
    e: EntryDraft,
    at: NaiveDateTime,
) -> Result<String, ApiError> {
    add_entry(conn, ticket_id, who.actor_kind(), Some(who.actor_id()), e, at)
}

pub(super) fn sla_entry(
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

#[derive(Debug, Serialize, Clone)]
pub(super) struct Notified {
    pub(super) staff_id: String,
    pub(super) display_name: String,
    pub(super) role: String,
}

/// Who hears of an escalation to `level` at a property: its configured contacts, else the
/// property's managers (levels 1–2) or the group's admins (level 3).
pub(super) fn notified_for(conn: &mut DbConnection, property_id: &str, level: i32) -> Result<Vec<Notified>, ApiError> {
    let contacts: Vec<String> = ec::table
        .filter(ec::property_id.eq(property_id))
        .filter(ec::level.eq(level))
        .select(ec::staff_id)
        .load(conn)?;
    let fallback = contacts.is_empty();
    let role = Role::escalation_fallback(level);
    let staff = staff::active_staff(conn, (!fallback).then_some(contacts.as_slice()), role)?;
    Ok(staff
        .into_iter()
        .filter(|s| !fallback || s.works_at(property_id))
        .map(|s| Notified {
            staff_id: s.id,
            display_name: s.display_name,
            role: s.role,
        })
        .collect())
}

/// The stay, if given, must be at the property and (when a guest is named) the guest's.
pub(super) fn check_links(
    conn: &mut DbConnection,
    property_id: &str,
    customer_id: Option<&str>,
    stay_id: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if let Some(cid) = customer_id {
        if !guests::customer_exists(conn, cid)? {
            return Err(ApiError::field("customer_id", "unknown guest"));
        }
    }
    let Some(sid) = stay_id else {
        return Ok(customer_id.map(str::to_string));
    };
    let Some(stays::StayParties {
        property_id: stay_property,
        customer_id: stay_customer,
    }) = stays::stay_parties(conn, sid)?
    else {
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

pub(super) fn ensure_property(conn: &mut DbConnection, who: &Principal, property_id: &str) -> Result<(), ApiError> {
    if !who.can_access_property(property_id) {
        return Err(ApiError::field("property_id", "unknown property"));
    }
    crate::features::properties::ensure_exist(conn, &[property_id.to_string()], "property_id")
}

/// Fails unless `staff_id` is an active agent/manager/admin who may see the property.
pub(super) fn check_assignee(
    conn: &mut DbConnection,
    staff_id: &str,
    property_id: &str,
    field: &str,
) -> Result<(), ApiError> {
    let Some(s) = staff::staff_card(conn, staff_id)? else {
        return Err(ApiError::field(field, "unknown staff member"));
    };
    if !s.active {
        return Err(ApiError::field(field, "this staff member is deactivated"));
    }
    if !s.role().is_some_and(Role::may_own_tickets) {
        return Err(ApiError::field(field, "analysts cannot own tickets"));
    }
    if !s.works_at(property_id) {
        return Err(ApiError::field(
            field,
            "this staff member does not work at the ticket's property",
        ));
    }
    Ok(())
}

/// One `ticket_entries` row as a timeline shows it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = te)]
pub(super) struct EntryRow {
    id: String,
    kind: String,
    visibility: String,
    body: Option<String>,
    data: String,
    actor_kind: String,
    actor_id: Option<String>,
    created_at: NaiveDateTime,
}

pub(super) fn to_entry(e: EntryRow, staff_view: bool) -> TimelineEntry {
    TimelineEntry {
        kind: EntryKind::parse(&e.kind).unwrap_or(EntryKind::Comment),
        visibility: Visibility::parse(&e.visibility).unwrap_or(Visibility::Internal),
        data: serde_json::from_str(&e.data).unwrap_or(Value::Null),
        id: e.id,
        body: e.body,
        actor_kind: e.actor_kind,
        actor_id: if staff_view { e.actor_id } else { None },
        created_at: utc(e.created_at),
    }
}

pub(super) fn entry(conn: &mut DbConnection, id: &str, staff_view: bool) -> Result<TimelineEntry, ApiError> {
    let e: EntryRow = te::table.find(id).select(EntryRow::as_select()).first(conn)?;
    Ok(to_entry(e, staff_view))
}

pub(super) fn timeline_page(
    conn: &mut DbConnection,
    ticket_id: &str,
    customer_only: bool,
    f: &TimelineFilter,
    page: &PageParams,
) -> Result<TimelinePage, ApiError> {
    let cur = page.resolve(Order::Asc)?;
    let mut q = te::table
        .filter(te::ticket_id.eq(ticket_id))
        .select(EntryRow::as_select())
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
    let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
    Ok(TimelinePage {
        data: rows.into_iter().map(|e| to_entry(e, !customer_only)).collect(),
        next_cursor,
    })
}

/// A ticket's guest (if linked) and property.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = t)]
pub struct TicketParties {
    pub customer_id: Option<String>,
    pub property_id: String,
}

/// What other features read of a ticket: who it is about and where.
pub fn ticket_parties(conn: &mut DbConnection, id: &str) -> Result<Option<TicketParties>, ApiError> {
    Ok(t::table
        .find(id)
        .select(TicketParties::as_select())
        .first(conn)
        .optional()?)
}
