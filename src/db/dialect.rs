//! SQL that differs between the backends, in one place.

use diesel::result::{DatabaseErrorKind, Error};
use diesel::Connection;

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

/// Whether one server process owns the whole database: SQLite's embedded file, served by one
/// instance; PostgreSQL may be shared by several instances, so each owns only what it claimed.
pub fn is_embedded(conn: &DbConnection) -> bool {
    matches!(conn.backend(), Backend::Sqlite)
}
