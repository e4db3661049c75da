//! Transactions: one use case, one transaction, on both backends.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use std::cell::Cell;

use super::{applied, Backend, DbConnection};
use crate::platform::error::ApiError;

thread_local! {
    /// Set while a use case runs inside a transaction its runner opened (`enclosing_tx`).
    static ENCLOSED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` — a use case that opens its own transaction — inside one transaction opened here,
/// so that `then` writes in the same commit (a keyed request's stored answer). The use case's
/// `write_tx` and `read_tx` join this transaction instead of opening their own; it must be a
/// use case of one transaction.
pub fn enclosing_tx<T, U, F, G>(conn: &mut DbConnection, f: F, then: G) -> Result<U, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    G: FnOnce(&mut DbConnection, T) -> Result<U, ApiError>,
{
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ENCLOSED.with(|e| e.set(false));
        }
    }
    write_tx(conn, |conn| {
        let value = {
            ENCLOSED.with(|e| e.set(true));
            let _reset = Reset;
            f(conn)?
        };
        then(conn, value)
    })
}

/// Runs one use case in one write transaction. SQLite needs `BEGIN IMMEDIATE` (a deferred
/// transaction that reads and then writes fails with "database is locked" under concurrency);
/// PostgreSQL uses diesel's ordinary transaction.
pub fn write_tx<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    if ENCLOSED.with(|e| e.get()) {
        return f(conn);
    }
    // First statement of every write: a keyed request's marker (exactly once, `idempotency`).
    let f = |c: &mut DbConnection| {
        applied::mark_applied(c)?;
        f(c)
    };
    match conn.backend() {
        Backend::Postgres => conn.transaction(f),
        Backend::Sqlite => with_turn(|| {
            conn.batch_execute("BEGIN IMMEDIATE")?;
            let mut guard = SqliteTxGuard { conn, done: false };
            let out = f(guard.conn);
            match out {
                Ok(v) => {
                    guard.conn.batch_execute("COMMIT")?;
                    guard.done = true;
                    Ok(v)
                }
                Err(e) => Err(e), // the guard rolls back
            }
        }),
    }
}

/// Runs `f`, a few statements that write outside a transaction (bookkeeping), in SQLite's
/// writer turn (`db::local::WriterGate`), so that they too are served in arrival order; on
/// PostgreSQL as they are.
pub fn gated<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    match conn.backend() {
        Backend::Postgres => f(conn),
        Backend::Sqlite => with_turn(|| f(conn)),
    }
}

/// `f` in the database's writer turn, when the use case runs on a pooled connection.
fn with_turn<T>(f: impl FnOnce() -> Result<T, ApiError>) -> Result<T, ApiError> {
    let Some(local) = super::local::current() else {
        return f();
    };
    let Some(_turn) = local.gate.enter(local.wait()) else {
        return Err(ApiError::Unavailable("the database is busy; retry shortly".into()));
    };
    f()
}

/// Read-only use cases. On SQLite a deferred transaction gives the few queries one snapshot
/// (and costs nothing: it is in-process). On PostgreSQL, READ COMMITTED gives each statement
/// its own snapshot even inside a transaction, so BEGIN/COMMIT would only add two round trips
/// (measured: 8 → 6 round trips per guest read); reads run as plain statements there.
pub fn read_tx<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    if ENCLOSED.with(|e| e.get()) {
        return f(conn);
    }
    match conn.backend() {
        Backend::Sqlite => conn.transaction(f),
        Backend::Postgres => f(conn),
    }
}

/// Runs `f` inside the caller's write transaction so that its failure undoes only its own
/// writes (one bad line of a bulk import): a savepoint. On PostgreSQL diesel's nested
/// transaction (it also clears the aborted state); on SQLite, whose write transaction diesel
/// does not see (`BEGIN IMMEDIATE`), plain SQL.
pub fn savepoint<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    match conn.backend() {
        Backend::Postgres => conn.transaction(f),
        Backend::Sqlite => {
            conn.batch_execute("SAVEPOINT one_item")?;
            match f(conn) {
                Ok(v) => {
                    conn.batch_execute("RELEASE SAVEPOINT one_item")?;
                    Ok(v)
                }
                Err(e) => {
                    conn.batch_execute("ROLLBACK TO SAVEPOINT one_item; RELEASE SAVEPOINT one_item")?;
                    Err(e)
                }
            }
        }
    }
}

struct SqliteTxGuard<'a> {
    conn: &'a mut DbConnection,
    done: bool,
}

impl Drop for SqliteTxGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.conn.batch_execute("ROLLBACK") {
                log::error!("sqlite rollback failed: {e}");
            }
        }
    }
}

/// Takes one row's lock for the rest of the caller's write transaction, so that concurrent
/// changes of that record run one after the other, each on the state the other left: on
/// PostgreSQL a no-op update (it locks like `SELECT … FOR UPDATE` and works through the
/// two-backend connection); on SQLite the write transaction already holds the database, and the
/// update is as cheap. `column` is any column of the table (set to itself). `Ok(true)` when the
/// row exists.
macro_rules! lock_row {
    ($conn:expr, $table:expr, $column:expr, $id:expr) => {{
        use diesel::prelude::*;
        diesel::update($table.find($id))
            .set($column.eq($column))
            .execute($conn)
            .map(|n| n > 0)
            .map_err($crate::platform::error::ApiError::from)
    }};
}
pub(crate) use lock_row;
