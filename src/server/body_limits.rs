//! Request bodies are read here, whole, before anything else looks at them: with a size limit
//! per route (256 KiB; the documented 1,000-stay batch gets `BATCH_BODY_LIMIT`), and a deadline
//! (`CONCIERGE_BODY_TIMEOUT_SECS`, 30 s), so a stalled client cannot hold a connection and a
//! worker for ever. A body larger than its limit answers 413 (at once when Content-Length says
//! so), one cut short 400, one not finished in time 408 — all before an Idempotency-Key is
//! claimed, so the key stays free for the retry.

use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};
use futures_util::StreamExt;

use crate::platform::error::ApiError;
use crate::server::state::AppState;

/// The body limit of every other route (`Config::json_limit`).
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;
/// The body limit of the batch routes: 1,000 items of the documented size fit with room to spare
/// (a 1,000-stay batch with every field at its maximum length is about 1.3 MiB).
pub const BATCH_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Routes whose documented batches need more than the default limit.
const BATCH_ROUTES: [&str; 1] = ["/api/v1/stays/batch"];

/// Routes that read their own body as a stream, with their own limit and stall deadline (a
/// bulk import file of up to 1 GiB never sits whole in memory).
pub const STREAMED_ROUTES: [&str; 1] = ["/api/v1/customer-imports"];

/// The body limit of a path.
pub fn limit_for(path: &str, default: usize) -> usize {
    if BATCH_ROUTES.contains(&path) {
        BATCH_BODY_LIMIT
    } else {
        default
    }
}

/// The largest body any route accepts (the extractors' own limit; this layer enforces the
/// per-route one).
pub fn max_limit(default: usize) -> usize {
    default.max(BATCH_BODY_LIMIT)
}

pub fn human(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

pub async fn read_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let has_body = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
    ) || req.headers().contains_key(CONTENT_LENGTH);
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if !has_body || STREAMED_ROUTES.contains(&req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let limit = limit_for(req.path(), state.config.json_limit);
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Ok(refuse(req, too_large(limit)));
    }
    let deadline = Duration::from_secs(state.config.body_timeout_secs);
    let payload = req.take_payload();
    match collect(payload, limit, deadline).await {
        Ok(bytes) => {
            let (_, mut pl) = actix_http::h1::Payload::create(true);
            pl.unread_data(bytes);
            req.set_payload(Payload::from(pl));
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(e) => Ok(refuse(req, e)),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!("the body exceeds the {} limit of this operation", human(limit)))
}

fn refuse(req: ServiceRequest, e: ApiError) -> ServiceResponse<BoxBody> {
    // The rest of a refused body is not read: close the connection rather than reuse it.
    let mut res = e.error_response();
    res.head_mut().set_connection_type(actix_http::ConnectionType::Close);
    req.into_response(res)
}

async fn collect(mut payload: Payload, limit: usize, deadline: Duration) -> Result<web::Bytes, ApiError> {
    let started = Instant::now();
    let mut buf = web::BytesMut::new();
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        let next = actix_web::rt::time::timeout(left, payload.next()).await.map_err(|_| {
            ApiError::RequestTimeout(format!(
                "the request body did not arrive within {} s",
                deadline.as_secs()
            ))
        })?;
        match next {
            None => return Ok(buf.freeze()),
            Some(Ok(chunk)) => {
                if buf.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                buf.extend_from_slice(&chunk);
            }
            Some(Err(PayloadError::Overflow)) => return Err(too_large(limit)),
            Some(Err(PayloadError::Incomplete(_))) => {
                return Err(ApiError::BadRequest(
                    "the request body ended before its announced length".into(),
                ))
            }
            Some(Err(_)) => return Err(ApiError::BadRequest("cannot read the request body".into())),
        }
    }
}
