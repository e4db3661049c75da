//! The event feed (SPEC §8): every committed change, in an order a reader can follow with a
//! cursor without ever skipping an event a slower transaction commits later, nor repeating one.

use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Value};

use super::db::{self, EventRow, Selection};
use super::model::{Aggregate, Event, EventFeedPage, EventFeedParams, EventSettings};
use super::rules::{self, FeedKey};
use crate::auth::{Perm, Principal};
use crate::db::{dialect, read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

impl EventRow {
    /// The event as the feed serves it and webhooks deliver it.
    pub fn view(&self) -> Event {
        Event {
            id: self.id.clone(),
            kind: self.kind.clone(),
            occurred_at: self.occurred_at.and_utc(),
            aggregate: Aggregate {
                kind: self.aggregate_type.clone(),
                id: self.aggregate_id.clone(),
            },
            sequence: self.sequence,
            property_id: self.property_id.clone(),
            data: serde_json::from_str(&self.data).unwrap_or(Value::Object(Default::default())),
        }
    }
}

/// Where a reader that asked for `limit` events after `after` continues, and whether more are
/// ready: after the last event when the page is full; past the whole scan window when the
/// window filled first; otherwise after the last event (or where it was: caught up).
pub fn continue_from(after: FeedKey, rows: &[EventRow], window_end: Option<FeedKey>, limit: i64) -> (FeedKey, bool) {
    let last = rows.last().map(EventRow::key);
    if rows.len() as i64 >= limit {
        (last.unwrap_or(after), true)
    } else if let Some(end) = window_end {
        (end, true)
    } else {
        (last.unwrap_or(after), false)
    }
}

/// Reads up to `limit` events for `selection` after `after`, below the horizon.
pub fn read_page(
    conn: &mut DbConnection,
    after: FeedKey,
    selection: &Selection,
    limit: i64,
) -> Result<(Vec<EventRow>, FeedKey, bool), ApiError> {
    let horizon = dialect::feed_horizon(conn)?;
    let (rows, window_end) = db::read(conn, after, horizon, selection, limit)?;
    let (next, more) = continue_from(after, &rows, window_end, limit);
    Ok((rows, next, more))
}

/// `GET /events`: admins and `events:read` keys; a caller restricted to some properties sees
/// only their events (group-wide events, with no property, are not theirs).
pub fn list(conn: &mut DbConnection, who: &Principal, params: &EventFeedParams) -> Result<EventFeedPage, ApiError> {
    who.require(Perm::EventsRead)?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 500"));
    }
    let after = match params.after.as_deref() {
        None | Some("") => FeedKey::default(),
        Some(c) => FeedKey::decode(c).ok_or_else(|| ApiError::field("after", "is not a cursor of this feed"))?,
    };
    let types = match params.types.as_deref() {
        None => Vec::new(),
        Some(t) => rules::parse_patterns(t.split(',').filter(|s| !s.trim().is_empty()))
            .map_err(|m| ApiError::field("types", m))?,
    };
    let selection = Selection {
        types,
        properties: who.property_scope().map(<[String]>::to_vec),
    };
    read_tx(conn, |conn| {
        let (rows, next, has_more) = read_page(conn, after, &selection, limit)?;
        Ok(EventFeedPage {
            data: rows.iter().map(EventRow::view).collect(),
            next_cursor: next.encode(),
            has_more,
        })
    })
}

pub fn settings(conn: &mut DbConnection, who: &Principal) -> Result<EventSettings, ApiError> {
    who.require(Perm::WebhooksManage)
        .or_else(|_| who.require(Perm::EventsRead))?;
    Ok(EventSettings {
        retention_days: read_tx(conn, db::retention_days)?,
    })
}

pub fn update_settings(
    conn: &mut DbConnection,
    who: &Principal,
    input: EventSettings,
) -> Result<EventSettings, ApiError> {
    who.require_group_wide(Perm::EventsConfigure)?;
    if !(7..=3650).contains(&input.retention_days) {
        return Err(ApiError::field("retention_days", "must be between 7 and 3650"));
    }
    write_tx(conn, |conn| {
        let before = db::retention_days(conn)?;
        db::set_retention_days(conn, input.retention_days)?;
        audit::record(
            conn,
            who,
            "event_settings.updated",
            "event_settings",
            None,
            json!({"retention_days": {"from": before, "to": input.retention_days}}),
        )?;
        Ok(input)
    })
}

/// The retention job: deletes events, and finished deliveries, older than the retention, in
/// batches (one short transaction each); how many events.
pub fn prune_expired(conn: &mut DbConnection, as_of: NaiveDateTime, batch: i64) -> Result<usize, ApiError> {
    let days = read_tx(conn, db::retention_days)?;
    let cutoff = as_of - Duration::days(days);
    let mut pruned = 0;
    loop {
        let (deliveries, events) = write_tx(conn, |conn| {
            Ok((
                super::deliveries::prune(conn, cutoff, batch)?,
                db::prune(conn, cutoff, batch)?,
            ))
        })?;
        pruned += events;
        if (deliveries as i64) < batch && (events as i64) < batch {
            return Ok(pruned);
        }
    }
}
