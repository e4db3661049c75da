//! Persistence: the two-backend connection, the pool, migrations and the table definitions.

pub mod applied;
mod pool;
pub mod schema;

pub use pool::{
    build_bookkeeping_pool, build_pool, checkout, with_conn, Conn, ConnectionManager, Pool, PooledConn, SessionLimits,
};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection type over both backends; the variant is picked from the URL scheme.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database lives, parsed from `DATABASE_URL`.
#[derive(Debug, Clone)]
pub enum DbTarget {
    /// A SQLite file path.
    Sqlite(String),
    /// A libpq URL (`postgres://…`).
    Postgres(String),
}

impl DbTarget {
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbTarget::Postgres(url.to_string()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(DbTarget::Sqlite(path.to_string()))
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            Ok(DbTarget::Sqlite(path.to_string()))
        } else if url.contains("://") {
            Err(format!(
                "unsupported DATABASE_URL scheme in {:?}: use postgres://… or sqlite://<path>",
                url.split("://").next().unwrap_or_default()
            ))
        } else {
            Ok(DbTarget::Sqlite(url.to_string()))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbTarget::Sqlite(_) => Backend::Sqlite,
            DbTarget::Postgres(_) => Backend::Postgres,
        }
    }

    /// A description safe to log (no password).
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => format!("sqlite file {p}"),
            DbTarget::Postgres(u) => {
                let host = u.rsplit('@').next().unwrap_or(u);
                format!("postgresql {}", host.split('?').next().unwrap_or(host))
            }
        }
    }
}

pub fn establish(target: &DbTarget) -> Result<DbConnection, ConnectionError> {
    match target {
        DbTarget::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path)?;
            // busy_timeout first so the following pragmas wait instead of failing.
            // synchronous=FULL: the ledger and the audit log must survive power loss; SQLite is
            // the single-instance deployment, so durability beats the ~2x write rate of NORMAL.
            conn.batch_execute(
                "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
            Ok(DbConnection::Sqlite(conn))
        }
        DbTarget::Postgres(url) => Ok(DbConnection::Pg(diesel::PgConnection::establish(url)?)),
    }
}

/// Applies pending migrations on a dedicated connection; returns how many ran.
pub fn run_migrations(target: &DbTarget) -> Result<usize, String> {
    if let DbTarget::Sqlite(path) = target {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
        }
    }
    let describe = |e: Box<dyn std::error::Error + Send + Sync>| format!("migration failed: {e}");
    match establish(target).map_err(|e| format!("cannot connect to {}: {e}", target.describe()))? {
        DbConnection::Sqlite(mut c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.len())
            .map_err(describe),
        DbConnection::Pg(mut c) => c
            .run_pending_migrations(PG_MIGRATIONS)
            .map(|v| v.len())
            .map_err(describe),
    }
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Sqlite(_) => Backend::Sqlite,
            DbConnection::Pg(_) => Backend::Postgres,
        }
    }
}

/// Runs one use case in one write transaction. SQLite needs `BEGIN IMMEDIATE` (a deferred
/// transaction that reads and then writes fails with "database is locked" under concurrency);
/// PostgreSQL uses diesel's ordinary transaction.
pub fn write_tx<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    // First statement of every write: a keyed request's marker (exactly once, `idempotency`).
    let f = |c: &mut DbConnection| {
        applied::mark_applied(c)?;
        f(c)
    };
    match conn.backend() {
        Backend::Postgres => conn.transaction(f),
        Backend::Sqlite => {
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
        }
    }
}

/// Read-only use cases. On SQLite a deferred transaction gives the few queries one snapshot
/// (and costs nothing: it is in-process). On PostgreSQL, READ COMMITTED gives each statement
/// its own snapshot even inside a transaction, so BEGIN/COMMIT would only add two round trips
/// (measured: 8 → 6 round trips per guest read); reads run as plain statements there.
pub fn read_tx<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    match conn.backend() {
        Backend::Sqlite => conn.transaction(f),
        Backend::Postgres => f(conn),
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
