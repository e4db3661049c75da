//! Shared application state: pool, configuration, keys and limiters.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::auth::jwt::JwtKeys;
use crate::auth::rate_limit::RateLimiter;
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::{Backend, DbConnection, Pool};
use crate::error::ApiError;

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
            bookkeeping: crate::db::build_bookkeeping_pool(&config.database, &pool, config.db_limits),
            config: Arc::new(config),
            pool,
        }
    }

    /// Issues access and refresh tokens with the configured lifetimes.
    pub fn tokens(&self) -> crate::services::auth::TokenIssuer<'_> {
        crate::services::auth::TokenIssuer {
            jwt: &self.jwt,
            access_ttl: self.config.access_ttl_secs,
            refresh_ttl: self.config.refresh_ttl_secs,
        }
    }

    /// Runs one use case on the blocking thread pool with a pooled connection. A pool checkout
    /// timeout (≈1 s) and a lost database answer 503; a dead connection leaves the pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
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
        let key = crate::idempotency::current_request_key();
        web::block(move || crate::idempotency::with_request_key(key, || crate::db::with_conn(&pool, f))).await?
    }
}
