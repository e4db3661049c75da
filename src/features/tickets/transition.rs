//! State changes: the one path every change of state takes, whoever asks.

use chrono::NaiveDateTime;
use serde_json::json;

use super::db::*;
use super::model::*;
use super::rules::*;
use super::sla_clock::*;
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::features::tickets::config::{self as ticket_config};
use crate::features::tickets::sla::{self, Clock};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::now;

/// The one path every state change takes, whoever asks.
pub(super) fn change_state(
    conn: &mut DbConnection,
    who: &Principal,
    r: &mut TicketRow,
    to: TicketState,
    summary: Option<String>,
    note: Option<String>,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    let from = r.state();
    check_transition(from, to)?;
    let settings = ticket_config::settings(conn)?;
    let clock = ticket_config::clock_for(conn, &r.property_id)?;
    if to == TicketState::Resolved && summary.is_none() {
        return Err(ApiError::field("resolution_summary", "is required to resolve a ticket"));
    }
    if to == TicketState::Reopened {
        check_reopen_window(r, settings.reopen_window_days, at)?;
    }
    move_resolution_clock(conn, r, from, to, &clock, at)?;
    enter_state(conn, r, to, summary.clone(), &clock, at)?;
    r.state = to.as_str().into();
    record_state_change_in_tx(conn, who, r, (from, to), summary.as_deref(), note, at)
}

/// Resolution clock: pause on waiting for the guest, resume when the wait ends.
fn move_resolution_clock(
    conn: &mut DbConnection,
    r: &mut TicketRow,
    from: TicketState,
    to: TicketState,
    clock: &Clock,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    if to == TicketState::AwaitingCustomer {
        if let Some(due) = r.resolution_due_at {
            let left = sla::pause(clock, utc(due), utc(at));
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
            let due = sla::resume(clock, left, utc(at));
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
    Ok(())
}

/// What entering `to` sets on the ticket (resolved, closed and reopened times, the new clock).
fn enter_state(
    conn: &mut DbConnection,
    r: &mut TicketRow,
    to: TicketState,
    summary: Option<String>,
    clock: &Clock,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    match to {
        TicketState::Resolved => {
            // The resolution summary is shown to the guest: it is a response too.
            first_response(conn, r, at)?;
            r.resolved_at = Some(at);
            r.resolution_summary = summary;
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
    Ok(())
}

/// The timeline entries, the saved row, the audit row and the `ticket.state_changed` event.
pub(crate) fn record_state_change_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    r: &mut TicketRow,
    (from, to): (TicketState, TicketState),
    summary: Option<&str>,
    note: Option<String>,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    entry_by(
        conn,
        who,
        &r.id,
        EntryDraft {
            kind: EntryKind::StateChange,
            visibility: Visibility::CustomerVisible,
            body: summary.filter(|_| to == TicketState::Resolved),
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
