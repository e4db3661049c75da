//! The webhook dispatcher (SPEC §8), run by `serve` on its own thread and by `concierge
//! run-jobs`, never inside a request. A round: (1) each enabled endpoint's new events are
//! queued as deliveries, in feed order, by whichever instance locks the endpoint first
//! (`FOR UPDATE SKIP LOCKED`); (2) due deliveries are claimed under a lease (skip-locked too),
//! at most one per endpoint and aggregate (the next waits for the previous); (3) they are sent
//! concurrently (bounded), outside any transaction; (4) each outcome is recorded — success,
//! the next attempt of the schedule, given up, or the endpoint disabled. A crash between (3)
//! and (4) sends the delivery again after its lease: at least once, same `webhook-id`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use serde_json::json;

use super::db::{EventRow, Selection};
use super::deliveries::{self, Attempt, DeliveryRow, FAILED, PENDING, SUCCEEDED};
use super::endpoints::{self, EndpointRow};
use super::rules::{self, FeedKey};
use super::sender::{self, Answer, Outgoing};
use crate::auth::Principal;
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::webhook_endpoints as w;
use crate::db::{dialect::load_skip_locked, with_conn, write_tx, DbConnection, Pool};
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::server::workers::Signal;

/// Deliveries sent at once, at most.
pub const CONCURRENCY: usize = 8;
/// Deliveries claimed per round (sent by `CONCURRENCY` senders, recorded in one commit).
const CLAIM_BATCH: i64 = 64;
/// Events queued per endpoint per transaction.
const QUEUE_BATCH: i64 = 500;
/// Longer than a round can take (64 claimed, 8 senders, 15 s timeout: 120 s): a live sender's
/// lease never lapses.
const LEASE_SECS: i64 = 180;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DispatchReport {
    pub queued: usize,
    pub sent: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub endpoints_disabled: usize,
}

/// One round at `at` (the clock is injected: tests walk the retry schedule without sleeping).
pub fn dispatch_once(
    pool: &Pool,
    cipher: &Cipher,
    agent: &ureq::Agent,
    at: NaiveDateTime,
) -> Result<DispatchReport, ApiError> {
    let mut report = DispatchReport::default();
    let ids = with_conn(pool, endpoints::enabled_ids)?;
    for id in ids {
        loop {
            let (queued, more) = with_conn(pool, |conn| queue_new_events(conn, &id, at))?;
            report.queued += queued;
            if !more {
                break;
            }
        }
    }
    loop {
        let claimed = with_conn(pool, |conn| {
            deliveries::claim_due(conn, at, CLAIM_BATCH, Duration::seconds(LEASE_SECS))
        })?;
        if claimed.is_empty() {
            return Ok(report);
        }
        let prepared = with_conn(pool, |conn| prepare(conn, cipher, &claimed, at))?;
        let answers = send_all(agent, &prepared);
        with_conn(pool, |conn| {
            record_all(conn, &claimed, &prepared, &answers, at, &mut report)
        })?;
    }
}

/// Queues the endpoint's next events; `(queued, more to read now)`. Another instance already on
/// this endpoint: nothing.
fn queue_new_events(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> Result<(usize, bool), ApiError> {
    write_tx(conn, |conn| {
        crate::db::dialect::plan_each_statement_in_tx(conn)?;
        let locked = load_skip_locked!(
            conn,
            w::table
                .filter(w::id.eq(id))
                .filter(w::enabled.eq(true))
                .select(EndpointRow::as_select()),
            EndpointRow
        )?;
        let Some(endpoint) = locked.into_iter().next() else {
            return Ok((0, false));
        };
        let selection = Selection {
            types: endpoint.patterns(),
            properties: endpoint.properties(),
        };
        let after = FeedKey {
            commit_order: endpoint.cursor_commit_order,
            position: endpoint.cursor_position,
        };
        let (rows, next, more) = super::feed::read_page(conn, after, &selection, QUEUE_BATCH)?;
        let queued = deliveries::queue_in_tx(conn, id, &rows, at)?;
        if next != after {
            endpoints::advance_in_tx(conn, id, next)?;
        }
        Ok((queued, more))
    })
}

/// A claimed delivery ready to send: its URL, body and signature, or why it cannot be sent.
struct Prepared {
    url: String,
    msg_id: String,
    timestamp: i64,
    body: String,
    signature: Result<String, String>,
}

fn prepare(
    conn: &mut DbConnection,
    cipher: &Cipher,
    claimed: &[DeliveryRow],
    at: NaiveDateTime,
) -> Result<Vec<Prepared>, ApiError> {
    let mut endpoints: HashMap<String, Option<EndpointRow>> = HashMap::new();
    let timestamp = at.and_utc().timestamp();
    let ids: Vec<&str> = claimed.iter().map(|d| d.event_id.as_str()).collect();
    let events: HashMap<String, EventRow> = super::db::find_many(conn, &ids)?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    let mut out = Vec::with_capacity(claimed.len());
    for d in claimed {
        if !endpoints.contains_key(&d.endpoint_id) {
            endpoints.insert(d.endpoint_id.clone(), endpoints::find(conn, &d.endpoint_id)?);
        }
        let endpoint = endpoints.get(&d.endpoint_id).and_then(Option::as_ref);
        let (Some(endpoint), Some(event)) = (endpoint, events.get(&d.event_id)) else {
            out.push(Prepared {
                url: String::new(),
                msg_id: d.event_id.clone(),
                timestamp,
                body: String::new(),
                signature: Err("the event is no longer kept".into()),
            });
            continue;
        };
        let body = serde_json::to_string(&event.view()).map_err(ApiError::internal)?;
        let secrets = endpoint.signing_secrets(cipher, at)?;
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let signature = rules::signature_header(&refs, &d.event_id, timestamp, &body)
            .ok_or_else(|| "the endpoint's secret is unreadable".to_string());
        out.push(Prepared {
            url: endpoint.url.clone(),
            msg_id: d.event_id.clone(),
            timestamp,
            body,
            signature,
        });
    }
    Ok(out)
}

/// Sends every prepared delivery with `CONCURRENCY` senders, each taking the next one.
fn send_all(agent: &ureq::Agent, prepared: &[Prepared]) -> Vec<Option<Answer>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let answers: Mutex<Vec<Option<Answer>>> = Mutex::new(vec![None; prepared.len()]);
    std::thread::scope(|s| {
        for _ in 0..CONCURRENCY.min(prepared.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = prepared.get(i) else { return };
                let Ok(signature) = p.signature.as_ref() else { continue };
                let answer = sender::post(
                    agent,
                    &Outgoing {
                        url: &p.url,
                        msg_id: &p.msg_id,
                        timestamp: p.timestamp,
                        signature,
                        body: &p.body,
                    },
                );
                answers.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(answer);
            });
        }
    });
    answers.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn record_all(
    conn: &mut DbConnection,
    claimed: &[DeliveryRow],
    prepared: &[Prepared],
    answers: &[Option<Answer>],
    at: NaiveDateTime,
    report: &mut DispatchReport,
) -> Result<(), ApiError> {
    // One commit for the round's outcomes.
    write_tx(conn, |conn| {
        for ((d, p), answer) in claimed.iter().zip(prepared).zip(answers) {
            record_one(conn, d, p, answer.as_ref(), at, report)?;
        }
        Ok(())
    })
}

fn record_one(
    conn: &mut DbConnection,
    d: &DeliveryRow,
    p: &Prepared,
    answer: Option<&Answer>,
    at: NaiveDateTime,
    report: &mut DispatchReport,
) -> Result<(), ApiError> {
    let Some(answer) = answer else {
        let error = p.signature.as_ref().err().cloned().unwrap_or_else(|| "not sent".into());
        let attempt = Attempt {
            at,
            status: None,
            latency_ms: 0,
            response: None,
            error: Some(error),
        };
        report.failed += 1;
        return deliveries::record_in_tx(conn, &d.id, &attempt, FAILED, None);
    };
    report.sent += 1;
    let attempt = Attempt {
        at,
        status: answer.status.map(i32::from),
        latency_ms: answer.latency_ms,
        response: answer.body.clone(),
        error: answer.error.clone(),
    };
    if answer.succeeded() {
        report.succeeded += 1;
        deliveries::record_in_tx(conn, &d.id, &attempt, SUCCEEDED, None)?;
        endpoints::note_outcome_in_tx(conn, &d.endpoint_id, true, at)?;
        return Ok(());
    }
    report.failed += 1;
    if answer.gone() {
        deliveries::record_in_tx(conn, &d.id, &attempt, FAILED, None)?;
        report.endpoints_disabled += 1;
        return disable_in_tx(conn, &d.endpoint_id, "gone", at);
    }
    let retry_after = rules::retry_after_secs(answer.retry_after.as_deref());
    let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
    let next = rules::next_attempt_at(d.attempts + 1, at, retry_after, jitter);
    let state = if next.is_some() { PENDING } else { FAILED };
    deliveries::record_in_tx(conn, &d.id, &attempt, state, next)?;
    // A replay (`retry`, `recover`) does not count toward disabling.
    if !d.replay && endpoints::note_outcome_in_tx(conn, &d.endpoint_id, false, at)? {
        report.endpoints_disabled += 1;
        disable_in_tx(conn, &d.endpoint_id, "failing", at)?;
    }
    Ok(())
}

/// Disables an endpoint and writes `webhook_endpoint.disabled` (other endpoints and the feed
/// learn of it).
fn disable_in_tx(conn: &mut DbConnection, id: &str, reason: &str, at: NaiveDateTime) -> Result<(), ApiError> {
    endpoints::disable_in_tx(conn, id, reason, at)?;
    log::warn!("webhook endpoint {id} disabled ({reason})");
    outbox::emit_in_tx(
        conn,
        &Principal::system("webhooks"),
        NewEvent::new("webhook_endpoint.disabled", "webhook_endpoint", id)
            .data(json!({"webhook_endpoint_id": id, "reason": reason})),
    )?;
    Ok(())
}

/// Starts the dispatcher thread of `serve`: a round every `poll` (or when woken), until the
/// app's state is dropped. A failed round is logged and retried at the next.
pub fn spawn_worker(pool: Pool, cipher: Arc<Cipher>, signal: Arc<Signal>, poll: StdDuration) {
    let started = std::thread::Builder::new()
        .name("concierge-webhooks".into())
        .spawn(move || {
            let agent = sender::agent();
            loop {
                let at = crate::platform::ids::now();
                let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    dispatch_once(&pool, &cipher, &agent, at)
                }));
                match round {
                    Ok(Err(e)) => log::warn!("webhooks: a dispatch round failed (retried): {e}"),
                    Err(_) => log::error!("webhooks: a dispatch round panicked (retried)"),
                    Ok(Ok(_)) => {}
                }
                if !signal.wait(poll) {
                    return;
                }
            }
        });
    if let Err(e) = started {
        log::error!("cannot start the webhook dispatcher: {e}");
    }
}
