//! HTTP handlers: parse the request, call one service use case, shape the answer. Every route is
//! registered in `routes` (the one place) and documented with `#[utoipa::path]`.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod customers;
pub mod health;
pub mod json;
pub mod loyalty;
pub mod me;
pub mod programme;
pub mod properties;
pub mod rewards;
pub mod staff;
pub mod stays;
pub mod surveys;
pub mod tickets;

use actix_web::dev::ResourceDef;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;

/// Every route of the API.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::live)
        .service(health::ready)
        .service(auth::login)
        .service(auth::customer_register)
        .service(auth::customer_login)
        .service(auth::refresh)
        .service(auth::logout)
        .service(properties::list_properties)
        .service(properties::create_property)
        .service(properties::get_property)
        .service(properties::update_property)
        .service(staff::list_staff)
        .service(staff::create_staff)
        .service(staff::get_staff)
        .service(staff::update_staff)
        .service(api_keys::list_api_keys)
        .service(api_keys::create_api_key)
        .service(api_keys::get_api_key)
        .service(api_keys::revoke_api_key)
        .service(audit::list_audit_log)
        .service(customers::list_customers)
        .service(customers::create_customer)
        .service(customers::get_customer_by_ref)
        .service(customers::upsert_customer_by_ref)
        .service(customers::get_customer)
        .service(customers::update_customer)
        .service(customers::set_customer_consent)
        .service(customers::list_customer_consent_history)
        .service(customers::list_interactions)
        .service(customers::create_interaction)
        .service(customers::update_interaction)
        .service(stays::push_stay)
        .service(stays::push_stay_batch)
        .service(stays::get_stay)
        .service(stays::update_stay)
        .service(stays::push_spend)
        .service(stays::list_customer_stays)
        .service(loyalty::get_loyalty)
        .service(loyalty::list_loyalty_entries)
        .service(loyalty::create_loyalty_adjustment)
        .service(loyalty::enrol_customer)
        .service(loyalty::get_my_loyalty)
        .service(loyalty::list_my_loyalty_entries)
        .service(programme::get_programme)
        .service(programme::update_programme)
        .service(programme::set_property_loyalty_rules)
        .service(programme::remove_property_loyalty_rules)
        .service(rewards::list_rewards)
        .service(rewards::create_reward)
        .service(rewards::update_reward)
        .service(rewards::redeem)
        .service(rewards::list_my_redemptions)
        .service(rewards::list_customer_redemptions)
        .service(rewards::fulfil_redemption)
        .service(rewards::cancel_redemption)
        .service(tickets::create_ticket)
        .service(tickets::list_tickets)
        .service(tickets::get_ticket)
        .service(tickets::update_ticket)
        .service(tickets::transition_ticket)
        .service(tickets::comment_ticket)
        .service(tickets::handover_ticket)
        .service(tickets::ticket_timeline)
        .service(tickets::offer_compensation)
        .service(tickets::list_ticket_compensations)
        .service(tickets::list_compensations)
        .service(tickets::approve_compensation)
        .service(tickets::reject_compensation)
        .service(tickets::ticket_report)
        .service(tickets::create_my_ticket)
        .service(tickets::list_my_tickets)
        .service(tickets::get_my_ticket)
        .service(tickets::my_ticket_timeline)
        .service(tickets::comment_my_ticket)
        .service(tickets::confirm_my_ticket)
        .service(tickets::reopen_my_ticket)
        .service(tickets::list_ticket_categories)
        .service(tickets::put_ticket_category)
        .service(tickets::list_sla_policies)
        .service(tickets::put_group_sla_policy)
        .service(tickets::put_property_sla_policy)
        .service(tickets::delete_property_sla_policy)
        .service(tickets::get_business_calendar)
        .service(tickets::put_business_calendar)
        .service(tickets::delete_business_calendar)
        .service(tickets::get_escalation_contacts)
        .service(tickets::put_escalation_contacts)
        .service(tickets::get_ticket_settings)
        .service(tickets::put_ticket_settings)
        .service(surveys::create_survey_template)
        .service(surveys::list_survey_templates)
        .service(surveys::get_survey_template)
        .service(surveys::update_survey_template)
        .service(surveys::get_survey_settings)
        .service(surveys::put_survey_settings)
        .service(surveys::create_survey_invitation)
        .service(surveys::get_survey_invitation)
        .service(surveys::new_survey_link)
        .service(surveys::my_survey_invitations)
        .service(surveys::answer_my_survey)
        .service(surveys::survey_link_questions)
        .service(surveys::answer_survey_link)
        .service(surveys::list_survey_responses)
        .service(surveys::survey_scores)
        .service(surveys::list_survey_invitations)
        .service(surveys::answer_survey_invitation)
        .service(surveys::satisfaction_report)
        .service(me::get_me)
        .service(me::update_me)
        .service(me::set_my_consent)
        .service(me::list_my_consent_history);
}

/// The `Idempotency-Key` of a request that must carry one (ledger postings, integration
/// pushes): 428 without it.
pub fn required_idempotency_key(req: &HttpRequest, what: &str) -> Result<String, ApiError> {
    req.headers()
        .get(crate::idempotency::HEADER)
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
