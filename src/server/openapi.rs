//! The OpenAPI 3.1 document: info, security schemes, tags, and the standard problem+json error
//! responses every operation can produce (added here so no operation forgets one).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, ResponseBuilder};
use utoipa::OpenApi as _;

use crate::platform::error::{FieldError, Problem};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Concierge API",
        description = "Guest-relationship management for hotel groups: guest profiles, consents, \
interactions; stays and spend from PMS/POS; staff, properties and API keys.\n\n\
**Authentication.** Staff and guests send `Authorization: Bearer <access_token>` from \
`/api/v1/auth/login` (staff) or `/api/v1/auth/customer/login` (guests). Integrations send an API \
key as `Authorization: Bearer ck_live_…` or `X-Api-Key: ck_live_…`.\n\n\
**Errors** are RFC 9457 `application/problem+json`; 422 lists every invalid field in `errors`.\n\n\
**Lists** are cursor-paged: `?limit=` (1–200, default 50) and `?cursor=` from `next_cursor`.\n\n\
**Access.** Each operation states the roles and API-key scopes allowed. Objects outside the \
caller's properties or identity answer 404; functions a role may never call answer 403.",
        version = "1.0.0"
    ),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "auth", description = "Logins, guest registration, token refresh and logout"),
        (name = "customers", description = "Guest profiles, search, consents, integration upserts"),
        (name = "interactions", description = "Communication records with guests"),
        (name = "stays", description = "Stays and spend pushed by PMS/POS integrations"),
        (name = "loyalty", description = "Points ledger: summary, statement, adjustments, enrolment"),
        (name = "rewards", description = "Rewards catalogue and redemption orders"),
        (name = "tickets", description = "Complaints and service requests: SLA clocks, escalation, timeline"),
        (name = "ticket-settings", description = "Ticket categories, SLA policies and business calendars"),
        (name = "surveys", description = "NPS/CSAT surveys: templates, invitations, answers, scores"),
        (name = "me", description = "The guest's own profile (customer tokens)"),
        (name = "properties", description = "Hotels and branches of the group"),
        (name = "staff", description = "Staff users and roles"),
        (name = "api-keys", description = "Scoped keys for PMS/POS/OTA integrations"),
        (name = "audit", description = "The append-only audit log"),
        (name = "events", description = "The event feed: every change, gap-free, for integrations"),
        (name = "webhooks", description = "Webhook endpoints (Standard Webhooks 1.0), deliveries and recovery"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

pub fn base() -> OpenApi {
    let mut api = ApiDoc::openapi();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "Access token from a login (15 minutes). API keys are accepted here too.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Api-Key",
            "Integration key `ck_live_…` (also accepted as `Authorization: Bearer ck_live_…`).",
        ))),
    );
    api
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

fn add(op: &mut Operation, status: &str, description: &str) {
    if !op.responses.responses.contains_key(status) {
        op.responses.responses.insert(status.to_string(), problem(description));
    }
}

fn add_idempotency(op: &mut Operation) {
    use utoipa::openapi::path::ParameterBuilder;
    use utoipa::openapi::{ObjectBuilder, Required, Type};
    // Operations that answer 428 "Missing Idempotency-Key" need it from every caller; those
    // that answer 428 only to API keys say so.
    let missing = op.responses.responses.get("428").map(|r| match r {
        RefOr::T(r) => r.description.clone(),
        RefOr::Ref(_) => String::new(),
    });
    let (required, rule) = match missing.as_deref() {
        Some(d) if d.starts_with("Missing") => (Required::True, " Required on this operation (428 without it)."),
        Some(_) => (
            Required::False,
            " Required for API keys on this operation (428 without it).",
        ),
        None => (Required::False, ""),
    };
    let param = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(required)
        .description(Some(format!(
            "Retry safely: the same key with the same request from the same authenticated caller \
             replays the first answer (header `Idempotent-Replayed: true`) for 48 h; the same key \
             with another request answers 422; while the first is still running, 409. An answer is \
             stored durably before it is sent; a request is applied at most once — if the server \
             stopped between applying it and storing its answer, the retry answers 409 \
             \"already applied\" (read the resource to see the result). A caller who can no \
             longer authenticate gets 401, never a stored answer.{rule}"
        )))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$")),
        ))
        .build();
    op.parameters.get_or_insert_with(Vec::new).push(param);
    add(
        op,
        "409",
        "A request with this Idempotency-Key is still being processed, or was already applied but \
         its answer was lost when the server stopped",
    );
    add(op, "400", "Malformed JSON, or a malformed `Idempotency-Key`");
    add(
        op,
        "422",
        "Invalid fields (listed in `errors`), or an `Idempotency-Key` used for another request",
    );
}

fn has_header(op: &Operation, name: &str) -> bool {
    op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(name))
    })
}

/// Any JSON object schema without `properties` or `additionalProperties` says "an empty
/// object" to client generators (openapi-typescript makes it `Record<string, never>`): these
/// are free-form maps, so say so.
fn open_free_form_objects(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            let is_object = match o.get("type") {
                Some(serde_json::Value::String(t)) => t == "object",
                Some(serde_json::Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                _ => false,
            };
            if is_object && !o.contains_key("properties") && !o.contains_key("additionalProperties") {
                o.insert("additionalProperties".into(), serde_json::Value::Bool(true));
            }
            o.values_mut().for_each(open_free_form_objects);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(open_free_form_objects),
        _ => {}
    }
}

/// The answers every operation of its kind can give, added where the handler lists none.
fn add_common(op: &mut Operation, write: bool, body_limit: usize) {
    let secured = op
        .security
        .as_ref()
        .map(|reqs| {
            let v = serde_json::to_value(reqs).unwrap_or_default();
            v.as_array()
                .is_some_and(|a| a.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty())))
        })
        .unwrap_or(false);
    let has_body = op.request_body.is_some();
    let has_path = op
        .parameters
        .as_ref()
        .is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Path));
    let has_query = op
        .parameters
        .as_ref()
        .is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Query));
    let is_auth = op.tags.as_ref().is_some_and(|t| t.iter().any(|t| t == "auth"));
    if secured {
        add(op, "401", "Missing, invalid or expired credentials");
        add(
            op,
            "403",
            "The caller's role or API-key scope does not allow this operation",
        );
        add(op, "429", "Rate limit exceeded; see `Retry-After`");
    }
    let op_id = op.operation_id.clone().unwrap_or_default();
    if is_auth && matches!(op_id.as_str(), "login" | "customer_login" | "refresh") {
        add(op, "401", "Wrong credentials or invalid refresh token");
    }
    if is_auth && matches!(op_id.as_str(), "login" | "customer_login" | "customer_register") {
        add(op, "429", "Too many attempts; see `Retry-After`");
    }
    if has_body {
        add(op, "400", "Malformed JSON");
        let too_large = format!(
            "Body larger than {} (this operation's limit)",
            crate::server::body_limits::human(body_limit)
        );
        add(
            op,
            "408",
            "The body did not arrive within the deadline (30 s by default)",
        );
        add(op, "413", &too_large);
        add(op, "415", "Body is not `application/json`");
        add(op, "422", "Invalid fields (listed in `errors`)");
    }
    if has_query && !has_body {
        add(op, "422", "Invalid query parameters (listed in `errors`)");
    }
    let names_ids = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| p.parameter_in == ParameterIn::Query && p.name.ends_with("_id"))
    });
    if has_path || (secured && (has_body || names_ids)) {
        add(op, "404", "Not found, or outside the caller's scope");
    }
    // Every request: a NUL character in a path segment or query parameter is refused.
    add(
        op,
        "422",
        "A path or query parameter holds a NUL character (named in `errors`)",
    );
    if write {
        add(
            op,
            "409",
            "Conflicts with the current state: a duplicate, or a concurrent change (see `detail`)",
        );
    }
    if has_header(op, "If-Match") {
        add(op, "400", "Malformed `If-Match` (not an ETag this API sent)");
        add(op, "412", "Stale `If-Match`: the resource changed since it was read");
    }
    add(op, "500", "Unexpected error (details are logged, not returned)");
    if op_id != "live" {
        add(op, "503", "Database unreachable or overloaded; retry shortly");
    }
}

/// Adds the error responses each operation can produce, judged from its shape.
pub fn finalize(mut api: OpenApi) -> OpenApi {
    api.openapi = utoipa::openapi::OpenApiVersion::Version31;
    for (path, item) in api.paths.paths.iter_mut() {
        if let Some(op) = item.post.as_mut() {
            if !path.starts_with("/api/v1/auth/") {
                add_idempotency(op);
            }
        }
        for (write, op) in [
            (false, &mut item.get),
            (true, &mut item.post),
            (true, &mut item.put),
            (true, &mut item.patch),
            (true, &mut item.delete),
        ] {
            if let Some(op) = op.as_mut() {
                add_common(
                    op,
                    write,
                    crate::server::body_limits::limit_for(path, crate::server::body_limits::DEFAULT_BODY_LIMIT),
                );
            }
        }
    }
    // A round trip through JSON: the post-pass works on the document as clients see it.
    let mut doc = serde_json::to_value(&api).expect("the OpenAPI document serialises");
    open_free_form_objects(&mut doc);
    add_access(&mut doc);
    serde_json::from_value(doc).expect("the OpenAPI document deserialises")
}

/// Each operation's `**Access:**` paragraph and `x-access` rule, generated from
/// `auth::operations` (the Perm table); a hand-written Access paragraph is replaced.
fn add_access(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            let (rule, note) = crate::auth::operations::rule_of(&id)
                .unwrap_or_else(|| panic!("{method} {path} ({id}) has no access rule in auth::operations"));
            let before = op["description"].as_str().unwrap_or_default();
            let kept: Vec<&str> = before
                .split("\n\n")
                .filter(|p| !p.trim_start().starts_with("**Access:**") && !p.trim().is_empty())
                .collect();
            let access = match note {
                "" => format!("**Access:** {}", rule.describe()),
                n => format!("**Access:** {} {n}", rule.describe()),
            };
            let text = kept
                .into_iter()
                .chain([access.as_str()])
                .collect::<Vec<_>>()
                .join("\n\n");
            op["description"] = serde_json::Value::String(text);
            op["x-access"] = rule.to_json();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_states_its_access() {
        let api = crate::openapi_spec();
        let v = serde_json::to_value(&api).unwrap();
        for (path, item) in v["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let text = format!(
                    "{} {}",
                    op["summary"].as_str().unwrap_or(""),
                    op["description"].as_str().unwrap_or("")
                );
                if !path.starts_with("/health") {
                    assert!(
                        text.contains("**Access:**"),
                        "{method} {path} does not state who may call it"
                    );
                }
                assert!(op["responses"]["500"].is_object(), "{method} {path} lacks 500");
            }
        }
    }
}
