//! Typed configuration from the environment (and an optional `.env`). Secrets are never logged.

use std::path::{Path, PathBuf};

use crate::db::{DbTarget, SessionLimits};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/concierge.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

#[derive(Clone)]
pub struct Config {
    pub database: DbTarget,
    pub bind: String,
    pub jwt_secret: Vec<u8>,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub encryption_key: [u8; 32],
    /// Access-token lifetime in seconds (15 min).
    pub access_ttl_secs: i64,
    /// Refresh-token lifetime in seconds (30 days).
    pub refresh_ttl_secs: i64,
    pub pool_size: Option<u32>,
    /// Maximum JSON body in bytes.
    pub json_limit: usize,
    /// Requests per authenticated caller (user or API key) per minute, per instance.
    pub rate_limit_per_minute: u32,
    /// PostgreSQL `statement_timeout` / `lock_timeout` of every session.
    pub db_limits: SessionLimits,
    /// The longest a client may take to send a request body (408 after it).
    pub body_timeout_secs: u64,
    /// Who this instance is in Idempotency-Key records (`CONCIERGE_INSTANCE_ID`, default host
    /// name and bind address): at start an instance frees the keys its previous run left
    /// unanswered and provably uncommitted.
    pub instance_id: String,
    /// How long an authenticated credential is remembered (`server::auth_cache`), in ms:
    /// the bound on how late another instance sees a deactivation or revocation.
    pub auth_cache_ms: u64,
    /// Whether `serve` applies bulk imports in the background (`CONCIERGE_IMPORT_WORKER`, on;
    /// `0` leaves them to other instances or `concierge run-jobs`).
    pub import_worker: bool,
    /// How often `serve`'s webhook dispatcher looks for work, in ms (`CONCIERGE_WEBHOOK_POLL_MS`,
    /// 1000; `0` = no dispatcher in this process: another instance or `concierge run-jobs`).
    pub webhook_poll_ms: u64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database.describe())
            .field("bind", &self.bind)
            .field("admin_email", &self.admin_email.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let url = env("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let database = DbTarget::parse(&url)?;
        let secrets_dir = match &database {
            DbTarget::Sqlite(path) => Path::new(path)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| ".".into()),
            DbTarget::Postgres(_) => PathBuf::from("./data"),
        };
        let jwt_secret = match env("CONCIERGE_JWT_SECRET") {
            Some(s) if s.len() >= 32 => s.into_bytes(),
            Some(_) => return Err("CONCIERGE_JWT_SECRET must be at least 32 characters".into()),
            None => {
                let hex = generated_secret(&secrets_dir.join("jwt.secret"), "CONCIERGE_JWT_SECRET")?;
                hex.into_bytes()
            }
        };
        let key_hex = match env("CONCIERGE_ENCRYPTION_KEY") {
            Some(k) => k,
            None => generated_secret(&secrets_dir.join("encryption.key"), "CONCIERGE_ENCRYPTION_KEY")?,
        };
        let encryption_key = parse_key(&key_hex)?;
        let (pool_size, rate_limit_per_minute) = (pool_size_from_env()?, rate_limit_from_env()?);
        let db_limits = SessionLimits {
            statement_timeout_ms: millis(
                "CONCIERGE_DB_STATEMENT_TIMEOUT_MS",
                SessionLimits::DEFAULT.statement_timeout_ms,
            )?,
            lock_timeout_ms: millis("CONCIERGE_DB_LOCK_TIMEOUT_MS", SessionLimits::DEFAULT.lock_timeout_ms)?,
        };
        let body_timeout_secs = number(
            "CONCIERGE_BODY_TIMEOUT_SECS",
            1..=600,
            30,
            "CONCIERGE_BODY_TIMEOUT_SECS must be a number of seconds from 1 to 600",
        )?;
        let auth_cache_ms = number(
            "CONCIERGE_AUTH_CACHE_MS",
            0..=5000,
            1000,
            "CONCIERGE_AUTH_CACHE_MS must be a number of milliseconds from 0 to 5000",
        )?;
        let bind = env("CONCIERGE_BIND").unwrap_or_else(|| DEFAULT_BIND.to_string());
        let instance_id = env("CONCIERGE_INSTANCE_ID").unwrap_or_else(|| format!("{}@{bind}", host_name()));
        let import_worker = number(
            "CONCIERGE_IMPORT_WORKER",
            0..=1,
            1,
            "CONCIERGE_IMPORT_WORKER must be 0 or 1",
        )? == 1;
        let webhook_poll_ms = number(
            "CONCIERGE_WEBHOOK_POLL_MS",
            0..=60_000,
            1000,
            "CONCIERGE_WEBHOOK_POLL_MS must be a number of milliseconds from 0 to 60000",
        )?;
        Ok(Config {
            import_worker,
            webhook_poll_ms,
            db_limits,
            body_timeout_secs,
            instance_id,
            auth_cache_ms,
            rate_limit_per_minute,
            database,
            bind,
            jwt_secret,
            admin_email: env("CONCIERGE_ADMIN_EMAIL"),
            admin_password: env("CONCIERGE_ADMIN_PASSWORD"),
            encryption_key,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            pool_size,
            json_limit: crate::server::body_limits::DEFAULT_BODY_LIMIT,
        })
    }

    /// A configuration for tests and tools: explicit database, fixed secrets.
    pub fn for_database(database: DbTarget) -> Self {
        Config {
            database,
            bind: "127.0.0.1:0".into(),
            jwt_secret: b"test-secret-test-secret-test-secret!!".to_vec(),
            admin_email: None,
            admin_password: None,
            encryption_key: [7u8; 32],
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            pool_size: None,
            json_limit: crate::server::body_limits::DEFAULT_BODY_LIMIT,
            rate_limit_per_minute: 6000,
            db_limits: SessionLimits::DEFAULT,
            body_timeout_secs: 30,
            instance_id: format!("test-{}", uuid::Uuid::now_v7().simple()),
            auth_cache_ms: 1000,
            import_worker: true,
            // Tests run the dispatcher themselves, with their own clock.
            webhook_poll_ms: 0,
        }
    }
}

/// A whole number from the environment within `range`, `default` when unset.
/// `CONCIERGE_POOL_SIZE`: 1 to 64, or the per-backend default.
fn pool_size_from_env() -> Result<Option<u32>, String> {
    Ok(match env("CONCIERGE_POOL_SIZE") {
        Some(v) => Some(
            v.parse::<u32>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or("CONCIERGE_POOL_SIZE must be a number from 1 to 64")?,
        ),
        None => None,
    })
}

/// `CONCIERGE_RATE_LIMIT_PER_MINUTE`: a positive number, 6000 by default.
fn rate_limit_from_env() -> Result<u32, String> {
    Ok(match env("CONCIERGE_RATE_LIMIT_PER_MINUTE") {
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or("CONCIERGE_RATE_LIMIT_PER_MINUTE must be a positive number")?,
        None => 6000,
    })
}

fn number(name: &str, range: std::ops::RangeInclusive<u64>, default: u64, problem: &str) -> Result<u64, String> {
    match env(name) {
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| problem.to_string()),
        None => Ok(default),
    }
}

/// A timeout in milliseconds from the environment: 100 ms to 50 s (below the Idempotency-Key
/// lease, so a key is never taken over while its first request may still run).
fn millis(name: &str, default: u64) -> Result<u64, String> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (100..=50_000).contains(n))
            .ok_or_else(|| format!("{name} must be a number of milliseconds from 100 to 50000")),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_key(hex_key: &str) -> Result<[u8; 32], String> {
    let bytes =
        hex::decode(hex_key.trim()).map_err(|_| "CONCIERGE_ENCRYPTION_KEY must be 64 hex characters".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "CONCIERGE_ENCRYPTION_KEY must be 64 hex characters (32 bytes)".to_string())
}

/// Reads a development secret from `path`, creating it (random, 0600) on first start.
fn generated_secret(path: &Path, var: &str) -> Result<String, String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        log::warn!("{var} is not set: using the generated secret in {}", path.display());
        return Ok(existing.trim().to_string());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let secret = crate::auth::random_hex(32);
    write_private(path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    log::warn!(
        "{var} is not set: generated a new secret in {} (set {var} in production)",
        path.display()
    );
    Ok(secret)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())
}
