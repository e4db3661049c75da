//! HTTP vocabulary shared by every feature's handlers: ETag and If-Match, the Idempotency-Key
//! requirement, and the route table behind the 404/405 fallback.

use actix_web::dev::ResourceDef;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};

use crate::platform::error::ApiError;

/// The `Idempotency-Key` of a request that must carry one (ledger postings, integration
/// pushes): 428 without it.
pub fn required_idempotency_key(req: &HttpRequest, what: &str) -> Result<String, ApiError> {
    req.headers()
        .get(crate::server::idempotency::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| ApiError::PreconditionRequired(format!("{what} need an Idempotency-Key header")))
}

/// Strong ETag from a version number.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

pub fn with_etag(mut b: HttpResponseBuilder, version: i64) -> HttpResponseBuilder {
    b.insert_header((header::ETAG, etag(version)));
    b
}

/// Parses `If-Match` into the version it names. Absent or `*` = no precondition.
pub fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("").trim();
    if s == "*" {
        return Ok(None);
    }
    let s = s.strip_prefix("W/").unwrap_or(s);
    // Not an entity tag of ours at all: a malformed request (400), not a stale one (412).
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
        .parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::BadRequest("If-Match must be an ETag this API sent (like \"3\") or *".into()))
}

/// Known route templates with their methods, taken from the OpenAPI document, so that a known
/// path with the wrong method answers 405 (with `Allow`) and anything else 404.
pub struct RouteTable(pub Vec<(ResourceDef, Vec<String>)>);

impl RouteTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let mut out = Vec::new();
        for (path, item) in api.paths.paths.iter() {
            let mut methods = Vec::new();
            for (m, op) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if op.is_some() {
                    methods.push(m.to_string());
                }
            }
            out.push((ResourceDef::new(path.as_str()), methods));
        }
        RouteTable(out)
    }
}

pub async fn fallback(req: HttpRequest, table: web::Data<RouteTable>) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    for (def, methods) in &table.0 {
        if def.is_match(path) {
            return Err(ApiError::MethodNotAllowed(methods.clone()));
        }
    }
    Err(ApiError::NotFound(format!("no route for {path}")))
}
