//! The outbox: domain events appended in the transaction of the change they describe (SPEC §8).
//!
//! A use case calls [`emit_in_tx`] after its own writes; the event row commits or rolls back
//! with them. Cross-feature effects (a check-out earns points and invites a survey, a closed
//! ticket invites a survey, a detractor's answer opens a ticket) are *reactions* to these events,
//! listed in `app::reactions` and run here, in the same transaction, right after the event is
//! written. The lower floors cannot name the higher ones, so the app installs its reaction table
//! once at start ([`install_reactions`]); emitting before that fails closed.

use std::sync::OnceLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::schema::events;
use super::DbConnection;
use crate::auth::Principal;
use crate::platform::error::ApiError;
use crate::platform::ids::{new_id, now};

/// An event as written: `data` holds ids, states, changed field names and deltas only.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub occurred_at: NaiveDateTime,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub property_id: Option<String>,
    pub data: String,
    /// Its place in the feed with the position the insert gives (`dialect::next_event_sequence`).
    pub commit_order: i64,
}

impl Event {
    /// The payload as JSON (always an object; written by [`emit_in_tx`]).
    pub fn payload(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }

    /// A string field of the payload.
    pub fn str(&self, field: &str) -> Option<String> {
        self.payload().get(field).and_then(Value::as_str).map(str::to_string)
    }
}

/// An event to append: `kind` is `<aggregate>.<what happened>` (`ticket.state_changed`).
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub kind: &'static str,
    pub aggregate_type: &'static str,
    pub aggregate_id: &'a str,
    pub property_id: Option<&'a str>,
    pub data: Value,
}

impl<'a> NewEvent<'a> {
    pub fn new(kind: &'static str, aggregate_type: &'static str, aggregate_id: &'a str) -> Self {
        NewEvent {
            kind,
            aggregate_type,
            aggregate_id,
            property_id: None,
            data: Value::Object(Default::default()),
        }
    }

    pub fn property(mut self, property_id: impl Into<Option<&'a str>>) -> Self {
        self.property_id = property_id.into();
        self
    }

    /// The payload: a JSON object of ids, states, field names and deltas.
    pub fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }
}

/// Runs the reactions to one event inside the caller's transaction.
pub type Reactor = fn(&mut DbConnection, &Principal, &Event) -> Result<(), ApiError>;

static REACTOR: OnceLock<Reactor> = OnceLock::new();

/// Installs the app's reaction table; later calls keep the first (there is one table).
pub fn install_reactions(reactor: Reactor) {
    let _ = REACTOR.set(reactor);
}

/// Appends `ev` with the next sequence of its aggregate, then runs its reactions in the same
/// transaction. The sequence comes from the aggregate's counter row (`event_sequences`), whose
/// lock the increment holds until commit: two writers of one aggregate queue there (bounded by
/// `lock_timeout`; SQLite has one writer anyway) and get consecutive numbers in commit order.
pub fn emit_in_tx(conn: &mut DbConnection, who: &Principal, ev: NewEvent<'_>) -> Result<Event, ApiError> {
    let reactor = REACTOR
        .get()
        .ok_or_else(|| ApiError::internal("domain events emitted before the reactions were installed"))?;
    if !ev.data.is_object() {
        return Err(ApiError::internal("event data must be a JSON object"));
    }
    let (sequence, commit_order) = super::dialect::next_event_sequence(conn, ev.aggregate_type, ev.aggregate_id)?;
    let event = stamped(ev, sequence, commit_order);
    // One row: the same prepared statement every time.
    diesel::insert_into(events::table)
        .values((
            events::id.eq(&event.id),
            events::kind.eq(&event.kind),
            events::occurred_at.eq(event.occurred_at),
            events::aggregate_type.eq(&event.aggregate_type),
            events::aggregate_id.eq(&event.aggregate_id),
            events::sequence.eq(event.sequence),
            events::property_id.eq(&event.property_id),
            events::data.eq(&event.data),
            events::commit_order.eq(event.commit_order),
        ))
        .execute(conn)?;
    reactor(conn, who, &event)?;
    Ok(event)
}

/// The first events of aggregates all created in the caller's transaction (a batch of new
/// guests), in order: each aggregate's events are numbered from 1 as listed, so the counters
/// and the events are written in one statement each; then the reactions of each, in order.
pub fn emit_new_in_tx(conn: &mut DbConnection, who: &Principal, evs: Vec<NewEvent<'_>>) -> Result<(), ApiError> {
    use super::schema::event_sequences as es;
    let reactor = REACTOR
        .get()
        .ok_or_else(|| ApiError::internal("domain events emitted before the reactions were installed"))?;
    if evs.is_empty() {
        return Ok(());
    }
    let commit_order = super::dialect::tx_commit_order(conn)?;
    let mut last: Vec<((String, String), i64)> = Vec::new();
    let mut events = Vec::with_capacity(evs.len());
    for ev in evs {
        let aggregate = (ev.aggregate_type.to_string(), ev.aggregate_id.to_string());
        let n = match last.iter_mut().rev().find(|(a, _)| *a == aggregate) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                last.push((aggregate, 1));
                1
            }
        };
        events.push(stamped(ev, n, commit_order));
    }
    let counters: Vec<_> = last
        .iter()
        .map(|((t, id), n)| {
            (
                es::aggregate_type.eq(t),
                es::aggregate_id.eq(id),
                es::last_sequence.eq(*n),
                es::last_commit_order.eq(commit_order),
            )
        })
        .collect();
    super::dialect::execute(conn, diesel::insert_into(es::table).values(&counters))?;
    insert_events(conn, &events)?;
    events.iter().try_for_each(|e| reactor(conn, who, e))
}

fn stamped(ev: NewEvent<'_>, sequence: i64, commit_order: i64) -> Event {
    // Tests run debug builds: every event they cause is checked against the catalogue.
    #[cfg(debug_assertions)]
    if let Err(e) = super::event_types::check(ev.kind, ev.aggregate_type, &ev.data) {
        panic!("{e}");
    }
    Event {
        id: new_id(),
        kind: ev.kind.to_string(),
        occurred_at: now(),
        aggregate_type: ev.aggregate_type.to_string(),
        aggregate_id: ev.aggregate_id.to_string(),
        sequence,
        property_id: ev.property_id.map(str::to_string),
        data: ev.data.to_string(),
        commit_order,
    }
}

fn insert_events(conn: &mut DbConnection, events: &[Event]) -> Result<(), ApiError> {
    let rows: Vec<_> = events
        .iter()
        .map(|event| {
            (
                events::id.eq(&event.id),
                events::kind.eq(&event.kind),
                events::occurred_at.eq(event.occurred_at),
                events::aggregate_type.eq(&event.aggregate_type),
                events::aggregate_id.eq(&event.aggregate_id),
                events::sequence.eq(event.sequence),
                events::property_id.eq(&event.property_id),
                events::data.eq(&event.data),
                events::commit_order.eq(event.commit_order),
            )
        })
        .collect();
    super::dialect::execute(conn, diesel::insert_into(events::table).values(&rows))?;
    Ok(())
}
