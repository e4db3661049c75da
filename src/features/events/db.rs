//! The feed's reads of the outbox (`events`, written by `db::outbox`), its settings and pruning.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use super::rules::{FeedKey, TypePattern};
use crate::db::schema::{event_settings as st, events as e};
use crate::db::{DbConnection, MultiBackend};
use crate::platform::error::ApiError;

/// How many events past the cursor one filtered page looks at, at most: a type filter that
/// matches little still answers in bounded time, with a cursor past what it looked at.
pub const SCAN_WINDOW: i64 = 5_000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = e)]
pub struct EventRow {
    pub id: String,
    pub kind: String,
    pub occurred_at: NaiveDateTime,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub property_id: Option<String>,
    pub data: String,
    pub commit_order: i64,
    pub position: i64,
}

impl EventRow {
    pub fn key(&self) -> FeedKey {
        FeedKey {
            commit_order: self.commit_order,
            position: self.position,
        }
    }
}

/// Which events a reader takes from the feed.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub types: Vec<TypePattern>,
    /// `None`: every event; `Some(ids)`: only events of these properties.
    pub properties: Option<Vec<String>>,
}

impl Selection {
    fn filters(&self) -> bool {
        !self.types.is_empty() || self.properties.is_some()
    }

    /// Whether it selects `event` (the same rule as `read`'s SQL).
    pub fn selects(&self, event: &EventRow) -> bool {
        super::rules::type_selected(&self.types, &event.kind)
            && match &self.properties {
                None => true,
                Some(ids) => event.property_id.as_ref().is_some_and(|p| ids.contains(p)),
            }
    }
}

/// Up to `limit` selected events after `after` and below `horizon`, in feed order, and the key
/// up to which the feed was looked at when the scan window filled before the page did.
pub fn read(
    conn: &mut DbConnection,
    after: FeedKey,
    horizon: Option<i64>,
    selection: &Selection,
    limit: i64,
) -> Result<(Vec<EventRow>, Option<FeedKey>), ApiError> {
    let window_end = if selection.filters() {
        let keys: Vec<(i64, i64)> = ordered_after(after, horizon)
            .select((e::commit_order, e::position))
            .offset(SCAN_WINDOW - 1)
            .limit(1)
            .load(conn)?;
        keys.first()
            .map(|&(commit_order, position)| FeedKey { commit_order, position })
    } else {
        None
    };
    let mut q = ordered_after(after, horizon).select(EventRow::as_select());
    if let Some(end) = window_end {
        q = q.filter(
            sql::<Bool>("(commit_order, position) <= (")
                .bind::<BigInt, _>(end.commit_order)
                .sql(", ")
                .bind::<BigInt, _>(end.position)
                .sql(")"),
        );
    }
    if !selection.types.is_empty() {
        let mut any: Box<dyn BoxableExpression<e::table, MultiBackend, SqlType = Bool>> =
            Box::new(false.into_sql::<Bool>());
        for p in &selection.types {
            any = if p.is_exact() {
                Box::new(any.or(e::kind.eq(p.as_str().to_string())))
            } else {
                Box::new(any.or(e::kind.like(p.like()).escape('\\')))
            };
        }
        q = q.filter(any);
    }
    if let Some(ids) = &selection.properties {
        q = q.filter(e::property_id.eq_any(ids.clone()));
    }
    let rows = q.limit(limit).load(conn)?;
    Ok((rows, window_end))
}

fn ordered_after<'a>(after: FeedKey, horizon: Option<i64>) -> e::BoxedQuery<'a, MultiBackend> {
    let mut q = e::table
        .filter(
            sql::<Bool>("(commit_order, position) > (")
                .bind::<BigInt, _>(after.commit_order)
                .sql(", ")
                .bind::<BigInt, _>(after.position)
                .sql(")"),
        )
        .order((e::commit_order, e::position))
        .into_boxed();
    if let Some(h) = horizon {
        q = q.filter(e::commit_order.lt(h));
    }
    q
}

/// The key of the newest event (a new webhook endpoint starts after it).
pub fn head(conn: &mut DbConnection) -> Result<FeedKey, ApiError> {
    let last: Option<(i64, i64)> = e::table
        .order((e::commit_order.desc(), e::position.desc()))
        .select((e::commit_order, e::position))
        .first(conn)
        .optional()?;
    Ok(last
        .map(|(commit_order, position)| FeedKey { commit_order, position })
        .unwrap_or_default())
}

/// Events that occurred in `[since, until)`, oldest first, from `after_id` on (by id), at most
/// `limit` (the window of a recovery).
pub fn occurred_between(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    until: NaiveDateTime,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<EventRow>, ApiError> {
    let mut q = e::table
        .filter(e::occurred_at.ge(since).and(e::occurred_at.lt(until)))
        .order((e::occurred_at, e::id))
        .select(EventRow::as_select())
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(e::occurred_at.gt(at).or(e::occurred_at.eq(at).and(e::id.gt(id))));
    }
    Ok(q.load(conn)?)
}

/// The events of these ids that are still kept (one query).
pub fn find_many(conn: &mut DbConnection, ids: &[&str]) -> Result<Vec<EventRow>, ApiError> {
    Ok(e::table
        .filter(e::id.eq_any(ids))
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Deletes up to `batch` events that occurred before `cutoff`; how many.
pub fn prune(conn: &mut DbConnection, cutoff: NaiveDateTime, batch: i64) -> Result<usize, ApiError> {
    let old = e::table.filter(e::occurred_at.lt(cutoff)).select(e::id).limit(batch);
    let ids: Vec<String> = old.load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(e::table.filter(e::id.eq_any(ids))).execute(conn)?)
}

pub fn retention_days(conn: &mut DbConnection) -> Result<i64, ApiError> {
    let v: Option<String> = st::table
        .find("retention_days")
        .select(st::value)
        .first(conn)
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(90))
}

pub fn set_retention_days(conn: &mut DbConnection, days: i64) -> Result<(), ApiError> {
    let n = diesel::update(st::table.find("retention_days"))
        .set(st::value.eq(days.to_string()))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(st::table)
            .values((st::name.eq("retention_days"), st::value.eq(days.to_string())))
            .execute(conn)?;
    }
    Ok(())
}
