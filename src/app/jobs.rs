//! Background jobs: the ticket SLA sweep (breaches, escalation, auto-close), points expiry and
//! the yearly tier review. Each is safe with several instances on one PostgreSQL (conditional
//! updates claim tickets; per-account locks and idempotency keys guard the ledger); SQLite is
//! one instance.
//! `serve` runs them every `CONCIERGE_JOBS_INTERVAL_SECS` (default 60: SLA breaches are seen within a minute; 0 = off);
//! `concierge run-jobs` runs them once.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::db::Pool;
use crate::features::loyalty::ledger as loyalty;
use crate::features::surveys::service as surveys;
use crate::features::tickets::service as tickets;
use crate::platform::error::ApiError;
use crate::server::metrics::JobStats;

const BATCH: i64 = 500;

#[derive(Debug, Default)]
pub struct JobReport {
    pub survey_invitations_opened: usize,
    pub survey_invitations_expired: usize,
    pub first_response_breaches: usize,
    pub resolution_breaches: usize,
    pub tickets_auto_closed: usize,
    pub expired_entries: usize,
    pub tiers_reviewed: usize,
    pub tiers_downgraded: usize,
    pub imports_applied: usize,
    pub events_pruned: usize,
    pub webhooks: crate::features::events::DispatchReport,
}

impl std::fmt::Display for JobReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SLA breaches: {} first response, {} resolution; tickets auto-closed: {}; expired entries: {}, tiers reviewed: {}, downgraded: {}; imports applied: {}; events pruned: {}; webhooks sent: {} ({} succeeded)",
            self.first_response_breaches,
            self.resolution_breaches,
            self.tickets_auto_closed,
            self.expired_entries,
            self.tiers_reviewed,
            self.tiers_downgraded,
            self.imports_applied,
            self.events_pruned,
            self.webhooks.sent,
            self.webhooks.succeeded
        )
    }
}

/// Runs every job until nothing is due at `as_of`.
/// A connection the database dropped leaves the pool (`db::with_conn`), so the next run heals.
pub fn run_once(pool: &Pool, as_of: NaiveDateTime) -> Result<JobReport, ApiError> {
    super::reactions::install();
    crate::db::with_conn(pool, |conn| run_all(conn, as_of))
}

/// `concierge run-jobs`: the periodic jobs, then every waiting bulk import.
pub fn run_once_with_imports(
    state: &crate::server::state::AppState,
    as_of: NaiveDateTime,
) -> Result<JobReport, ApiError> {
    let mut report = run_once(&state.pool, as_of)?;
    report.imports_applied =
        crate::features::guests::imports::run_pending(&state.pool, &state.cipher, &state.config.instance_id)?;
    let agent = crate::features::events::sender::agent();
    report.webhooks = crate::features::events::dispatch_once(&state.pool, &state.cipher, &agent, as_of)?;
    Ok(report)
}

fn run_all(conn: &mut crate::db::DbConnection, as_of: NaiveDateTime) -> Result<JobReport, ApiError> {
    let mut report = JobReport::default();
    let (opened, expired) = surveys::sweep(conn, as_of)?;
    report.survey_invitations_opened = opened;
    report.survey_invitations_expired = expired;
    loop {
        let s = tickets::sweep(conn, as_of, BATCH)?;
        report.first_response_breaches += s.first_response_breaches;
        report.resolution_breaches += s.resolution_breaches;
        report.tickets_auto_closed += s.auto_closed;
        if s.first_response_breaches + s.resolution_breaches + s.auto_closed < BATCH as usize {
            break;
        }
    }
    loop {
        let (settled, posted) = loyalty::expire_due(conn, as_of, BATCH)?;
        report.expired_entries += posted;
        if settled < BATCH as usize {
            break;
        }
    }
    report.events_pruned = crate::features::events::feed::prune_expired(conn, as_of, BATCH)?;
    loop {
        let (reviewed, downgraded) = loyalty::review_tiers(conn, as_of, BATCH)?;
        report.tiers_reviewed += reviewed;
        report.tiers_downgraded += downgraded;
        if reviewed < BATCH as usize {
            break;
        }
    }
    Ok(report)
}

/// Starts this app's workers (bulk imports), which end when the app's state is dropped.
pub fn start_workers(state: &crate::server::state::AppState) {
    if state.config.import_worker {
        crate::features::guests::imports::spawn_worker(
            state.pool.clone(),
            state.cipher.clone(),
            state.config.instance_id.clone(),
            state.workers.imports.clone(),
            Duration::from_secs(2),
        );
    }
    if state.config.webhook_poll_ms > 0 {
        crate::features::events::dispatch::spawn_worker(
            state.pool.clone(),
            state.cipher.clone(),
            state.workers.webhooks.clone(),
            Duration::from_millis(state.config.webhook_poll_ms),
        );
    }
}

/// Starts the periodic runner on its own thread (no actix worker is blocked); each run is
/// counted in `stats` (`/metrics`).
pub fn spawn(pool: Pool, interval_secs: u64, stats: Arc<JobStats>) {
    stats.interval_secs.store(interval_secs, Ordering::Relaxed);
    if interval_secs == 0 {
        log::info!("background jobs are off (CONCIERGE_JOBS_INTERVAL_SECS=0)");
        return;
    }
    std::thread::Builder::new()
        .name("concierge-jobs".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_secs(interval_secs));
            let started = std::time::Instant::now();
            let outcome = run_once(&pool, chrono::Utc::now().naive_utc());
            stats.record(started.elapsed(), outcome.is_ok());
            match outcome {
                Ok(r)
                    if r.expired_entries
                        + r.tiers_reviewed
                        + r.first_response_breaches
                        + r.resolution_breaches
                        + r.tickets_auto_closed
                        > 0 =>
                {
                    log::info!(target: "concierge::jobs", "{r}")
                }
                Ok(_) => {}
                Err(e) => log::warn!(target: "concierge::jobs", "job run failed: {e}"),
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| log::error!("cannot start the job runner: {e}"));
}
