//! Tickets: staff queues and case handling, integrations opening tickets, guests following
//! their own from the app; plus the ticket rules (categories, SLA policies, calendars).

use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Actor, Perm, Principal};
use crate::features::tickets::compensation::{
    self, Compensation, CompensationFilter, CompensationOffer, CompensationPage, Decision,
};
use crate::features::tickets::config::{
    self as ticket_config, BusinessCalendar, CategoryUpsert, EscalationContacts, Severity, SlaPolicy, SlaPolicyInput,
    TicketCategory, TicketSettings, TicketSettingsUpdate,
};
use crate::features::tickets::reports::{self as ticket_reports, ReportParams, TicketReport};
use crate::features::tickets::service::{
    self as tickets, CommentCreate, Handover, MyComment, MyTicket, MyTicketCreate, MyTicketPage, ReopenRequest, Ticket,
    TicketCreate, TicketFilter, TicketPage, TicketPatch, TimelineEntry, TimelineFilter, TimelinePage,
    TransitionRequest,
};
use crate::platform::error::{ApiError, Problem};
use crate::platform::page::PageParams;
use crate::server::http::{if_match, with_etag};
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// Opens a ticket. Staff own what they log (first-contact ownership) unless they name another
/// owner; integrations (e.g. an OTA review) open unowned tickets and must send
/// `Idempotency-Key`. The SLA policy of the severity (the property's override, else the
/// group's) sets the due times; `on_site` gets a first response within 15 minutes, OTA reviews
/// and survey feedback within 24 hours; `critical` starts at escalation level 3.
#[utoipa::path(tag = "tickets", security(("bearer" = []), ("api_key" = [])), request_body = TicketCreate,
    responses((status = 201, description = "Opened", body = Ticket, headers(("ETag" = String, description = "Version for If-Match"))),
              (status = 428, description = "API key without Idempotency-Key", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/tickets")]
pub async fn create_ticket(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    body: ApiJson<TicketCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::TicketsWrite)?;
    if matches!(p.actor, Actor::ApiKey(_)) {
        crate::server::http::required_idempotency_key(&req, "integrations opening tickets")?;
    }
    let body = body.into_inner();
    let t = state.db(move |conn| tickets::create(conn, &p, body)).await?;
    Ok(with_etag(HttpResponse::Created(), t.version).json(t))
}

/// The ticket queue of the caller's properties, newest first, with filters.
#[utoipa::path(tag = "tickets", security(("bearer" = []), ("api_key" = [])),
    params(TicketFilter, PageParams),
    responses((status = 200, description = "Tickets", body = TicketPage)))]
#[get("/api/v1/tickets")]
pub async fn list_tickets(
    state: web::Data<AppState>,
    p: Principal,
    f: web::Query<TicketFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (f, page) = (f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| tickets::list(conn, &p, &f, &page)).await?))
}

/// One ticket with its SLA clocks (404 outside the caller's properties).
#[utoipa::path(tag = "tickets", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 200, description = "The ticket", body = Ticket, headers(("ETag" = String, description = "Version for If-Match")))))]
#[get("/api/v1/tickets/{id}")]
pub async fn get_ticket(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let t = state.db(move |conn| tickets::get(conn, &p, &id)).await?;
    Ok(with_etag(HttpResponse::Ok(), t.version).json(t))
}

/// Re-triages a ticket: category, severity (re-applies the SLA from the opening time;
/// `critical` escalates to level 3), subject. `If-Match` guards against lost updates.
#[utoipa::path(tag = "tickets", security(("bearer" = []), ("api_key" = [])), request_body = TicketPatch,
    params(("id" = String, Path, description = "Ticket id"), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    responses((status = 200, description = "Updated", body = Ticket, headers(("ETag" = String, description = "Version for If-Match"))),
              (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json")))]
#[patch("/api/v1/tickets/{id}")]
pub async fn update_ticket(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<TicketPatch>,
) -> Result<HttpResponse, ApiError> {
    let version = if_match(&req)?;
    let (id, body) = (id.into_inner(), body.into_inner());
    let t = state
        .db(move |conn| tickets::update(conn, &p, &id, body, version))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), t.version).json(t))
}

/// Moves a ticket along `new → acknowledged → investigating → awaiting_customer → resolved →
/// closed`, or `reopened` within the reopen window. An illegal change answers 409 with the
/// allowed states in `allowed`; `resolved` needs `resolution_summary` (shown to the guest).
/// `awaiting_customer` pauses the resolution clock; leaving it resumes the clock.
#[utoipa::path(tag = "tickets", security(("bearer" = []), ("api_key" = [])), request_body = TransitionRequest,
    params(("id" = String, Path, description = "Ticket id"), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    responses((status = 200, description = "The ticket after the change", body = Ticket, headers(("ETag" = String, description = "Version for If-Match"))),
              (status = 409, description = "Illegal change (see `allowed`) or reopen window passed", body = Problem, content_type = "application/problem+json"),
              (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/tickets/{id}/transitions")]
pub async fn transition_ticket(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    let version = if_match(&req)?;
    let (id, body) = (id.into_inner(), body.into_inner());
    let t = state
        .db(move |conn| tickets::transition(conn, &p, &id, body, version))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), t.version).json(t))
}

/// Adds a comment: `internal` (default) or `customer_visible`. The first customer-visible
/// comment is the first response (SLA `met`, or `breached` when late).
#[utoipa::path(tag = "tickets", security(("bearer" = []), ("api_key" = [])), request_body = CommentCreate,
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 201, description = "The timeline entry", body = TimelineEntry)))]
#[post("/api/v1/tickets/{id}/comments")]
pub async fn comment_ticket(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<CommentCreate>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Created().json(state.db(move |conn| tickets::comment(conn, &p, &id, body)).await?))
}

/// Hands the ticket to another staff member (recorded on the timeline). The owner hands over;
/// managers and admins may reassign; anyone may take an unowned ticket.
#[utoipa::path(tag = "tickets", security(("bearer" = [])), request_body = Handover,
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 200, description = "The ticket with its new owner", body = Ticket, headers(("ETag" = String, description = "Version for If-Match")))))]
#[post("/api/v1/tickets/{id}/handover")]
pub async fn handover_ticket(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<Handover>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let t = state.db(move |conn| tickets::handover(conn, &p, &id, body)).await?;
    Ok(with_etag(HttpResponse::Ok(), t.version).json(t))
}

/// The ticket's timeline, oldest first: creation, comments, state changes, handovers, SLA
/// events (`?kind=sla`), escalations with who was notified, compensation.
#[utoipa::path(tag = "tickets", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Ticket id"), TimelineFilter, PageParams),
    responses((status = 200, description = "Timeline entries", body = TimelinePage)))]
#[get("/api/v1/tickets/{id}/timeline")]
pub async fn ticket_timeline(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    f: web::Query<TimelineFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, f, page) = (id.into_inner(), f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| tickets::timeline(conn, &p, &id, &f, &page))
            .await?,
    ))
}

// ---- the guest's own tickets ----------------------------------------------------------------

/// Opens a ticket from the app (channel `app`; staff set the severity when they triage it).
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = MyTicketCreate,
    responses((status = 201, description = "Opened", body = MyTicket)))]
#[post("/api/v1/me/tickets")]
pub async fn create_my_ticket(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<MyTicketCreate>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    Ok(HttpResponse::Created().json(state.db(move |conn| tickets::create_mine(conn, &p, body)).await?))
}

/// The guest's own tickets, newest first.
#[utoipa::path(tag = "me", security(("bearer" = [])), params(PageParams),
    responses((status = 200, description = "Own tickets", body = MyTicketPage)))]
#[get("/api/v1/me/tickets")]
pub async fn list_my_tickets(
    state: web::Data<AppState>,
    p: Principal,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| tickets::list_mine(conn, &p, &page)).await?))
}

/// One of the guest's own tickets (404 for anyone else's).
#[utoipa::path(tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 200, description = "The ticket", body = MyTicket)))]
#[get("/api/v1/me/tickets/{id}")]
pub async fn get_my_ticket(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| tickets::get_mine(conn, &p, &id)).await?))
}

/// The customer-visible entries of the guest's own ticket, oldest first (internal notes,
/// SLA events and escalations are never shown).
#[utoipa::path(tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "Ticket id"), TimelineFilter, PageParams),
    responses((status = 200, description = "Timeline entries", body = TimelinePage)))]
#[get("/api/v1/me/tickets/{id}/timeline")]
pub async fn my_ticket_timeline(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    f: web::Query<TimelineFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, f, page) = (id.into_inner(), f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| tickets::timeline_mine(conn, &p, &id, &f, &page))
            .await?,
    ))
}

/// The guest writes on their ticket; a reply while the hotel awaits them moves the ticket back
/// to `investigating` and resumes the resolution clock.
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = MyComment,
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 201, description = "The timeline entry", body = TimelineEntry),
              (status = 409, description = "The ticket is closed", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/me/tickets/{id}/comments")]
pub async fn comment_my_ticket(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<MyComment>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Created().json(state.db(move |conn| tickets::comment_mine(conn, &p, &id, body)).await?))
}

/// The guest confirms the resolution: the ticket closes.
#[utoipa::path(tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 200, description = "Closed", body = MyTicket),
              (status = 409, description = "Not resolved", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/me/tickets/{id}/confirm")]
pub async fn confirm_my_ticket(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| tickets::confirm_mine(conn, &p, &id)).await?))
}

/// The guest reopens a resolved or closed ticket within the reopen window (default 30 days).
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = ReopenRequest,
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 200, description = "Reopened", body = MyTicket),
              (status = 409, description = "Not resolved or closed, or the window has passed", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/me/tickets/{id}/reopen")]
pub async fn reopen_my_ticket(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<ReopenRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| tickets::reopen_mine(conn, &p, &id, body)).await?))
}

// ---- rules ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CategoryFilter {
    /// Staff only: include retired categories.
    pub include_inactive: Option<bool>,
}

/// The ticket categories in display order (active ones unless staff ask for all).
#[utoipa::path(tag = "ticket-settings", security(("bearer" = []), ("api_key" = [])), params(CategoryFilter),
    responses((status = 200, description = "Categories", body = Vec<TicketCategory>)))]
#[get("/api/v1/ticket-categories")]
pub async fn list_ticket_categories(
    state: web::Data<AppState>,
    p: Principal,
    f: web::Query<CategoryFilter>,
) -> Result<HttpResponse, ApiError> {
    let all = f.include_inactive.unwrap_or(false) && matches!(p.actor, Actor::Staff(_));
    Ok(HttpResponse::Ok().json(state.db(move |conn| ticket_config::list_categories(conn, all)).await?))
}

/// Creates a category or renames, reorders, retires (`active: false`) one. Retired categories
/// stay on old tickets. Audited.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = [])), request_body = CategoryUpsert,
    params(("code" = String, Path, description = "Category code (a-z, 0-9, _)")),
    responses((status = 200, description = "Updated", body = TicketCategory), (status = 201, description = "Created", body = TicketCategory)))]
#[put("/api/v1/ticket-categories/{code}")]
pub async fn put_ticket_category(
    state: web::Data<AppState>,
    p: Principal,
    code: web::Path<String>,
    body: ApiJson<CategoryUpsert>,
) -> Result<HttpResponse, ApiError> {
    let (code, body) = (code.into_inner(), body.into_inner());
    let (c, created) = state
        .db(move |conn| ticket_config::upsert_category(conn, &p, &code, body))
        .await?;
    Ok(if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(c))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyFilter {
    /// The policies in force at this property (its overrides marked by `property_id`).
    pub property_id: Option<String>,
}

/// SLA policies per severity: the group's, or those in force at a property.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = []), ("api_key" = [])), params(PolicyFilter),
    responses((status = 200, description = "One policy per severity", body = Vec<SlaPolicy>)))]
#[get("/api/v1/sla-policies")]
pub async fn list_sla_policies(
    state: web::Data<AppState>,
    p: Principal,
    f: web::Query<PolicyFilter>,
) -> Result<HttpResponse, ApiError> {
    let f = f.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| ticket_config::list_policies(conn, &p, f.property_id.as_deref()))
            .await?,
    ))
}

/// Sets the group's SLA policy for a severity. Open tickets keep their due times. Audited.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = [])), request_body = SlaPolicyInput,
    params(("severity" = Severity, Path, description = "Severity")),
    responses((status = 200, description = "The policy", body = SlaPolicy)))]
#[put("/api/v1/sla-policies/{severity}")]
pub async fn put_group_sla_policy(
    state: web::Data<AppState>,
    p: Principal,
    severity: web::Path<Severity>,
    body: ApiJson<SlaPolicyInput>,
) -> Result<HttpResponse, ApiError> {
    let (severity, body) = (severity.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| ticket_config::set_policy(conn, &p, None, severity, body))
            .await?,
    ))
}

/// Sets a property's own SLA policy for a severity (overrides the group's there). Audited.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = [])), request_body = SlaPolicyInput,
    params(("id" = String, Path, description = "Property id"), ("severity" = Severity, Path, description = "Severity")),
    responses((status = 200, description = "The policy", body = SlaPolicy)))]
#[put("/api/v1/properties/{id}/sla-policies/{severity}")]
pub async fn put_property_sla_policy(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, Severity)>,
    body: ApiJson<SlaPolicyInput>,
) -> Result<HttpResponse, ApiError> {
    let ((id, severity), body) = (path.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| ticket_config::set_policy(conn, &p, Some(&id), severity, body))
            .await?,
    ))
}

/// Removes a property's override: the group's policy applies there again. Audited.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = [])),
    params(("id" = String, Path, description = "Property id"), ("severity" = Severity, Path, description = "Severity")),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No override", body = Problem, content_type = "application/problem+json")))]
#[delete("/api/v1/properties/{id}/sla-policies/{severity}")]
pub async fn delete_property_sla_policy(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, Severity)>,
) -> Result<HttpResponse, ApiError> {
    let (id, severity) = path.into_inner();
    state
        .db(move |conn| ticket_config::remove_policy(conn, &p, &id, severity))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A property's business-hours calendar (404: its SLA clocks run 24/7).
#[utoipa::path(tag = "ticket-settings", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Property id")),
    responses((status = 200, description = "The calendar", body = BusinessCalendar)))]
#[get("/api/v1/properties/{id}/business-calendar")]
pub async fn get_business_calendar(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| ticket_config::get_calendar(conn, &p, &id)).await?))
}

/// Sets a property's business hours and holidays (its time zone): from now on SLA clocks count
/// working time only — new tickets, and every clock computed later on open ones (pauses,
/// resumes, reopenings, re-triage); due times already set stay. The on-site 15-minute rule
/// stays wall-clock. Audited.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = [])), request_body = BusinessCalendar,
    params(("id" = String, Path, description = "Property id")),
    responses((status = 200, description = "The calendar", body = BusinessCalendar)))]
#[put("/api/v1/properties/{id}/business-calendar")]
pub async fn put_business_calendar(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<BusinessCalendar>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| ticket_config::set_calendar(conn, &p, &id, body))
            .await?,
    ))
}

/// Removes a property's calendar: its clocks run 24/7 again. Audited.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = [])),
    params(("id" = String, Path, description = "Property id")),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No calendar", body = Problem, content_type = "application/problem+json")))]
#[delete("/api/v1/properties/{id}/business-calendar")]
pub async fn delete_business_calendar(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db(move |conn| ticket_config::remove_calendar(conn, &p, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- compensation -------------------------------------------------------------------------

/// Offers compensation on a ticket. Within the offerer's limit (defaults: agent ≤ 500 currency
/// units or 2,000 points, manager ≤ 5,000 or 20,000, admin unlimited) it is approved at once —
/// points post to the guest's ledger; above it, it waits in the approval queue.
#[utoipa::path(tag = "tickets", security(("bearer" = [])), request_body = CompensationOffer,
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 201, description = "Offered (state `approved` or `pending_approval`)", body = Compensation)))]
#[post("/api/v1/tickets/{id}/compensations")]
pub async fn offer_compensation(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<CompensationOffer>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Created().json(state.db(move |conn| compensation::offer(conn, &p, &id, body)).await?))
}

/// The compensation offered on a ticket, oldest first.
#[utoipa::path(tag = "tickets", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 200, description = "Compensation", body = Vec<Compensation>)))]
#[get("/api/v1/tickets/{id}/compensations")]
pub async fn list_ticket_compensations(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| compensation::list_for_ticket(conn, &p, &id))
            .await?,
    ))
}

/// Compensation across the caller's properties, newest first; `?state=pending_approval` is the
/// approval queue.
#[utoipa::path(tag = "tickets", security(("bearer" = [])), params(CompensationFilter, PageParams),
    responses((status = 200, description = "Compensation", body = CompensationPage)))]
#[get("/api/v1/compensations")]
pub async fn list_compensations(
    state: web::Data<AppState>,
    p: Principal,
    f: web::Query<CompensationFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (f, page) = (f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| compensation::list(conn, &p, &f, &page)).await?))
}

/// Approves a pending compensation: the approver's limit must cover it and the approver must
/// not be its offerer. Points post to the ledger exactly once; approving again answers the
/// approved compensation unchanged.
#[utoipa::path(tag = "tickets", security(("bearer" = [])), request_body = Decision,
    params(("id" = String, Path, description = "Compensation id")),
    responses((status = 200, description = "Approved", body = Compensation),
              (status = 409, description = "Already rejected", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/compensations/{id}/approve")]
pub async fn approve_compensation(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<Decision>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| compensation::approve(conn, &p, &id, body)).await?))
}

/// Rejects a pending compensation (nothing is posted).
#[utoipa::path(tag = "tickets", security(("bearer" = [])), request_body = Decision,
    params(("id" = String, Path, description = "Compensation id")),
    responses((status = 200, description = "Rejected", body = Compensation),
              (status = 409, description = "Already approved", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/compensations/{id}/reject")]
pub async fn reject_compensation(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<Decision>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| compensation::reject(conn, &p, &id, body)).await?))
}

/// The ticket report for a period (default the last 30 days) and optionally one property:
/// counts by state, severity, category, kind, channel and property; median and p90 minutes to
/// first response and to resolution; breach, reopen and resolution rates. No personal data.
#[utoipa::path(tag = "tickets", security(("bearer" = [])), params(ReportParams),
    responses((status = 200, description = "The report", body = TicketReport)))]
#[get("/api/v1/ticket-reports")]
pub async fn ticket_report(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| ticket_reports::report(conn, &p, &q)).await?))
}

/// Who is notified at each escalation level of a property (empty levels fall back to the
/// property's managers, or the group's admins at level 3).
#[utoipa::path(tag = "ticket-settings", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Property id")),
    responses((status = 200, description = "The contacts", body = EscalationContacts)))]
#[get("/api/v1/properties/{id}/escalation-contacts")]
pub async fn get_escalation_contacts(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| ticket_config::get_contacts(conn, &p, &id)).await?))
}

/// Replaces a property's escalation contacts: active managers or admins who work there. Audited.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = [])), request_body = EscalationContacts,
    params(("id" = String, Path, description = "Property id")),
    responses((status = 200, description = "The contacts", body = EscalationContacts)))]
#[put("/api/v1/properties/{id}/escalation-contacts")]
pub async fn put_escalation_contacts(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<EscalationContacts>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| ticket_config::set_contacts(conn, &p, &id, body))
            .await?,
    ))
}

/// Ticket settings: auto-close delay, reopen window, compensation limits per role.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "The settings", body = TicketSettings)))]
#[get("/api/v1/ticket-settings")]
pub async fn get_ticket_settings(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.db(move |conn| ticket_config::get_settings(conn, &p)).await?))
}

/// Replaces the ticket settings (every field). Applies from now on. Audited with before/after.
#[utoipa::path(tag = "ticket-settings", security(("bearer" = [])), request_body = TicketSettingsUpdate,
    responses((status = 200, description = "The settings", body = TicketSettings)))]
#[put("/api/v1/ticket-settings")]
pub async fn put_ticket_settings(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<TicketSettingsUpdate>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| ticket_config::set_settings(conn, &p, body))
            .await?,
    ))
}

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_ticket)
        .service(list_tickets)
        .service(get_ticket)
        .service(update_ticket)
        .service(transition_ticket)
        .service(comment_ticket)
        .service(handover_ticket)
        .service(ticket_timeline)
        .service(offer_compensation)
        .service(list_ticket_compensations)
        .service(list_compensations)
        .service(approve_compensation)
        .service(reject_compensation)
        .service(ticket_report)
        .service(create_my_ticket)
        .service(list_my_tickets)
        .service(get_my_ticket)
        .service(my_ticket_timeline)
        .service(comment_my_ticket)
        .service(confirm_my_ticket)
        .service(reopen_my_ticket)
        .service(list_ticket_categories)
        .service(put_ticket_category)
        .service(list_sla_policies)
        .service(put_group_sla_policy)
        .service(put_property_sla_policy)
        .service(delete_property_sla_policy)
        .service(get_business_calendar)
        .service(put_business_calendar)
        .service(delete_business_calendar)
        .service(get_escalation_contacts)
        .service(put_escalation_contacts)
        .service(get_ticket_settings)
        .service(put_ticket_settings);
}
