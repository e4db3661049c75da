//! Request id and the access log line (method, path, status, latency, request id; never the
//! query string, bodies or headers, which may carry personal data or credentials), and the
//! security headers of every answer.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use crate::server::state::AppState;

#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_string();
    let mut res = next.call(req).await?;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    let status = res.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    let ms = seconds * 1000.0;
    if let Some(state) = res.request().app_data::<actix_web::web::Data<AppState>>() {
        state.metrics.observe(
            method.as_str(),
            res.request().match_pattern().as_deref(),
            status,
            seconds,
        );
    }
    if status >= 500 {
        log::warn!(target: "concierge::access", "{method} {path} {status} {ms:.1}ms rid={id}");
    } else {
        log::info!(target: "concierge::access", "{method} {path} {status} {ms:.1}ms rid={id}");
    }
    Ok(res)
}

/// API answers load nothing and may not be framed.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// Swagger UI (`/docs/`): its own scripts, styles and the spec from this origin. React sets
/// inline `style` attributes and the CSS carries `data:` images; no inline script is needed
/// (the vendored index.html loads three script files, the bundle's `Function("return this")`
/// fallbacks are never reached in a browser).
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Security headers on every answer (errors and the fallback included): no MIME sniffing, no
/// framing, no referrer, a CSP, and `Cache-Control: no-store` on everything under `/api/`
/// (token answers and personal data must not land in a browser or proxy cache).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let path = req.path().to_string();
    // Handler errors and the idempotency layer's refusals arrive here as answers already.
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    let csp = if path == "/docs" || path.starts_with("/docs/") {
        DOCS_CSP
    } else {
        API_CSP
    };
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", csp),
    ] {
        h.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if path.starts_with("/api/") {
        h.insert(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}
