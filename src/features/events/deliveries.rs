//! Deliveries of events to webhook endpoints: one row per (endpoint, event), queued by the
//! dispatcher in feed order, claimed by one instance at a time, re-armed by `retry` and
//! `recover` (same row, so the receiver sees the same `webhook-id`).

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::db::EventRow;
use super::model::{Aggregate, DeliveryFilter, RecoverRequest, RecoverResult, WebhookDelivery};
use crate::auth::Principal;
use crate::db::dialect::{self, load_skip_locked};
use crate::db::schema::{webhook_deliveries as d, webhook_endpoints as w};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::platform::error::ApiError;
use crate::platform::ids::{new_id, now};
use crate::platform::page::{self, Order, Page, PageParams};

pub const PENDING: &str = "pending";
pub const SENDING: &str = "sending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
const STATES: [&str; 4] = [PENDING, SENDING, SUCCEEDED, FAILED];
/// The most events one `recover` re-sends (a larger window: split it).
pub const MAX_RECOVER: i64 = 50_000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = d)]
pub struct DeliveryRow {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub occurred_at: NaiveDateTime,
    pub state: String,
    pub attempts: i32,
    pub replay: bool,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_latency_ms: Option<i32>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl DeliveryRow {
    pub fn view(self) -> WebhookDelivery {
        WebhookDelivery {
            id: self.id,
            event_id: self.event_id,
            event_type: self.event_type,
            aggregate: Aggregate {
                kind: self.aggregate_type,
                id: self.aggregate_id,
            },
            sequence: self.sequence,
            state: self.state,
            attempts: self.attempts,
            replay: self.replay,
            next_attempt_at: self.next_attempt_at.map(|t| t.and_utc()),
            last_attempt_at: self.last_attempt_at.map(|t| t.and_utc()),
            last_status: self.last_status,
            last_latency_ms: self.last_latency_ms,
            last_response: self.last_response,
            last_error: self.last_error,
            created_at: self.created_at.and_utc(),
        }
    }
}

/// Queues `events` for an endpoint (in the dispatcher's transaction); an event already queued
/// for it (by `recover`) is left as it is.
pub(crate) fn queue_in_tx(
    conn: &mut DbConnection,
    endpoint_id: &str,
    events: &[EventRow],
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    if events.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = events
        .iter()
        .map(|e| {
            (
                d::id.eq(new_id()),
                d::endpoint_id.eq(endpoint_id),
                d::event_id.eq(&e.id),
                d::event_type.eq(&e.kind),
                d::aggregate_type.eq(&e.aggregate_type),
                d::aggregate_id.eq(&e.aggregate_id),
                d::sequence.eq(e.sequence),
                d::occurred_at.eq(e.occurred_at),
                d::state.eq(PENDING),
                d::attempts.eq(0),
                d::replay.eq(false),
                d::next_attempt_at.eq(Some(at)),
                d::created_at.eq(at),
                d::updated_at.eq(at),
            )
        })
        .collect();
    Ok(dialect::execute(
        conn,
        diesel::insert_into(d::table).values(&rows).on_conflict_do_nothing(),
    )?)
}

/// Claims up to `limit` deliveries due at `at` for `lease` (their attempt runs outside any
/// transaction): each is the oldest unfinished delivery of its aggregate to its endpoint (the
/// next waits until it succeeded or was given up), its endpoint is enabled, and no other
/// instance holds it — a lapsed lease (a crashed sender) is claimed again.
/// Walks the due index in order and stops at `limit`.
pub(crate) fn claim_due(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    limit: i64,
    lease: Duration,
) -> Result<Vec<DeliveryRow>, ApiError> {
    write_tx(conn, |conn| {
        // The table grows and shrinks by thousands: plan with this claim's values, not a plan
        // prepared when it was empty (that one read every due row per claim).
        dialect::plan_each_statement_in_tx(conn)?;
        // A lapsed lease (a sender that died mid-attempt) makes its delivery due again.
        diesel::update(d::table.filter(d::state.eq(SENDING)).filter(d::lease_until.lt(at)))
            .set((
                d::state.eq(PENDING),
                d::next_attempt_at.eq(Some(at)),
                d::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let earlier = diesel::alias!(d as earlier);
        let blocked = earlier
            .filter(earlier.field(d::endpoint_id).eq(d::endpoint_id))
            .filter(earlier.field(d::aggregate_type).eq(d::aggregate_type))
            .filter(earlier.field(d::aggregate_id).eq(d::aggregate_id))
            .filter(earlier.field(d::sequence).lt(d::sequence))
            .filter(earlier.field(d::state).eq_any([PENDING, SENDING]));
        let due = d::state.eq(PENDING).and(d::next_attempt_at.le(at));
        // The query is written out in the macro: each backend's arm types it for itself.
        let rows: Vec<DeliveryRow> = load_skip_locked!(
            conn,
            d::table
                .filter(due)
                .filter(d::endpoint_id.eq_any(w::table.filter(w::enabled.eq(true)).select(w::id)))
                .filter(not(exists(blocked)))
                .order((d::next_attempt_at, d::sequence))
                .limit(limit)
                .select(DeliveryRow::as_select()),
            DeliveryRow
        )?;
        if rows.is_empty() {
            return Ok(rows);
        }
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        diesel::update(d::table.filter(d::id.eq_any(&ids)))
            .set((
                d::state.eq(SENDING),
                d::lease_until.eq(Some(at + lease)),
                d::updated_at.eq(at),
            ))
            .execute(conn)?;
        Ok(rows)
    })
}

/// What one attempt brought.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: NaiveDateTime,
    pub status: Option<i32>,
    pub latency_ms: i32,
    pub response: Option<String>,
    pub error: Option<String>,
}

/// Records an attempt: the new state and, when it failed and is retried, the next attempt.
pub(crate) fn record_in_tx(
    conn: &mut DbConnection,
    id: &str,
    attempt: &Attempt,
    state: &str,
    next_attempt_at: Option<NaiveDateTime>,
) -> Result<(), ApiError> {
    diesel::update(d::table.find(id))
        .set((
            d::state.eq(state),
            d::attempts.eq(d::attempts + 1),
            d::next_attempt_at.eq(next_attempt_at),
            d::lease_until.eq(None::<NaiveDateTime>),
            d::last_attempt_at.eq(Some(attempt.at)),
            d::last_status.eq(attempt.status),
            d::last_latency_ms.eq(Some(attempt.latency_ms)),
            d::last_response.eq(&attempt.response),
            d::last_error.eq(&attempt.error),
            d::updated_at.eq(attempt.at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    endpoint_id: &str,
    filter: &DeliveryFilter,
    params: &PageParams,
) -> Result<Page<WebhookDelivery>, ApiError> {
    let cursor = params.resolve(Order::Desc)?;
    if let Some(s) = &filter.state {
        if !STATES.contains(&s.as_str()) {
            return Err(ApiError::field(
                "state",
                "must be pending, sending, succeeded or failed",
            ));
        }
    }
    read_tx(conn, |conn| {
        super::endpoints::load_managed(conn, who, endpoint_id)?;
        let mut q = d::table
            .filter(d::endpoint_id.eq(endpoint_id))
            .order(d::id.desc())
            .limit(cursor.limit + 1)
            .select(DeliveryRow::as_select())
            .into_boxed();
        if let Some(s) = &filter.state {
            q = q.filter(d::state.eq(s.clone()));
        }
        if let Some(after) = &cursor.after {
            q = q.filter(d::id.lt(after.clone()));
        }
        let rows: Vec<DeliveryRow> = q.load(conn)?;
        let (rows, next_cursor) = page::finish(rows, &cursor, |r| r.id.as_str());
        Ok(Page {
            data: rows.into_iter().map(DeliveryRow::view).collect(),
            next_cursor,
        })
    })
}

fn load(conn: &mut DbConnection, endpoint_id: &str, id: &str) -> Result<DeliveryRow, ApiError> {
    d::table
        .find(id)
        .filter(d::endpoint_id.eq(endpoint_id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("delivery"))
}

/// Sends a delivery again from its first attempt, with the same `webhook-id`: a given-up one, or
/// one that succeeded (the receiver asks for it again). 409 while it is being sent.
pub fn retry(
    conn: &mut DbConnection,
    who: &Principal,
    endpoint_id: &str,
    id: &str,
) -> Result<WebhookDelivery, ApiError> {
    write_tx(conn, |conn| {
        super::endpoints::load_managed(conn, who, endpoint_id)?;
        let row = load(conn, endpoint_id, id)?;
        if row.state == SENDING {
            return Err(ApiError::Conflict {
                detail: "this delivery is being sent now".into(),
                existing_id: None,
            });
        }
        rearm_in_tx(conn, id, now())?;
        Ok(load(conn, endpoint_id, id)?.view())
    })
}

fn rearm_in_tx(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(d::table.find(id))
        .set((
            d::state.eq(PENDING),
            d::attempts.eq(0),
            d::replay.eq(true),
            d::next_attempt_at.eq(Some(at)),
            d::lease_until.eq(None::<NaiveDateTime>),
            d::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Re-sends every event of `[since, until)` that this endpoint's filters select and that it has
/// not received (failed, given up, or never queued — the endpoint was disabled or did not exist
/// yet), oldest first, with their own `webhook-id`s. Replays do not count toward disabling.
pub fn recover(
    conn: &mut DbConnection,
    who: &Principal,
    endpoint_id: &str,
    input: RecoverRequest,
) -> Result<RecoverResult, ApiError> {
    let at = now();
    let since = input.since.naive_utc();
    let until = input.until.map(|u| u.naive_utc()).unwrap_or(at).min(at);
    if since >= until {
        return Err(ApiError::field("since", "must be before `until` (and before now)"));
    }
    write_tx(conn, |conn| {
        let endpoint = super::endpoints::load_managed(conn, who, endpoint_id)?;
        let selection = super::db::Selection {
            types: endpoint.patterns(),
            properties: endpoint.properties(),
        };
        let mut result = RecoverResult {
            queued: 0,
            already_delivered: 0,
        };
        let mut after = None;
        let mut seen = 0i64;
        loop {
            let batch = super::db::occurred_between(conn, since, until, after.clone(), 1000)?;
            seen += batch.len() as i64;
            if seen > MAX_RECOVER {
                return Err(ApiError::field(
                    "since",
                    "the window holds more than 50,000 events: recover it in parts",
                ));
            }
            let Some(last) = batch.last() else { break };
            after = Some((last.occurred_at, last.id.clone()));
            let chosen: Vec<EventRow> = batch.into_iter().filter(|e| selection.selects(e)).collect();
            recover_batch_in_tx(conn, endpoint_id, &chosen, at, &mut result)?;
        }
        Ok(result)
    })
}

fn recover_batch_in_tx(
    conn: &mut DbConnection,
    endpoint_id: &str,
    events: &[EventRow],
    at: NaiveDateTime,
    result: &mut RecoverResult,
) -> Result<(), ApiError> {
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let existing: Vec<(String, String, String)> = d::table
        .filter(d::endpoint_id.eq(endpoint_id))
        .filter(d::event_id.eq_any(&ids))
        .select((d::id, d::event_id, d::state))
        .load(conn)?;
    let mut fresh = Vec::new();
    for e in events {
        match existing.iter().find(|(_, ev, _)| *ev == e.id) {
            Some((_, _, state)) if state == SUCCEEDED => result.already_delivered += 1,
            Some((_, _, state)) if state == SENDING => result.queued += 1,
            Some((id, _, _)) => {
                rearm_in_tx(conn, id, at)?;
                result.queued += 1;
            }
            None => fresh.push(e.clone()),
        }
    }
    queue_in_tx(conn, endpoint_id, &fresh, at)?;
    if !fresh.is_empty() {
        let fresh_ids: Vec<&str> = fresh.iter().map(|e| e.id.as_str()).collect();
        diesel::update(
            d::table
                .filter(d::endpoint_id.eq(endpoint_id))
                .filter(d::event_id.eq_any(&fresh_ids)),
        )
        .set(d::replay.eq(true))
        .execute(conn)?;
    }
    result.queued += fresh.len() as i64;
    Ok(())
}

/// Deletes up to `batch` finished deliveries created before `cutoff`; how many.
pub fn prune(conn: &mut DbConnection, cutoff: NaiveDateTime, batch: i64) -> Result<usize, ApiError> {
    let ids: Vec<String> = d::table
        .filter(d::created_at.lt(cutoff))
        .filter(d::state.eq_any([SUCCEEDED, FAILED]))
        .select(d::id)
        .limit(batch)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(d::table.filter(d::id.eq_any(ids))).execute(conn)?)
}
