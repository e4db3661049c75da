//! `GET /metrics` (Prometheus text format): requests and latency per route template, method and
//! status; the database pools; admission control; the shared audit commits; the background jobs.
//!
//! Who may read it: an admin (bearer), or a scraper on this host — a caller on the loopback
//! address that sent no credentials and no forwarding header (a reverse proxy on the same host
//! forwards with `Forwarded`/`X-Forwarded-For`, so outside callers never pass as local).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use actix_web::http::header::{self, HeaderMap};
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::auth::{Perm, Principal};
use crate::db::{Pool, CHECKOUT_STATS};
use crate::platform::error::ApiError;
use crate::platform::metrics::{family, labels, sample, Histogram};
use crate::server::state::AppState;

/// Figures of one (method, route template, status).
struct RouteStats {
    method: &'static str,
    route: String,
    status: u16,
    latency: Histogram,
}

/// (method, route template, status).
type RouteKey = (&'static str, String, u16);

#[derive(Default)]
pub struct Metrics {
    routes: RwLock<HashMap<RouteKey, Arc<RouteStats>>>,
    pub jobs: Arc<JobStats>,
}

/// The background job runner's figures (`app::jobs`).
#[derive(Default)]
pub struct JobStats {
    pub runs: AtomicU64,
    pub failures: AtomicU64,
    /// Unix seconds of the last run that succeeded (0: none yet).
    pub last_success: AtomicI64,
    pub last_duration_micros: AtomicU64,
    /// The configured interval (0: the runner is off in this process).
    pub interval_secs: AtomicU64,
}

impl JobStats {
    pub fn record(&self, took: std::time::Duration, ok: bool) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.last_duration_micros
            .store(took.as_micros() as u64, Ordering::Relaxed);
        if ok {
            self.last_success
                .store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Methods by name; anything else counts as `other` (labels stay few whatever clients send).
fn method_label(m: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    KNOWN.iter().find(|k| **k == m).copied().unwrap_or("other")
}

impl Metrics {
    /// Counts one answered request. `route` is the matched template (`None`: no route matched,
    /// counted as `unmatched` so scanners cannot add labels).
    pub fn observe(&self, method: &str, route: Option<&str>, status: u16, seconds: f64) {
        let key = (method_label(method), route.unwrap_or("unmatched").to_string(), status);
        let found = self.routes.read().ok().and_then(|m| m.get(&key).cloned());
        let stats = found.unwrap_or_else(|| {
            let mut m = self.routes.write().unwrap_or_else(|e| e.into_inner());
            m.entry(key.clone())
                .or_insert_with(|| {
                    Arc::new(RouteStats {
                        method: key.0,
                        route: key.1.clone(),
                        status,
                        latency: Histogram::default(),
                    })
                })
                .clone()
        });
        stats.latency.observe(seconds);
    }

    fn render_requests(&self, out: &mut String) {
        let mut rows: Vec<Arc<RouteStats>> = match self.routes.read() {
            Ok(m) => m.values().cloned().collect(),
            Err(e) => e.into_inner().values().cloned().collect(),
        };
        rows.sort_by(|a, b| (&a.route, a.method, a.status).cmp(&(&b.route, b.method, b.status)));
        let name = "concierge_http_requests_total";
        family(
            out,
            name,
            "counter",
            "Answered requests by route template, method and status.",
        );
        for r in &rows {
            sample(out, name, &route_labels(r), r.latency.count());
        }
        let name = "concierge_http_request_duration_seconds";
        family(
            out,
            name,
            "histogram",
            "Time to answer, by route template, method and status.",
        );
        for r in &rows {
            r.latency.render(out, name, &route_labels(r));
        }
    }
}

fn route_labels(r: &RouteStats) -> String {
    labels(&[
        ("route", &r.route),
        ("method", r.method),
        ("status", &r.status.to_string()),
    ])
}

fn render_pools(out: &mut String, pools: &[(&str, &Pool)]) {
    let name = "concierge_db_pool_connections";
    family(out, name, "gauge", "Open connections of each pool, in use or idle.");
    for (pool_name, pool) in pools {
        let s = pool.state();
        let in_use = s.connections - s.idle_connections;
        sample(out, name, &labels(&[("pool", pool_name), ("state", "in_use")]), in_use);
        sample(
            out,
            name,
            &labels(&[("pool", pool_name), ("state", "idle")]),
            s.idle_connections,
        );
    }
    let name = "concierge_db_pool_max_connections";
    family(out, name, "gauge", "The size of each pool.");
    for (pool_name, pool) in pools {
        sample(out, name, &labels(&[("pool", pool_name)]), pool.max_size());
    }
    let c = &CHECKOUT_STATS;
    let counters = [
        (
            "concierge_db_checkouts_total",
            "Connection check-outs.",
            c.checkouts.load(Ordering::Relaxed),
        ),
        (
            "concierge_db_checkout_waits_total",
            "Check-outs that waited for a connection (over 1 ms).",
            c.waits.load(Ordering::Relaxed),
        ),
        (
            "concierge_db_checkout_timeouts_total",
            "Check-outs that gave up after the 1 s deadline (answered 503).",
            c.timeouts.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, v) in counters {
        family(out, name, "counter", help);
        sample(out, name, "", v);
    }
    let name = "concierge_db_checkout_wait_seconds_total";
    family(out, name, "counter", "Time spent waiting for connections.");
    sample(out, name, "", c.wait_micros.load(Ordering::Relaxed) as f64 / 1e6);
}

fn render_state(out: &mut String, state: &AppState) {
    let a = &state.admission;
    let name = "concierge_admission_in_flight";
    family(
        out,
        name,
        "gauge",
        "Use cases holding or waiting for a database connection.",
    );
    sample(out, name, "", a.in_flight());
    let name = "concierge_admission_limit";
    family(
        out,
        name,
        "gauge",
        "Past this many, use cases are refused with 503 at once.",
    );
    sample(out, name, "", a.limit());
    let name = "concierge_admission_refused_total";
    family(out, name, "counter", "Use cases refused for overload (503).");
    sample(out, name, "", a.refused.load(Ordering::Relaxed));
    let g = &state.group_commit.stats;
    let name = "concierge_audit_commit_batch_size";
    family(out, name, "histogram", "Audit rows of reads per shared commit.");
    let mut cumulative = 0;
    for (i, b) in g.sizes.iter().enumerate() {
        cumulative += b.load(Ordering::Relaxed);
        let le = if i + 1 == g.sizes.len() {
            "+Inf".to_string()
        } else {
            (1u64 << i).to_string()
        };
        sample(out, &format!("{name}_bucket"), &labels(&[("le", &le)]), cumulative);
    }
    sample(out, &format!("{name}_sum"), "", g.writes.load(Ordering::Relaxed));
    sample(out, &format!("{name}_count"), "", g.batches.load(Ordering::Relaxed));
    let name = "concierge_audit_commit_failures_total";
    family(
        out,
        name,
        "counter",
        "Shared commits that failed (their reads answered 503).",
    );
    sample(out, name, "", g.failures.load(Ordering::Relaxed));
}

fn render_jobs(out: &mut String, jobs: &JobStats) {
    let name = "concierge_job_runs_total";
    family(out, name, "counter", "Background job runs in this process.");
    sample(out, name, "", jobs.runs.load(Ordering::Relaxed));
    let name = "concierge_job_failures_total";
    family(out, name, "counter", "Background job runs that failed.");
    sample(out, name, "", jobs.failures.load(Ordering::Relaxed));
    let name = "concierge_job_last_duration_seconds";
    family(out, name, "gauge", "How long the last run took.");
    sample(
        out,
        name,
        "",
        jobs.last_duration_micros.load(Ordering::Relaxed) as f64 / 1e6,
    );
    let last = jobs.last_success.load(Ordering::Relaxed);
    let name = "concierge_job_last_success_timestamp_seconds";
    family(
        out,
        name,
        "gauge",
        "Unix time of the last successful run (0: none yet).",
    );
    sample(out, name, "", last);
    let interval = jobs.interval_secs.load(Ordering::Relaxed);
    let name = "concierge_job_lag_seconds";
    family(
        out,
        name,
        "gauge",
        "Seconds the next run is overdue (0 when on time or the runner is off here).",
    );
    let lag = if interval == 0 || last == 0 {
        0
    } else {
        (chrono::Utc::now().timestamp() - last - interval as i64).max(0)
    };
    sample(out, name, "", lag);
}

/// A scraper on this host: loopback peer, no credentials, not forwarded by a proxy.
fn local_scrape(req: &HttpRequest) -> bool {
    let h: &HeaderMap = req.headers();
    let credentials = h.contains_key(header::AUTHORIZATION) || h.contains_key("x-api-key");
    let forwarded =
        h.contains_key(header::FORWARDED) || h.contains_key("x-forwarded-for") || h.contains_key("x-real-ip");
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    loopback && !credentials && !forwarded
}

/// Operational metrics in the Prometheus text format (version 0.0.4): requests and latency per
/// route template and status, database pools and check-out waits, admission control, audit
/// commit batch sizes, background job runs and lag. Figures are this instance's.
#[utoipa::path(tag = "health", security((), ("bearer" = [])),
    responses((status = 200, description = "Metrics", body = String, content_type = "text/plain; version=0.0.4")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if !local_scrape(&req) {
        let p = Principal::authenticate(&req).await?;
        p.require_group_wide(Perm::MetricsRead)?;
    }
    let mut out = String::with_capacity(16 * 1024);
    state.metrics.render_requests(&mut out);
    render_pools(&mut out, &[("main", &state.pool), ("bookkeeping", &state.bookkeeping)]);
    render_state(&mut out, &state);
    render_jobs(&mut out, &state.metrics.jobs);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_and_unmatched_paths_share_one_label() {
        let m = Metrics::default();
        m.observe("FOO", None, 404, 0.001);
        m.observe("BAR", None, 404, 0.001);
        m.observe("GET", Some("/api/v1/customers/{id}"), 200, 0.002);
        let mut out = String::new();
        m.render_requests(&mut out);
        assert!(
            out.contains("concierge_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "concierge_http_requests_total{route=\"/api/v1/customers/{id}\",method=\"GET\",status=\"200\"} 1\n"
            ),
            "{out}"
        );
    }
}
