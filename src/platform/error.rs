//! The one error type of the API and its RFC 9457 `application/problem+json` rendering.
//! Causes of 500s are logged, never sent to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a 422 answer.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON path of the field (`email`, `preferences.pillow`, `tags[2]`).
    pub field: String,
    /// Why it was refused.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[schema(example = "urn:concierge:problem:validation")]
    #[serde(rename = "type")]
    pub type_: String,
    #[schema(example = "Validation failed")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "2 fields are invalid")]
    pub detail: String,
    /// Present on 422: every invalid field with the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For 409 on duplicates: the id of the existing resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
    /// For 409 on illegal state changes / 405: what is allowed instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed(Vec<String>),
    #[error("conflict: {detail}")]
    Conflict {
        detail: String,
        existing_id: Option<String>,
    },
    /// 409 for a state change the state machine does not allow; `allowed` names the legal ones.
    #[error("illegal transition: {detail}")]
    IllegalTransition { detail: String, allowed: Vec<String> },
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("precondition required: {0}")]
    PreconditionRequired(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// 408: the client did not send its body in time.
    #[error("request timeout: {0}")]
    RequestTimeout(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: &str, message: &str) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Validation(_) => ("validation", "Validation failed"),
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Forbidden"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict { .. } => ("conflict", "Conflict"),
            ApiError::IllegalTransition { .. } => ("illegal-transition", "Illegal state change"),
            ApiError::PreconditionFailed(_) => ("precondition-failed", "Precondition failed"),
            ApiError::PreconditionRequired(_) => ("precondition-required", "Precondition required"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            ApiError::RequestTimeout(_) => ("request-timeout", "Request timeout"),
            ApiError::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            ApiError::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.kind();
        let status = self.status_code().as_u16();
        let mut p = Problem {
            type_: format!("urn:concierge:problem:{slug}"),
            title: title.to_string(),
            status,
            detail: String::new(),
            errors: None,
            existing_id: None,
            allowed: None,
        };
        p.detail = match self {
            ApiError::Validation(errs) => {
                let d = match errs.as_slice() {
                    [one] => format!("{}: {}", one.field, one.message),
                    many => format!("{} fields are invalid", many.len()),
                };
                p.errors = Some(errs.clone());
                d
            }
            ApiError::Conflict { detail, existing_id } => {
                p.existing_id = existing_id.clone();
                detail.clone()
            }
            ApiError::IllegalTransition { detail, allowed } => {
                p.allowed = Some(allowed.clone());
                detail.clone()
            }
            ApiError::MethodNotAllowed(allowed) => {
                p.allowed = Some(allowed.clone());
                format!("allowed methods: {}", allowed.join(", "))
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("retry after {retry_after_secs} s")
            }
            ApiError::Unavailable(_) => {
                "the service is temporarily overloaded or its database is unreachable; retry shortly".into()
            }
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".into(),
            ApiError::BadRequest(d)
            | ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::PreconditionFailed(d)
            | ApiError::PreconditionRequired(d)
            | ApiError::PayloadTooLarge(d)
            | ApiError::RequestTimeout(d)
            | ApiError::UnsupportedMediaType(d) => d.clone(),
        };
        p
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } | ApiError::IllegalTransition { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => log::error!("internal error: {cause}"),
            ApiError::Unavailable(cause) => log::warn!("unavailable: {cause}"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unavailable(_) => {
                // Jittered, so clients turned away together do not come back together.
                let secs: u8 = rand::Rng::gen_range(&mut rand::thread_rng(), 1..=3);
                res.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            ApiError::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::MethodNotAllowed(allowed) => {
                res.insert_header((header::ALLOW, allowed.join(", ")));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::NotFound("not found".into()),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // The constraint names the cause for the log; its message and details may quote
                // the duplicate value (personal data) and never leave the server.
                log::debug!(
                    "unique violation on {} ({})",
                    info.table_name().unwrap_or("?"),
                    info.constraint_name().unwrap_or("?")
                );
                ApiError::Conflict {
                    detail: "a resource with the same identifying value (code, email, number…) already exists".into(),
                    existing_id: None,
                }
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                // A referenced row vanished (or is still referenced) in a race with another
                // request: a conflict, not a server error.
                log::warn!(
                    "foreign key violation on {} ({})",
                    info.table_name().unwrap_or("?"),
                    info.constraint_name().unwrap_or("?")
                );
                ApiError::Conflict {
                    detail: "a related resource was changed or removed meanwhile; reload and retry".into(),
                    existing_id: None,
                }
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::Unavailable("serialization failure".into())
            }
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => ApiError::Unavailable(format!("database connection lost: {}", info.message())),
            Error::BrokenTransactionManager | Error::RollbackErrorOnCommit { .. } => {
                ApiError::Unavailable(format!("database connection lost mid-transaction: {e}"))
            }
            Error::DatabaseError(_, ref info) if is_busy(info.message()) => {
                ApiError::Unavailable(format!("database busy: {}", info.message()))
            }
            other => ApiError::Internal(format!("database: {other}")),
        }
    }
}

/// Failures that say "not now" rather than "not this": SQLite's writer lock, PostgreSQL's
/// statement and lock timeouts (`SessionLimits`), a server shutting down, restarting or in
/// recovery. They answer 503 with Retry-After; the request changed nothing.
fn is_busy(msg: &str) -> bool {
    const TRANSIENT: [&str; 9] = [
        "deadlock detected",
        "database is locked",
        "database is busy",
        "canceling statement due to statement timeout",
        "canceling statement due to lock timeout",
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
    ];
    TRANSIENT.iter().any(|t| msg.contains(t))
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::Unavailable(format!("pool: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(format!("blocking task: {e}"))
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errs: validator::ValidationErrors) -> Self {
        let mut out = Vec::new();
        flatten_validation("", &errs, &mut out);
        out.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::Validation(out)
    }
}

fn flatten_validation(prefix: &str, errs: &validator::ValidationErrors, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errs.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let msg = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| describe_code(e));
                    out.push(FieldError::new(path.clone(), msg));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten_validation(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten_validation(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

fn describe_code(e: &validator::ValidationError) -> String {
    let p = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (Some(min), None) => format!("length must be at least {min}"),
            (None, Some(max)) => format!("length must be at most {max}"),
            _ => "invalid length".into(),
        },
        "range" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "out of range".into(),
        },
        "email" => "must be a valid email address".into(),
        other => format!("invalid ({other})"),
    }
}

/// Turns serde's JSON errors into problem details: syntax errors are 400, a body of the wrong
/// shape (unknown field, wrong type, missing field) is a 422 naming the field.
pub fn serde_error(e: &serde_json::Error) -> ApiError {
    serde_error_at(".", e)
}

/// Like `serde_error`, for an error found at the JSON path `at` (`serde_path_to_error`'s
/// rendering: `.` for the root, `tiers[1].threshold`, `?` for an unknown step).
pub fn serde_error_at(at: &str, e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            let msg = strip_position(&e.to_string());
            let at = (!at.is_empty() && at != "." && !at.contains('?')).then_some(at);
            let field = match (field_of(&msg), at) {
                // A missing field is named by serde; `at` is then its parent object.
                (Some(name), Some(parent)) if msg.starts_with("missing field") => format!("{parent}.{name}"),
                (_, Some(at)) => at.to_string(),
                (Some(name), None) => name,
                (None, None) => "body".to_string(),
            };
            let message = if msg.starts_with("unknown field") {
                "unknown field: this field does not exist or may not be set by the caller".to_string()
            } else {
                msg
            };
            ApiError::Validation(vec![FieldError::new(field, message)])
        }
        Category::Syntax | Category::Eof => {
            ApiError::BadRequest(format!("malformed JSON: {}", strip_position(&e.to_string())))
        }
        Category::Io => ApiError::BadRequest("cannot read the request body".into()),
    }
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Picks the field name out of serde messages like "unknown field `grade`, expected …" or
/// "missing field `email`".
fn field_of(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    let name = &msg[start..end];
    if msg.starts_with("unknown field") || msg.starts_with("missing field") {
        Some(name.to_string())
    } else {
        None
    }
}

pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    let msg = err.to_string();
    let msg = msg
        .strip_prefix("Query deserialize error: ")
        .unwrap_or(&msg)
        .to_string();
    let field = field_of(&msg).unwrap_or_else(|| "query".to_string());
    ApiError::Validation(vec![FieldError::new(field, msg)])
}

pub fn path_error(err: actix_web::error::PathError) -> ApiError {
    ApiError::NotFound(format!("no such resource ({err})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_becomes_422_with_the_field_name() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Me {
            given_name: String,
        }
        let e = serde_json::from_str::<Me>(r#"{"given_name":"a","grade":"vip"}"#).unwrap_err();
        match serde_error(&e) {
            ApiError::Validation(errs) => assert_eq!(errs[0].field, "grade"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn wrong_types_are_422_naming_the_json_path() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            points: i64,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Outer {
            items: Vec<Inner>,
        }
        let field = |body: &str| {
            let mut de = serde_json::Deserializer::from_str(body);
            let e = serde_path_to_error::deserialize::<_, Outer>(&mut de).unwrap_err();
            match serde_error_at(&e.path().to_string(), e.inner()) {
                ApiError::Validation(errs) => errs[0].field.clone(),
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(
            field(r#"{"items": [{"points": 1}, {"points": 1e30}]}"#),
            "items[1].points"
        );
        assert_eq!(
            field(r#"{"items": [{"points": 9223372036854775808}]}"#),
            "items[0].points"
        );
        assert_eq!(field(r#"{"items": [{"points": 1, "tier": "x"}]}"#), "items[0].tier");
        assert_eq!(field(r#"{"items": [{}]}"#), "items[0].points");
        assert_eq!(field(r#"{"grade": 1}"#), "grade");
    }

    #[test]
    fn syntax_error_is_400() {
        let e = serde_json::from_str::<serde_json::Value>("{oops").unwrap_err();
        assert!(matches!(serde_error(&e), ApiError::BadRequest(_)));
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let p = ApiError::Internal("password=hunter2 at db.rs:10".into()).problem();
        assert!(!p.detail.contains("hunter2"));
        assert_eq!(p.status, 500);
    }
}
