//! The connection pool: a manager that opens either backend with its session settings, and keeps
//! connections the database has dropped out of the pool.
//!
//! r2d2 never drops a dead connection by itself. Here a connection is reported broken when a use
//! case on it failed with a database-unavailable error and a `SELECT 1` on it fails too; the pool
//! then discards it on return. After any broken connection, check-outs ping first for a short
//! while, so the other idle connections a database restart killed are replaced before a request
//! uses them: requests see 503 only while the database is really away.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};

use super::local::Local;
use super::{establish, Backend, DbConnection, DbTarget};
use crate::platform::error::ApiError;

/// Per-session limits, so one slow statement or one held row lock fails its own request (503)
/// instead of parking every pooled connection (on SQLite the lock wait bounds `busy_timeout`). Both stay well below the
/// Idempotency-Key lease, so a request never outlives the key it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// `statement_timeout`: the longest one statement may run.
    pub statement_timeout_ms: u64,
    /// `lock_timeout`: the longest one statement may wait for a row or table lock.
    pub lock_timeout_ms: u64,
}

impl SessionLimits {
    pub const DEFAULT: SessionLimits = SessionLimits {
        statement_timeout_ms: 10_000,
        lock_timeout_ms: 2_000,
    };

    fn sql(&self, synchronous_commit_off: bool) -> String {
        // A transaction left open by a stuck caller must not hold its locks for ever.
        let idle_in_tx = (self.statement_timeout_ms * 3).max(10_000);
        let mut sql = format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; \
             SET idle_in_transaction_session_timeout = {idle_in_tx};",
            self.statement_timeout_ms, self.lock_timeout_ms
        );
        if synchronous_commit_off {
            sql.push_str(" SET synchronous_commit = off;");
        }
        // The planner's default assumes spinning disks: a random page read costs 4 sequential
        // ones, so at 1,000,000 guests it sorted thousands of trigram matches rather than walk the
        // primary key (guest search p95 22 → 8 ms). 1.1 is the usual figure for SSDs and for data
        // in memory.
        sql.push_str(" SET random_page_cost = 1.1;");
        sql
    }
}

/// A pooled connection and whether it was found dead (then the pool discards it).
pub struct Conn {
    conn: DbConnection,
    broken: bool,
    /// The database's process-wide state (`db::local`).
    local: Arc<Local>,
}

impl Deref for Conn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl Conn {
    /// After a use case failed as unavailable: is the connection itself gone? (A lock or
    /// statement timeout leaves it healthy; a dropped session does not answer `SELECT 1`.)
    pub fn check_after_failure(&mut self) {
        if self.broken {
            return;
        }
        if self.conn.batch_execute("SELECT 1").is_err() {
            self.mark_broken();
        }
    }

    fn mark_broken(&mut self) {
        self.broken = true;
        BROKEN_SEEN_AT.store(now_ms(), Ordering::Relaxed);
        log::warn!("database connection lost: discarding it from the pool");
    }
}

/// r2d2 manager that opens the right backend with its session settings. (Plain
/// `MultiConnection::establish` hides libpq's real error behind "Invalid connection url".)
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: DbTarget,
    /// Session settings run on each new PostgreSQL connection.
    pg_session: String,
    /// SQLite's wait for the writer lock: the same bound as PostgreSQL's lock wait.
    sqlite_session: String,
    /// The same bound for a turn at SQLite's writer gate (`db::local`).
    lock_wait: Duration,
}

impl ConnectionManager {
    /// A manager with the default session limits.
    pub fn new(target: DbTarget) -> Self {
        Self::with_limits(target, SessionLimits::DEFAULT, false)
    }

    pub fn with_limits(target: DbTarget, limits: SessionLimits, synchronous_commit_off: bool) -> Self {
        Self {
            target,
            pg_session: limits.sql(synchronous_commit_off),
            sqlite_session: format!("PRAGMA busy_timeout = {};", limits.lock_timeout_ms),
            lock_wait: Duration::from_millis(limits.lock_timeout_ms),
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = Conn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Conn, r2d2::Error> {
        let mut conn = establish(&self.target).map_err(r2d2::Error::ConnectionError)?;
        let session = match conn.backend() {
            Backend::Postgres => &self.pg_session,
            Backend::Sqlite => &self.sqlite_session,
        };
        conn.batch_execute(session).map_err(r2d2::Error::QueryError)?;
        let name = match &self.target {
            DbTarget::Sqlite(path) => path,
            DbTarget::Postgres(url) => url,
        };
        Ok(Conn {
            conn,
            broken: false,
            local: Local::of(name, self.lock_wait),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        conn.conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        // Also a transaction manager left mid-transaction by a failed rollback.
        conn.broken || conn.conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// When (unix ms) a connection was last found dead; 0 = never.
static BROKEN_SEEN_AT: AtomicI64 = AtomicI64::new(0);
/// How long after a dead connection check-outs ping before use.
const SUSPECT_MS: i64 = 30_000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn suspect() -> bool {
    let seen = BROKEN_SEEN_AT.load(Ordering::Relaxed);
    seen != 0 && now_ms() - seen < SUSPECT_MS
}

/// A connection from the pool, known to be alive if the database dropped connections lately.
/// The pool's check-out timeout (≈1 s) answers 503.
pub fn checkout(pool: &Pool) -> Result<PooledConn, ApiError> {
    // One deadline for the whole check-out, however many dead connections it meets.
    let started = std::time::Instant::now();
    let deadline = started + pool.connection_timeout();
    for _ in 0..=pool.max_size() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let got = pool.get_timeout(left.max(Duration::from_millis(10)));
        CHECKOUT_STATS.record(started.elapsed(), got.is_ok());
        let mut conn = got?;
        if !suspect() || conn.conn.batch_execute("SELECT 1").is_ok() {
            return Ok(conn);
        }
        conn.mark_broken(); // dropped here: the pool discards it and opens a new one
    }
    Err(ApiError::Unavailable("no live database connection".into()))
}

/// Check-outs of every pool of the process, for `/metrics`.
#[derive(Default)]
pub struct CheckoutStats {
    pub checkouts: AtomicU64,
    /// Check-outs that found no idle connection and waited (over 1 ms).
    pub waits: AtomicU64,
    pub wait_micros: AtomicU64,
    /// Check-outs that gave up (503).
    pub timeouts: AtomicU64,
}

impl CheckoutStats {
    fn record(&self, waited: Duration, got: bool) {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
        if waited > Duration::from_millis(1) {
            self.waits.fetch_add(1, Ordering::Relaxed);
            self.wait_micros.fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
        }
        if !got {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub static CHECKOUT_STATS: CheckoutStats = CheckoutStats {
    checkouts: AtomicU64::new(0),
    waits: AtomicU64::new(0),
    wait_micros: AtomicU64::new(0),
    timeouts: AtomicU64::new(0),
};

/// Runs one use case on a checked-out connection; a database-unavailable failure checks the
/// connection so a dead one leaves the pool.
pub fn with_conn<T>(pool: &Pool, f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>) -> Result<T, ApiError> {
    let mut conn = checkout(pool)?;
    let local = conn.local.clone();
    let out = super::local::with_local(local, || f(&mut conn));
    if matches!(out, Err(ApiError::Unavailable(_))) {
        conn.check_after_failure();
    }
    out
}

/// Pool sizes measured on the 2-core machines (ENGINEERING.md §3): PostgreSQL ≈ 2× cores, at
/// least 8 so that a few requests waiting (at most `lock_timeout`) on one hot row leave room for
/// the rest; SQLite has one writer, a few readers are enough. A short check-out timeout turns
/// overload into a prompt 503 instead of a 30 s hang.
pub fn build_pool(target: &DbTarget, max_size: Option<u32>, limits: SessionLimits) -> Result<Pool, String> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(2);
    let size = max_size.unwrap_or(match target.backend() {
        Backend::Postgres => (cores * 2).clamp(8, 16),
        Backend::Sqlite => 4,
    });
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_millis(1000))
        .test_on_check_out(false)
        .build(ConnectionManager::with_limits(target.clone(), limits, false))
        .map_err(|e| format!("cannot open the database ({}): {e}", target.describe()))
}

/// One durable connection for the group-commit thread (`group_commit`): its commits never wait
/// for a main-pool connection that the requests waiting on them hold.
pub fn build_writer_pool(target: &DbTarget, limits: SessionLimits) -> Pool {
    r2d2::Pool::builder()
        .max_size(1)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_millis(1000))
        .test_on_check_out(false)
        .build_unchecked(ConnectionManager::with_limits(target.clone(), limits, false))
}

/// A small pool for bookkeeping whose loss in a database crash is harmless: Idempotency-Key
/// claims and lease renewals, and the readiness probe (so a main pool parked on a hot row does
/// not make an orchestrator kill a healthy instance). On PostgreSQL its connections commit
/// without waiting for the WAL flush (`synchronous_commit = off`: visible to others at once,
/// durable a fraction of a second later). A claim lost in a crash can only precede a business
/// transaction that was lost too (the WAL is flushed in order); stored answers, which a client
/// was told, go through the main pool and are durable. On SQLite (one writer, one file) it is
/// the main pool.
pub fn build_bookkeeping_pool(target: &DbTarget, main: &Pool, limits: SessionLimits) -> Pool {
    match target.backend() {
        Backend::Sqlite => main.clone(),
        Backend::Postgres => r2d2::Pool::builder()
            .max_size(main.max_size().min(8))
            .min_idle(Some(0))
            .connection_timeout(Duration::from_millis(1000))
            .test_on_check_out(false)
            .build_unchecked(ConnectionManager::with_limits(target.clone(), limits, true)),
    }
}
