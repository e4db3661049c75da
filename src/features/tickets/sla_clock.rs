//! SLA clocks on a ticket: applying the policy, re-targeting, first response, breaches, escalation.

use chrono::NaiveDateTime;
use serde_json::json;

use super::db::*;
use super::model::*;
use super::rules::*;
use crate::auth::Principal;
use crate::db::outbox::{self, NewEvent};
use crate::db::DbConnection;
use crate::features::tickets::config::{self as ticket_config, Severity};
use crate::features::tickets::sla::{self, Clock, ResponseRule};
use crate::platform::error::ApiError;

/// Sets both due times from `from` (the opening time) under the policy in force, recording an
/// `applied` event.
pub(super) fn apply_sla(
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

/// Raises the ticket to `level`, recording who was notified.
pub(super) fn escalate_to(
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
    )?;
    let ev = NewEvent::new("ticket.escalated", "ticket", &r.id).property(r.property_id.as_str());
    let data = json!({"from_level": from, "to_level": level, "notified": notified.iter().map(|n| &n.staff_id).collect::<Vec<_>>()});
    outbox::emit_in_tx(conn, &Principal::system("ticket-sla"), ev.data(data))?;
    Ok(())
}

/// Re-triage: the first response (if not given yet) gets the new severity's target from the
/// opening time; the resolution clock keeps what it has used and gains or loses the difference
/// between the two targets (paused time stays uncounted; a breach already recorded stays).
pub(super) fn retarget(
    conn: &mut DbConnection,
    r: &mut TicketRow,
    old: Severity,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
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

/// Records the first response if this is it (on time: `met`; late: `breached`).
pub(super) fn first_response(conn: &mut DbConnection, r: &mut TicketRow, at: NaiveDateTime) -> Result<(), ApiError> {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub(super) enum Clock_ {
    FirstResponse,
    Resolution,
}

/// Marks a clock breached (once) and escalates one level.
pub(super) fn breach(
    conn: &mut DbConnection,
    r: &mut TicketRow,
    which: Clock_,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
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
    let ev = NewEvent::new("ticket.sla_breached", "ticket", &r.id).property(r.property_id.as_str());
    let data = json!({"clock": name, "due_at": due.map(utc), "state": r.state});
    outbox::emit_in_tx(conn, &Principal::system("ticket-sla"), ev.data(data))?;
    let level = sla::escalate(r.escalation_level);
    escalate_to(conn, r, level, &format!("{name} SLA breached"), ("system", None), at)
}
