//! Persistence: the two-backend connection, the pool, migrations and the table definitions.

pub mod applied;
pub mod dialect;
pub mod event_types;
pub mod group_commit;
pub mod local;
pub mod memo;
pub mod outbox;
mod pool;
pub mod schema;
mod tx;

pub use pool::{
    build_bookkeeping_pool, build_pool, build_writer_pool, checkout, with_conn, Conn, ConnectionManager, Pool,
    PooledConn, SessionLimits, CHECKOUT_STATS,
};
pub(crate) use tx::lock_row;
pub use tx::{enclosing_tx, gated, read_tx, savepoint, write_tx};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

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
