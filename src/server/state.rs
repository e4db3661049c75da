//! Shared application state: pool, configuration, keys and limiters.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::auth::jwt::JwtKeys;
use crate::auth::rate_limit::RateLimiter;
use crate::db::group_commit::{GroupCommit, Write};
use crate::db::{Backend, DbConnection, Pool};
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::server::config::Config;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    /// Idempotency-Key records (`db::build_bookkeeping_pool`).
    pub bookkeeping: Pool,
    pub backend: Backend,
    pub config: Arc<Config>,
    pub jwt: Arc<JwtKeys>,
    pub cipher: Arc<Cipher>,
    /// Requests per authenticated caller per minute.
    pub rate_limiter: Arc<RateLimiter>,
    /// Login and registration attempts per account and per address per 15 minutes
    /// (`api::auth` holds the limits).
    pub login_limiter: Arc<RateLimiter>,
    /// Admission control of the main pool (`Admission`).
    pub admission: Arc<Admission>,
    /// Who credentials are, for a moment (`server::auth_cache`).
    pub auth_cache: Arc<crate::server::auth_cache::AuthCache>,
    /// Shared commits of the audit rows of reads (`db::group_commit`).
    pub group_commit: Arc<GroupCommit>,
    /// Wake-ups of this app's background workers (`server::workers`).
    pub workers: Arc<crate::server::workers::Workers>,
    /// Request, pool, job and commit figures for `/metrics`.
    pub metrics: Arc<crate::server::metrics::Metrics>,
}

/// Bounds the use cases waiting for or holding a main-pool connection: past the bound a request
/// answers 503 at once instead of queueing behind hundreds of others (under overload every
/// answer comes within the pool's 1 s check-out wait, never minutes later).
pub struct Admission {
    in_flight: AtomicUsize,
    limit: usize,
    /// Use cases refused for overload (for `/metrics`).
    pub refused: AtomicU64,
}

/// A place among the admitted use cases; given back when the use case ends (it travels into the
/// blocking task, which runs to its end even if the client goes away).
pub struct Admitted(Arc<Admission>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admission {
    /// Sixteen waiting use cases per connection, at least 64.
    pub fn for_pool(pool: &Pool) -> Self {
        Self::new((pool.max_size() as usize * 16).max(64))
    }

    pub fn new(limit: usize) -> Self {
        Admission {
            in_flight: AtomicUsize::new(0),
            limit,
            refused: AtomicU64::new(0),
        }
    }

    /// Use cases admitted and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn enter(self: &Arc<Self>) -> Result<Admitted, ApiError> {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::Unavailable(
                "overloaded: too many requests waiting for the database".into(),
            ));
        }
        Ok(Admitted(self.clone()))
    }
}

impl AppState {
    pub fn new(config: Config, pool: Pool) -> Self {
        let per_minute = config.rate_limit_per_minute;
        AppState {
            backend: config.database.backend(),
            jwt: Arc::new(JwtKeys::new(&config.jwt_secret)),
            cipher: Arc::new(Cipher::new(config.encryption_key)),
            rate_limiter: Arc::new(RateLimiter::new(per_minute, Duration::from_secs(60))),
            login_limiter: Arc::new(RateLimiter::new(10, Duration::from_secs(15 * 60))),
            admission: Arc::new(Admission::for_pool(&pool)),
            auth_cache: Arc::new(crate::server::auth_cache::AuthCache::new(Duration::from_millis(
                config.auth_cache_ms,
            ))),
            bookkeeping: crate::db::build_bookkeeping_pool(&config.database, &pool, config.db_limits),
            metrics: Arc::new(crate::server::metrics::Metrics::default()),
            workers: Arc::new(crate::server::workers::Workers::default()),
            group_commit: GroupCommit::start(
                "audit",
                crate::db::build_writer_pool(&config.database, config.db_limits),
            ),
            config: Arc::new(config),
            pool,
        }
    }

    /// Runs one use case on the blocking thread pool with a pooled connection. A pool checkout
    /// timeout (≈1 s) and a lost database answer 503; a dead connection leaves the pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let admitted = self.admission.enter()?;
        Self::run(self.pool.clone(), move |conn| {
            let _admitted = admitted;
            f(conn)
        })
        .await
    }

    /// Like `db`, for a read that must leave a durable write (its audit row) before it is
    /// answered: the use case returns its value and that write, which joins the next shared
    /// commit (`db::group_commit`). The answer waits for the commit; a failed commit is 503.
    pub async fn db_then_commit<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<(T, Option<Write>), ApiError> + Send + 'static,
    {
        let (value, write) = self.db(f).await?;
        if let Some(write) = write {
            self.group_commit.commit(write).await?;
        }
        Ok(value)
    }

    /// Runs a use case of one transaction that answers `status` with its value as JSON. For the
    /// first use of an `Idempotency-Key`, the key's record and that answer are written in the
    /// use case's own transaction: the change, the key and the answer cost one commit.
    pub async fn db_answered<T, F>(&self, status: StatusCode, f: F) -> Result<HttpResponse, ApiError>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let key = crate::server::idempotency::current_request_key();
        let Some((key, claim)) = key.and_then(|k| k.inline.clone().map(|c| (k, c))) else {
            return Ok(HttpResponse::build(status).json(self.db(f).await?));
        };
        let (cipher, deferred) = (self.cipher.clone(), claim.clone());
        claim.defer();
        let body = self
            .db(move |conn| {
                crate::db::enclosing_tx(conn, f, |conn, value| {
                    let body = serde_json::to_vec(&value).map_err(|e| ApiError::internal(format!("answer: {e}")))?;
                    let status = status.as_u16();
                    crate::server::idempotency::store_in_tx(conn, &cipher, &key, &deferred, status, &body)?;
                    Ok(body)
                })
            })
            .await?;
        claim.set_answered();
        Ok(HttpResponse::build(status).content_type("application/json").body(body))
    }

    /// Like `db`, outside admission control: only for the few steps that must not be refused
    /// for overload once a use case has run (storing its Idempotency-Key answer, releasing a key).
    pub async fn db_unadmitted<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        Self::run(self.pool.clone(), f).await
    }

    /// Like `db`, on the bookkeeping pool (Idempotency-Key claims and leases, readiness).
    pub async fn bookkeeping<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        Self::run(self.bookkeeping.clone(), f).await
    }

    async fn run<T, F>(pool: Pool, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        // A keyed request's write transactions mark its key applied (`idempotency`).
        let key = crate::server::idempotency::current_request_key();
        web::block(move || crate::server::idempotency::with_request_key(key, || crate::db::with_conn(&pool, f))).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_refuses_past_its_limit_and_frees_places_on_drop() {
        let a = Arc::new(Admission::new(2));
        let first = a.enter().unwrap();
        let _second = a.enter().unwrap();
        assert!(matches!(a.enter(), Err(ApiError::Unavailable(_))));
        assert!(
            matches!(a.enter(), Err(ApiError::Unavailable(_))),
            "a refusal takes no place"
        );
        drop(first);
        assert!(a.enter().is_ok());
    }
}
