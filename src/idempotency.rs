//! `Idempotency-Key` on POST (SPEC §10): the same caller sending the same key with the same
//! request gets the first answer again (`Idempotent-Replayed: true`); the same key with another
//! request answers 422; while the first request is still running, 409. Answers are kept 48 h,
//! encrypted (they hold personal data and, for API keys, the one-time secret). 5xx answers are
//! not kept, so a retry after a server failure runs again. Login, refresh and logout ignore the
//! header: a retried login simply logs in again, and tokens are never stored.
//!
//! The caller is authenticated first (the same resolution as the `Principal` extractor, which
//! then reuses it): a revoked key, a deactivated user or an ended session gets the handler's
//! 401, never a stored answer, and an unauthenticated request writes nothing here. Keys belong
//! to the resolved principal (`staff:<id>`, `api_key:<id>`, `customer:<id>`).

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse, ResponseError};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::auth::principal::Principal;
use crate::db::schema::idempotency_keys as t;
use crate::error::ApiError;
use crate::services::audit::now;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
const KEPT_HEADERS: [&str; 3] = ["content-type", "etag", "location"];
/// A first request that died without answering frees its key after this long.
const LEASE_SECS: i64 = 60;
const KEEP_HOURS: i64 = 48;

enum Claim {
    /// Run the request; the key is ours.
    Run,
    Replay {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// Who the stored answer belongs to: the authenticated principal (kind and id), so one caller's
/// key never replays to another, and a caller who can no longer authenticate (revoked key,
/// deactivated user, ended session) gets nothing back.
async fn caller_of(req: &ServiceRequest) -> Option<String> {
    let p = Principal::authenticate(req.request()).await.ok()?;
    Some(format!("{}:{}", p.actor_kind(), p.actor_id()))
}

fn applies(req: &ServiceRequest) -> bool {
    req.method() == Method::POST && req.headers().contains_key(HEADER) && !req.path().starts_with("/api/v1/auth/")
}

fn bytes_to_payload(buf: web::Bytes) -> Payload {
    let (_, mut pl) = actix_http::h1::Payload::create(true);
    pl.unread_data(buf);
    Payload::from(pl)
}

fn problem(req: ServiceRequest, e: ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(e.error_response())
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
    let key = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_string();
    if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Ok(problem(
            req,
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into()),
        ));
    }
    let mut req = req;
    let body = match req.extract::<web::Bytes>().await {
        Ok(b) => b,
        Err(_) => {
            let limit = state.config.json_limit;
            return Ok(problem(
                req,
                ApiError::PayloadTooLarge(format!("body exceeds the limit of {limit} bytes")),
            ));
        }
    };
    let method = req.method().to_string();
    let path = req.path().to_string();
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(req.uri().to_string().as_bytes());
    h.update(b"\n");
    h.update(&body);
    let request_hash = hex::encode(h.finalize());
    req.set_payload(bytes_to_payload(body));

    let claim = {
        let (caller, key, request_hash, path) = (caller.clone(), key.clone(), request_hash.clone(), path.clone());
        let cipher = state.cipher.clone();
        state
            .bookkeeping(move |conn| claim(conn, &cipher, &caller, &key, &method, &path, &request_hash))
            .await
    };
    match claim {
        Err(e) => Ok(problem(req, e)),
        Ok(Claim::Replay { status, headers, body }) => {
            let mut res = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
            for (k, v) in headers {
                res.insert_header((k, v));
            }
            res.insert_header(("idempotent-replayed", "true"));
            Ok(req.into_response(res.body(body)))
        }
        Ok(Claim::Run) => run_and_store(req, next, &state, caller, key).await,
    }
}

/// Runs the request whose key we hold and stores its answer (a 5xx frees the key instead).
async fn run_and_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: &AppState,
    caller: String,
    key: String,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = match next.call(req).await {
        Ok(r) => r,
        Err(e) => {
            release(state, caller, key).await;
            return Err(e);
        }
    };
    let status = res.status();
    if status.is_server_error() {
        release(state, caller, key).await;
        return Ok(res.map_into_boxed_body());
    }
    let (http_req, res) = res.into_parts();
    let (head, res_body) = res.into_parts();
    let bytes = match body::to_bytes(res_body).await {
        Ok(b) => b,
        Err(_) => {
            release(state, caller, key).await;
            return Ok(ServiceResponse::new(
                http_req,
                ApiError::internal("unreadable response body").error_response(),
            ));
        }
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
    let stored = {
        let (cipher, bytes) = (state.cipher.clone(), bytes.clone());
        state
            .bookkeeping(move |conn| {
                let enc = format!(
                    "{}:{}",
                    cipher.key_id,
                    cipher.encrypt(&String::from_utf8_lossy(&bytes))?
                );
                diesel::update(t::table.find((&caller, &key)))
                    .set((
                        t::status.eq(Some(status.as_u16() as i32)),
                        t::response_headers.eq(Some(serde_json::to_string(&headers).unwrap_or_default())),
                        t::response_body.eq(Some(enc)),
                    ))
                    .execute(conn)?;
                Ok(())
            })
            .await
    };
    if let Err(e) = stored {
        log::error!("idempotency: cannot store the answer: {e}");
    }
    let mut res = head.set_body(bytes).map_into_boxed_body();
    if let Ok(v) = HeaderValue::from_str("false") {
        res.headers_mut()
            .insert(HeaderName::from_static("idempotent-replayed"), v);
    }
    Ok(ServiceResponse::new(http_req, res))
}

type Row = (String, Option<i32>, Option<String>, Option<String>, NaiveDateTime);

fn claim(
    conn: &mut crate::db::DbConnection,
    cipher: &crate::crypto::Cipher,
    caller: &str,
    key: &str,
    method: &str,
    path: &str,
    request_hash: &str,
) -> Result<Claim, ApiError> {
    let ts = now();
    if rand::thread_rng().gen_ratio(1, 500) {
        diesel::delete(t::table.filter(t::created_at.lt(ts - Duration::hours(KEEP_HOURS)))).execute(conn)?;
    }
    let inserted = diesel::insert_into(t::table)
        .values((
            t::caller.eq(caller),
            t::idem_key.eq(key),
            t::method.eq(method),
            t::path.eq(path),
            t::request_hash.eq(request_hash),
            t::locked_until.eq(ts + Duration::seconds(LEASE_SECS)),
            t::created_at.eq(ts),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => return Ok(Claim::Run),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {}
        Err(e) => return Err(e.into()),
    }
    let row: Row = t::table
        .find((caller, key))
        .select((
            t::request_hash,
            t::status,
            t::response_headers,
            t::response_body,
            t::locked_until,
        ))
        .first(conn)?;
    let (hash, status, headers, body, locked_until) = row;
    if hash != request_hash {
        return Err(ApiError::field(
            "Idempotency-Key",
            "was already used for a different request",
        ));
    }
    match (status, body) {
        (Some(status), Some(body)) => {
            let (key_id, ct) = body
                .split_once(':')
                .ok_or_else(|| ApiError::internal("corrupt idempotency record"))?;
            let body = cipher.decrypt(key_id, ct)?.into_bytes();
            let headers: Vec<(String, String)> =
                serde_json::from_str(headers.as_deref().unwrap_or("[]")).unwrap_or_default();
            Ok(Claim::Replay {
                status: status as u16,
                headers,
                body,
            })
        }
        _ if locked_until > ts => Err(ApiError::Conflict {
            detail: "a request with this Idempotency-Key is still being processed; retry shortly".into(),
            existing_id: None,
        }),
        _ => {
            // The first attempt died without answering: take the key over.
            let n = diesel::update(t::table.find((caller, key)))
                .filter(t::locked_until.le(ts))
                .filter(t::status.is_null())
                .set(t::locked_until.eq(ts + Duration::seconds(LEASE_SECS)))
                .execute(conn)?;
            if n == 1 {
                Ok(Claim::Run)
            } else {
                Err(ApiError::Conflict {
                    detail: "a request with this Idempotency-Key is still being processed".into(),
                    existing_id: None,
                })
            }
        }
    }
}

/// Frees the key after a failure so the client may retry.
async fn release(state: &AppState, caller: String, key: String) {
    let r = state
        .bookkeeping(move |conn| {
            diesel::delete(t::table.find((&caller, &key)))
                .filter(t::status.is_null())
                .execute(conn)?;
            Ok(())
        })
        .await;
    if let Err(e) = r {
        log::error!("idempotency: cannot release a key: {e}");
    }
}
