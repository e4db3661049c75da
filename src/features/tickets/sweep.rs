//! The SLA sweep: breaches, escalations and auto-closing, multi-instance safe.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::db::*;
use super::model::*;
use super::sla_clock::*;
use super::transition::*;
use crate::auth::Principal;
use crate::db::schema::tickets as t;
use crate::db::{write_tx, DbConnection};
use crate::features::tickets::config::{self as ticket_config};
use crate::platform::error::ApiError;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub first_response_breaches: usize,
    pub resolution_breaches: usize,
    pub auto_closed: usize,
}

/// Handles one ticket the sweep found: under the ticket's row lock, re-checks on the current row
/// that the step is still due (another instance may have done it meanwhile) and acts.
pub(super) fn sweep_one(
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
