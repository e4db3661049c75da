//! SQL that differs between the backends, in one place.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel::sql_types::{BigInt, Bool, Text};

use super::schema::{customer_tags, customers};
use super::MultiBackend;

use super::{Backend, DbConnection};
use crate::platform::error::ApiError;

/// Runs `insert` inside the caller's write transaction; a unique violation means a concurrent
/// writer got there first and is not an error: `Ok(false)`. On PostgreSQL the insert runs in a
/// savepoint, so losing that race leaves the caller's transaction usable; SQLite's write
/// transaction holds the database lock, so there is no race to lose.
pub fn insert_or_skip<F>(conn: &mut DbConnection, insert: F) -> Result<bool, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<usize, Error>,
{
    let inserted = match conn.backend() {
        Backend::Postgres => conn.transaction(insert),
        Backend::Sqlite => insert(conn),
    };
    match inserted {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The aggregate's next event sequence number and the event's `commit_order` (its place in the
/// feed, SPEC §8): one upsert that creates the aggregate's counter at 1 or increments it, holding
/// the counter row's lock until the transaction ends.
///
/// On PostgreSQL `commit_order` is this transaction's id, raised to the aggregate's previous
/// event's when that is higher: a transaction that got its id before another but locked the
/// aggregate after it still sorts its event after the other's, so the feed keeps each
/// aggregate's events in sequence order. Never below the transaction's own id, so an event is
/// never served before its transaction ended (`feed_horizon`). SQLite has one writer: 0, and the
/// insert position alone is commit order.
pub fn next_event_sequence(
    conn: &mut DbConnection,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<(i64, i64), ApiError> {
    use super::schema::event_sequences as es;
    match conn {
        DbConnection::Pg(c) => {
            #[derive(QueryableByName)]
            struct Next {
                #[diesel(sql_type = BigInt)]
                last_sequence: i64,
                #[diesel(sql_type = BigInt)]
                last_commit_order: i64,
            }
            let next: Next = diesel::sql_query(
                "INSERT INTO event_sequences (aggregate_type, aggregate_id, last_sequence, last_commit_order) \
                 VALUES ($1, $2, 1, pg_current_xact_id()::text::bigint) \
                 ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET \
                 last_sequence = event_sequences.last_sequence + 1, \
                 last_commit_order = GREATEST(event_sequences.last_commit_order, EXCLUDED.last_commit_order) \
                 RETURNING last_sequence, last_commit_order",
            )
            .bind::<Text, _>(aggregate_type)
            .bind::<Text, _>(aggregate_id)
            .get_result(c)?;
            Ok((next.last_sequence, next.last_commit_order))
        }
        DbConnection::Sqlite(c) => {
            let seq = diesel::insert_into(es::table)
                .values((
                    es::aggregate_type.eq(aggregate_type),
                    es::aggregate_id.eq(aggregate_id),
                    es::last_sequence.eq(1i64),
                ))
                .on_conflict((es::aggregate_type, es::aggregate_id))
                .do_update()
                .set(es::last_sequence.eq(es::last_sequence + 1i64))
                .returning(es::last_sequence)
                .get_result(c)?;
            Ok((seq, 0))
        }
    }
}

/// The `commit_order` of events of aggregates created in this transaction (no earlier event to
/// follow): the transaction's id on PostgreSQL, 0 on SQLite (see `next_event_sequence`).
pub fn tx_commit_order(conn: &mut DbConnection) -> Result<i64, ApiError> {
    match conn {
        DbConnection::Pg(c) => {
            Ok(diesel::select(diesel::dsl::sql::<BigInt>("pg_current_xact_id()::text::bigint")).get_result(c)?)
        }
        DbConnection::Sqlite(_) => Ok(0),
    }
}

/// The feed's horizon: events whose `commit_order` is below it belong to transactions that
/// have all ended, so none can still appear before them. PostgreSQL: the oldest transaction id
/// still in flight (`pg_snapshot_xmin`); SQLite: `None`, every committed event (one writer, and
/// positions are given in commit order).
pub fn feed_horizon(conn: &mut DbConnection) -> Result<Option<i64>, ApiError> {
    match conn {
        DbConnection::Pg(c) => Ok(Some(
            diesel::select(diesel::dsl::sql::<BigInt>(
                "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            ))
            .get_result(c)?,
        )),
        DbConnection::Sqlite(_) => Ok(None),
    }
}

/// Loads rows a caller is about to claim, as several instances may at once: on PostgreSQL rows
/// another instance's open claim holds are skipped (`FOR UPDATE SKIP LOCKED`), so instances
/// never wait on nor take each other's work; SQLite's write transaction runs alone.
macro_rules! load_skip_locked {
    ($conn:expr, $query:expr, $ty:ty) => {{
        use diesel::prelude::*;
        match $conn {
            $crate::db::DbConnection::Pg(c) => $query.for_update().skip_locked().load::<$ty>(c),
            $crate::db::DbConnection::Sqlite(c) => $query.load::<$ty>(c),
        }
    }};
}
pub(crate) use load_skip_locked;

/// Whether one server process owns the whole database: SQLite's embedded file, served by one
/// instance; PostgreSQL may be shared by several instances, so each owns only what it claimed.
pub fn is_embedded(conn: &DbConnection) -> bool {
    matches!(conn.backend(), Backend::Sqlite)
}

/// How the guests whose search text (names, email, phone digits) contains a `q` are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextPlan {
    /// PostgreSQL: the LIKE through the pg_trgm GIN index; the planner weighs it against the
    /// other filters' indexes (its estimates are kept fresh by `ANALYZE`).
    Index,
    /// SQLite, a rare substring: the ids of every match, found through the FTS5 trigram table
    /// (at most `FEW_MATCHES`), so the page is sorted out of them.
    Candidates(Vec<String>),
    /// SQLite, a common substring (more than `FEW_MATCHES` guests, or under three characters,
    /// which the trigram table cannot serve): the rows are walked in id order and the first
    /// matches fill the page. Reading every match to sort them would cost more.
    Walk,
}

/// Above this many matches, walking guests in id order finds a page sooner than sorting every
/// match: with 1,000 matches in 1,000,000 guests a page of 20 is found in the first 2 %.
pub const FEW_MATCHES: i64 = 1_000;

/// The plan for `text` (lower case, wildcards not escaped): on SQLite one FTS5 probe, which
/// stops at `FEW_MATCHES + 1` hits (the trigram LIKE has no ESCAPE, so its hits are a superset
/// that `customer_text_hit` narrows).
pub fn text_plan(conn: &mut DbConnection, text: &str) -> Result<TextPlan, Error> {
    if conn.backend() == Backend::Postgres {
        return Ok(TextPlan::Index);
    }
    if text.chars().count() < 3 {
        return Ok(TextPlan::Walk);
    }
    let probe = diesel::dsl::sql::<Bool>(
        "customers.rowid IN (SELECT rowid FROM customers_fts WHERE customers_fts.search_text LIKE ",
    )
    .bind::<Text, _>(format!("%{text}%"))
    .sql(&format!(" LIMIT {})", FEW_MATCHES + 1));
    let ids: Vec<String> = customers::table.filter(probe).select(customers::id).load(conn)?;
    Ok(if ids.len() as i64 > FEW_MATCHES {
        TextPlan::Walk
    } else {
        TextPlan::Candidates(ids)
    })
}

/// A condition on `customers` over both backends.
pub type CustomerCondition = Box<dyn BoxableExpression<customers::table, MultiBackend, SqlType = Bool>>;

/// Guests whose search text contains the text of `pattern` (`%text%` with LIKE's wildcards
/// escaped by backslash, PostgreSQL's default escape), as `plan` finds them.
pub fn customer_text_hit(plan: &TextPlan, pattern: &str) -> CustomerCondition {
    let like = customers::search_text.like(pattern.to_string());
    match plan {
        TextPlan::Index => Box::new(like),
        TextPlan::Candidates(ids) => Box::new(customers::id.eq_any(ids.clone()).and(like.escape('\\'))),
        TextPlan::Walk => Box::new(like.escape('\\')),
    }
}

/// Makes PostgreSQL plan every statement of the caller's transaction with its own values
/// (`SET LOCAL plan_cache_mode = force_custom_plan`), for transactions whose lookups meet a
/// table that has grown since their prepared statements were first planned: after five runs a
/// prepared statement may keep a generic plan chosen for the small table (an index on the first
/// key column only, then a filter over every row). SQLite plans each statement anew anyway.
pub fn plan_each_statement_in_tx(conn: &mut DbConnection) -> Result<(), Error> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan").execute(c)?;
    }
    Ok(())
}

/// Guests who carry `tag`. PostgreSQL: as a set (its planner merges the tag's index with the
/// others). SQLite: a check per guest: what drives its search is the text, a contact or the
/// tag's guests in id order (`tag_drives_search`), never every guest of a common tag.
pub fn customer_has_tag(backend: Backend, tag: &str) -> CustomerCondition {
    match backend {
        Backend::Postgres => Box::new(
            customers::id.eq_any(
                customer_tags::table
                    .filter(customer_tags::tag.eq(tag.to_string()))
                    .select(customer_tags::customer_id),
            ),
        ),
        Backend::Sqlite => Box::new(
            diesel::dsl::sql::<Bool>(
                "EXISTS (SELECT 1 FROM customer_tags WHERE customer_tags.customer_id = customers.id \
                 AND customer_tags.tag = ",
            )
            .bind::<Text, _>(tag.to_string())
            .sql(")"),
        ),
    }
}

/// Whether a tag's guests, read in id order, drive a guest search that no rarer filter drives:
/// SQLite's planner would read all of a common tag's guests and sort them.
pub fn tag_drives_search(backend: Backend) -> bool {
    backend == Backend::Sqlite
}

/// Runs a statement that diesel's multi-backend connection cannot express (an upsert such as
/// `ON CONFLICT DO NOTHING`) on the backend's own connection; the rows it changed.
pub fn execute<Q>(conn: &mut DbConnection, q: Q) -> Result<usize, Error>
where
    Q: diesel::query_dsl::methods::ExecuteDsl<diesel::PgConnection>
        + diesel::query_dsl::methods::ExecuteDsl<diesel::SqliteConnection>,
{
    match conn {
        DbConnection::Pg(c) => diesel::query_dsl::methods::ExecuteDsl::execute(q, c),
        DbConnection::Sqlite(c) => diesel::query_dsl::methods::ExecuteDsl::execute(q, c),
    }
}

/// Like `execute`, for a statement with `RETURNING`: the returned rows (an `UPDATE … RETURNING`
/// that both changes and reads a row in one round trip).
pub fn load_returning<'q, Q, U>(conn: &mut DbConnection, q: Q) -> Result<Vec<U>, Error>
where
    Q: diesel::query_dsl::LoadQuery<'q, diesel::PgConnection, U>
        + diesel::query_dsl::LoadQuery<'q, diesel::SqliteConnection, U>,
{
    match conn {
        DbConnection::Pg(c) => q.load(c),
        DbConnection::Sqlite(c) => q.load(c),
    }
}

/// Makes the rest of the caller's write transaction run alone among the transactions that
/// name the same `key` (a limit counted over rows a concurrent transaction could add, such as
/// "at most 3 open imports per caller"). PostgreSQL: a transaction-scoped advisory lock;
/// SQLite's write transaction already runs alone.
pub fn serialize_on(conn: &mut DbConnection, key: &str) -> Result<(), ApiError> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<Text, _>(key)
            .execute(c)?;
    }
    Ok(())
}

/// How many items one write transaction of a long batch (a bulk import's chunk) may apply: on
/// SQLite every other writer waits for it (`local::WriterGate`), so its transactions stay short;
/// PostgreSQL writers only wait for the rows they share.
pub fn batch_per_write(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 100,
        Backend::Postgres => 500,
    }
}
