//! `Idempotency-Key` on POST (SPEC §10): the same caller sending the same key with the same
//! request gets the first answer again (`Idempotent-Replayed: true`); the same key with another
//! request answers 422; while the first request is still running, 409. Answers are kept 48 h,
//! encrypted (they hold personal data and, for API keys, the one-time secret), and stored
//! durably before the client sees them: an acknowledged answer survives a crash. 5xx answers
//! are not kept, so a retry after a server failure runs again — unless the use case had already
//! committed, which the business transaction itself records (`store::mark_applied`): such a
//! retry answers 409 "already applied" and never runs twice. A running request renews its lease;
//! a request cut by a crash frees its key when the lease lapses (15 s), or at once when the same
//! instance restarts. Login, refresh and logout ignore the
//! header: a retried login simply logs in again, and tokens are never stored.
//!
//! The caller is authenticated first (the same resolution as the `Principal` extractor, which
//! then reuses it): a revoked key, a deactivated user or an ended session gets the handler's
//! 401, never a stored answer, and an unauthenticated request writes nothing here. Keys belong
//! to the resolved principal (`staff:<id>`, `api_key:<id>`, `customer:<id>`).

mod store;

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};

use crate::auth::principal::Principal;
pub use crate::db::applied::{with_request_key, InlineClaim, RequestKey};
use crate::platform::error::ApiError;
use crate::server::state::AppState;
use std::sync::Arc;
pub use store::release_abandoned;
use store::{Claim, ClaimRequest};

pub const HEADER: &str = "idempotency-key";
const KEPT_HEADERS: [&str; 3] = ["content-type", "etag", "location"];

tokio::task_local! {
    /// The keyed request this task serves; `AppState::run` hands it to the blocking thread.
    static REQUEST_KEY: RequestKey;
}

/// The keyed request of the current task, if any.
pub fn current_request_key() -> Option<RequestKey> {
    REQUEST_KEY.try_with(|k| k.clone()).ok()
}

/// Who the stored answer belongs to: the authenticated principal (kind and id), so one caller's
/// key never replays to another, and a caller who can no longer authenticate (revoked key,
/// deactivated user, ended session) gets nothing back.
async fn caller_of(req: &ServiceRequest) -> Option<String> {
    let p = Principal::authenticate(req.request()).await.ok()?;
    Some(format!("{}:{}", p.actor_kind(), p.actor_id()))
}

/// Streamed uploads keep their key with what they create (a bulk import answers its import
/// again): their body is never buffered here.
fn applies(req: &ServiceRequest) -> bool {
    req.method() == Method::POST
        && req.headers().contains_key(HEADER)
        && !req.path().starts_with("/api/v1/auth/")
        && !crate::server::body_limits::STREAMED_ROUTES.contains(&req.path())
}

fn bytes_to_payload(buf: web::Bytes) -> Payload {
    let (_, mut pl) = actix_http::h1::Payload::create(true);
    pl.unread_data(buf);
    Payload::from(pl)
}

fn problem(req: ServiceRequest, e: ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(e.error_response())
}

fn header_key(req: &ServiceRequest) -> Result<String, ApiError> {
    key_in(req.headers())?.ok_or_else(|| ApiError::BadRequest(KEY_RULE.into()))
}

const KEY_RULE: &str = "Idempotency-Key must be 1 to 255 visible ASCII characters";

/// The request's `Idempotency-Key`, checked (400 when malformed); `None` when absent. Also used
/// by streamed uploads, which keep their key with what they create.
pub fn key_in(headers: &actix_web::http::header::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(HEADER) else { return Ok(None) };
    let key = v.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::BadRequest(KEY_RULE.into()));
    }
    Ok(Some(key.to_string()))
}

fn request_hash(req: &ServiceRequest, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b" ");
    h.update(req.uri().to_string().as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

pub async fn idempotency(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if !applies(&req) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // Unauthenticated requests skip idempotency entirely (nothing is written); the handler
    // answers 401 from the outcome kept in the request.
    let Some(caller) = caller_of(&req).await else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = match header_key(&req) {
        Ok(k) => k,
        Err(e) => return Ok(problem(req, e)),
    };
    let mut req = req;
    // The body is already in memory (`input_guard::read_body` runs first, with its limits).
    let body = match req.extract::<web::Bytes>().await {
        Ok(b) => b,
        Err(_) => {
            return Ok(problem(
                req,
                ApiError::BadRequest("cannot read the request body".into()),
            ))
        }
    };
    let hash = request_hash(&req, &body);
    req.set_payload(bytes_to_payload(body));
    let mut rk = RequestKey {
        caller,
        key,
        attempt: uuid::Uuid::now_v7().to_string(),
        inline: None,
    };
    let (method, path) = (req.method().to_string(), req.path().to_string());
    let owner = state.config.instance_id.clone();
    purge_now_and_then(&state);
    // The use case's first write transaction claims the key (`db::applied`); a key already
    // recorded makes it fail, and `record` then answers from that record.
    let claim = InlineClaim::new(method, path, hash, owner, store::LEASE_SECS);
    rk.inline = Some(Arc::new(claim));
    run_and_store(req, next, &state, rk).await
}

/// Now and then, answers older than 48 h are dropped, in the background.
fn purge_now_and_then(state: &AppState) {
    if rand::Rng::gen_ratio(&mut rand::thread_rng(), 1, 500) {
        let state = state.clone();
        actix_web::rt::spawn(async move {
            let purged = state.bookkeeping(|conn| crate::db::gated(conn, store::purge_old)).await;
            if let Err(e) = purged {
                log::warn!("idempotency: cannot drop old answers: {e}");
            }
        });
    }
}

/// A stored answer, sent again.
fn replayed(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> HttpResponse {
    let mut res = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
    for (k, v) in headers {
        res.insert_header((k, v));
    }
    res.insert_header(("idempotent-replayed", "true"));
    res.body(body)
}

/// Records the key with its JSON answer in the use case's transaction, which claimed it
/// deferred (`AppState::db_answered`): the key, the change and the answer commit together.
pub fn store_in_tx(
    conn: &mut crate::db::DbConnection,
    cipher: &crate::platform::crypto::Cipher,
    rk: &RequestKey,
    claim: &InlineClaim,
    status: u16,
    body: &[u8],
) -> Result<(), ApiError> {
    let headers = [("content-type".to_string(), "application/json".to_string())];
    let answer = store::Answer {
        status,
        headers: &headers,
        body,
    };
    if !store::insert_answered(conn, cipher, rk, claim, &answer, true)? {
        return Err(crate::db::applied::got_there_first());
    }
    Ok(())
}

/// Renews the key's lease while its request runs; stopped when the request ends.
/// The renewal stops when the guard drops: also when the request future is dropped mid-way
/// (actix drops it when the client's connection breaks).
fn keep_leased(state: &AppState, rk: &RequestKey) -> LeaseGuard {
    let (state, rk) = (state.clone(), rk.clone());
    LeaseGuard(actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(std::time::Duration::from_secs(store::RENEW_SECS)).await;
            let rk = rk.clone();
            let renewed = state
                .bookkeeping(move |conn| crate::db::gated(conn, |conn| store::renew(conn, &rk)))
                .await;
            if let Err(e) = renewed {
                log::warn!("idempotency: cannot renew a lease: {e}");
            }
        }
    }))
}

struct LeaseGuard(actix_web::rt::task::JoinHandle<()>);

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the request whose key we hold and stores its answer (a 5xx frees the key instead).
async fn run_and_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: &AppState,
    rk: RequestKey,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let lease = keep_leased(state, &rk);
    let res = REQUEST_KEY.scope(rk.clone(), next.call(req)).await;
    drop(lease);
    let res = match res {
        Ok(r) => r,
        Err(e) => {
            release(state, &rk).await;
            return Err(e);
        }
    };
    if rk.inline.as_ref().is_some_and(|c| c.answered()) {
        // Stored with the use case, in its transaction.
        let mut res = res.map_into_boxed_body();
        res.headers_mut().insert(REPLAYED, HeaderValue::from_static("false"));
        return Ok(res);
    }
    let status = res.status();
    if status.is_server_error() {
        release(state, &rk).await;
        return Ok(res.map_into_boxed_body());
    }
    let (http_req, res) = res.into_parts();
    let (head, res_body) = res.into_parts();
    let Ok(bytes) = body::to_bytes(res_body).await else {
        release(state, &rk).await;
        let e = ApiError::internal("unreadable response body");
        return Ok(ServiceResponse::new(http_req, e.error_response()));
    };
    let headers: Vec<(String, String)> = KEPT_HEADERS
        .iter()
        .filter_map(|n| {
            head.headers()
                .get(*n)
                .and_then(|v| v.to_str().ok())
                .map(|v| (n.to_string(), v.to_string()))
        })
        .collect();
    let recorded = record(state, &rk, status.as_u16(), headers, bytes.clone()).await;
    let answer = match recorded {
        Ok(Recorded::Stored) => head.set_body(bytes).map_into_boxed_body(),
        Ok(Recorded::Theirs(Claim::Replay { status, headers, body })) => {
            return Ok(ServiceResponse::new(http_req, replayed(status, headers, body)));
        }
        Ok(Recorded::Theirs(Claim::Run)) => {
            // The key was free again by then (its holder died): give it back, the client retries.
            release(state, &rk).await;
            return Ok(ServiceResponse::new(http_req, store::still_running().error_response()));
        }
        Err(e) => {
            // Never acknowledge what a retry could not replay: the client retries and gets the
            // stored answer, or the key's applied marker answers without running the use case.
            log::error!("idempotency: the answer was not stored: {e}");
            let e = match e {
                e @ (ApiError::Conflict { .. } | ApiError::Validation(_)) => e,
                _ => ApiError::Unavailable("the answer could not be recorded".into()),
            };
            return Ok(ServiceResponse::new(http_req, e.error_response()));
        }
    };
    Ok(ServiceResponse::new(http_req, first_answer(answer)))
}

/// Marks an answer as the first one (not a replay).
fn first_answer<B>(mut res: HttpResponse<B>) -> HttpResponse<B> {
    res.headers_mut().insert(REPLAYED, HeaderValue::from_static("false"));
    res
}

const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

enum Recorded {
    Stored,
    /// Another attempt holds the key (a concurrent first use): what a claim of it answers.
    Theirs(Claim),
}

/// Stores the answer of this attempt: on its record, or — when the request wrote none — as a
/// new record. The main pool (durable commits), outside admission control: a committed use
/// case's answer must not be refused for overload.
async fn record(
    state: &AppState,
    rk: &RequestKey,
    status: u16,
    headers: Vec<(String, String)>,
    bytes: web::Bytes,
) -> Result<Recorded, ApiError> {
    let (cipher, rk) = (state.cipher.clone(), rk.clone());
    state
        .db_unadmitted(move |conn| {
            crate::db::gated(conn, |conn| {
                let answer = store::Answer {
                    status,
                    headers: &headers,
                    body: &bytes,
                };
                if store::store_answer(conn, &cipher, &rk.caller, &rk.key, Some(&rk.attempt), &answer)? {
                    return Ok(Recorded::Stored);
                }
                let Some(claim) = &rk.inline else {
                    return Err(ApiError::internal("the key is held by another attempt"));
                };
                if store::insert_answered(conn, &cipher, &rk, claim, &answer, false)? {
                    return Ok(Recorded::Stored);
                }
                let r = ClaimRequest {
                    key: &rk,
                    method: &claim.method,
                    path: &claim.path,
                    request_hash: &claim.request_hash,
                    owner: &claim.owner,
                };
                store::claim(conn, &cipher, &r).map(Recorded::Theirs)
            })
        })
        .await
}

/// Frees the key after a failure so the client may retry (kept if the use case committed).
/// In the background, so the failure answer never waits for it (the client retries after
/// `Retry-After` anyway); while the database is away it is retried for a while, so the
/// client's retry after the outage runs at once instead of waiting out the lease.
async fn release(state: &AppState, rk: &RequestKey) {
    let (state, rk) = (state.clone(), rk.clone());
    actix_web::rt::spawn(async move {
        for _ in 0..store::LEASE_SECS {
            if try_release(&state, &rk).await {
                return;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        log::warn!("idempotency: gave up releasing a key; its lease lapses instead");
    });
}

async fn try_release(state: &AppState, rk: &RequestKey) -> bool {
    let rk = rk.clone();
    let released = state
        .db_unadmitted(move |conn| crate::db::gated(conn, |conn| store::release(conn, &rk)))
        .await;
    match released {
        Ok(()) => true,
        Err(e) => {
            log::warn!("idempotency: cannot release a key yet: {e}");
            false
        }
    }
}
