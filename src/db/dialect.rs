//! SQL that differs between the backends, in one place.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel::sql_types::{Bool, Text};

use super::schema::customers;
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

/// The aggregate's next event sequence number: one upsert that creates its counter at 1 or
/// increments it, holding the counter row's lock until the transaction ends (diesel's
/// multi-backend connection has no upsert, so each backend runs its own).
pub fn next_event_sequence(conn: &mut DbConnection, aggregate_type: &str, aggregate_id: &str) -> Result<i64, ApiError> {
    use super::schema::event_sequences as es;
    macro_rules! bump {
        ($c:expr) => {
            diesel::insert_into(es::table)
                .values((
                    es::aggregate_type.eq(aggregate_type),
                    es::aggregate_id.eq(aggregate_id),
                    es::last_sequence.eq(1i64),
                ))
                .on_conflict((es::aggregate_type, es::aggregate_id))
                .do_update()
                .set(es::last_sequence.eq(es::last_sequence + 1i64))
                .returning(es::last_sequence)
                .get_result($c)
        };
    }
    Ok(match conn {
        DbConnection::Pg(c) => bump!(c),
        DbConnection::Sqlite(c) => bump!(c),
    }?)
}

/// Whether one server process owns the whole database: SQLite's embedded file, served by one
/// instance; PostgreSQL may be shared by several instances, so each owns only what it claimed.
pub fn is_embedded(conn: &DbConnection) -> bool {
    matches!(conn.backend(), Backend::Sqlite)
}

/// A condition on `customers` over both backends.
pub type CustomerCondition = Box<dyn BoxableExpression<customers::table, MultiBackend, SqlType = Bool>>;

/// Guests whose search text (names, email, phone digits) contains `text`, through the backend's
/// substring index: `pattern` is `%text%` with LIKE's wildcards escaped by backslash.
/// PostgreSQL: the pg_trgm GIN index serves the LIKE (backslash is its default escape). SQLite:
/// the FTS5 trigram table narrows the candidates (its LIKE has no ESCAPE, so it is a superset)
/// and the escaped LIKE on the row finishes the job.
pub fn customer_text_hit(backend: Backend, text: &str, pattern: &str) -> CustomerCondition {
    match backend {
        Backend::Postgres => Box::new(customers::search_text.like(pattern.to_string())),
        Backend::Sqlite => {
            let fts = diesel::dsl::sql::<Bool>(
                "customers.rowid IN (SELECT rowid FROM customers_fts WHERE customers_fts.search_text LIKE ",
            )
            .bind::<Text, _>(format!("%{text}%"))
            .sql(")");
            Box::new(fts.and(customers::search_text.like(pattern.to_string()).escape('\\')))
        }
    }
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
