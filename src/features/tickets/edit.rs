//! Changing a ticket: fields, comments, handovers, compensation entries.

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::db::*;
use super::model::*;
use super::rules::*;
use super::sla_clock::*;
use super::transition::*;
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::features::tickets::config::{self as ticket_config, Severity};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::now;

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
        let changed_names: Vec<String> = changed.keys().cloned().collect();
        entry_by(
            conn,
            who,
            &r.id,
            EntryDraft {
                kind: EntryKind::Updated,
                visibility: Visibility::Internal,
                body: None,
                data: Value::Object(changed.clone()),
            },
            at,
        )?;
        save(conn, &mut r, at)?;
        audit::record(conn, who, "ticket.updated", "ticket", Some(&r.id), json!({}))?;
        let fields: Vec<&String> = changed_names.iter().collect();
        let ev = NewEvent::new("ticket.updated", "ticket", &r.id).property(r.property_id.as_str());
        outbox::emit_in_tx(conn, who, ev.data(json!({"fields": fields, "severity": r.severity})))?;
        Ok(render(r))
    })
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
        commented_in_tx(conn, who, &r, &entry_id, visibility)?;
        entry(conn, &entry_id, true)
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
        commented_in_tx(conn, who, &r, &entry_id, Visibility::CustomerVisible)?;
        entry(conn, &entry_id, false)
    })
}

pub fn handover(conn: &mut DbConnection, who: &Principal, id: &str, input: Handover) -> Result<Ticket, ApiError> {
    who.require(Perm::TicketsHandover)?;
    let mut c = Checks::new();
    let note = c.opt_text("note", input.note.as_deref(), 2000);
    c.finish()?;
    write_tx(conn, |conn| {
        let mut r = lock_for_staff(conn, who, id)?;
        who.require_handover(r.owner_id.as_deref())?;
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
        let from_owner = r.owner_id.clone();
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
        let ev = NewEvent::new("ticket.handed_over", "ticket", &r.id).property(r.property_id.as_str());
        outbox::emit_in_tx(conn, who, ev.data(json!({"from": from_owner, "to": input.to_staff_id})))?;
        Ok(render(r))
    })
}

/// A compensation event on the timeline; approved ones are shown to the guest.
pub(crate) fn record_compensation_in_tx(
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

/// `ticket.commented`: the entry and its visibility, never the body.
pub(crate) fn commented_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    r: &TicketRow,
    entry_id: &str,
    visibility: Visibility,
) -> Result<(), ApiError> {
    let ev = NewEvent::new("ticket.commented", "ticket", &r.id).property(r.property_id.as_str());
    let data = json!({"entry_id": entry_id, "visibility": visibility.as_str(), "author_kind": who.actor_kind()});
    outbox::emit_in_tx(conn, who, ev.data(data))?;
    Ok(())
}
