//! `ApiJson<T>`: the request-body extractor of every handler. Like `web::Json`, plus: the body
//! must be a JSON *object* (serde would otherwise accept `[a, b]` as positional struct fields),
//! and every failure is problem+json — 415 wrong content type, 413 too large, 400 malformed,
//! 422 wrong shape naming the field (its JSON path), 422 for a NUL in any string.

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::platform::error::{serde_error, serde_error_at, ApiError};

pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        // The operation's limit applies to the decoded body too (a gzip body is read compressed).
        let default = req
            .app_data::<web::Data<crate::server::state::AppState>>()
            .map_or(crate::server::body_limits::DEFAULT_BODY_LIMIT, |s| s.config.json_limit);
        let limit = crate::server::body_limits::limit_for(req.path(), default);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType(
                    "the request body must be JSON (Content-Type: application/json)".into(),
                ));
            }
            let body = bytes.await.map_err(|e| {
                if e.as_response_error().status_code().as_u16() == 413 {
                    ApiError::PayloadTooLarge("the body exceeds the limit of this operation".into())
                } else {
                    ApiError::BadRequest("cannot read the request body".into())
                }
            })?;
            if body.len() > limit {
                return Err(ApiError::PayloadTooLarge(format!(
                    "the body exceeds the {} limit of this operation",
                    crate::server::body_limits::human(limit)
                )));
            }
            match body.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => {}
                None => return Err(ApiError::BadRequest("empty body: send a JSON object".into())),
                Some(_) => return Err(ApiError::field("body", "must be a JSON object")),
            }
            // PostgreSQL refuses NUL in text: 422 naming the field, before any use case runs.
            if let Some(field) = crate::server::input_guard::nul_in_json(&body) {
                return Err(ApiError::field(&field, "must not contain NUL characters"));
            }
            let mut de = serde_json::Deserializer::from_slice(&body);
            let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let at = e.path().to_string();
                serde_error_at(&at, e.inner())
            })?;
            de.end().map_err(|e| serde_error(&e))?;
            Ok(ApiJson(value))
        })
    }
}
