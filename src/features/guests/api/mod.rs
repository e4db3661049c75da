pub mod imports;
pub mod me;

use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Principal;
use crate::features::guests::customers;
use crate::features::guests::interactions::{
    self, Interaction, InteractionCreate, InteractionFilter, InteractionPage, InteractionPatch,
};
use crate::features::guests::model::*;
use crate::platform::error::{ApiError, Problem};
use crate::platform::page::PageParams;
use crate::server::http::{if_match, with_etag};
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// Searches guests. Filters combine with AND; cursor pages in creation order.
/// Agents get masked contact data, analysts no personal fields (and may not filter by them).
/// Unmasked reads are audited.
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])), params(CustomerFilter, PageParams),
    responses((status = 200, description = "A page of guests", body = CustomerPage)))]
#[get("/api/v1/customers")]
pub async fn list_customers(
    state: web::Data<AppState>,
    p: Principal,
    f: web::Query<CustomerFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let cipher = state.cipher.clone();
    let (f, page) = (f.into_inner(), page.into_inner());
    let out = state
        .db_then_commit(move |conn| customers::list(conn, &cipher, &p, &f, &page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Creates a guest profile. Same email or phone as an existing guest → 409 with `existing_id`.
/// Unknown fields → 422.
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])), request_body = CustomerCreate,
    responses((status = 201, description = "Created", body = Customer, headers(("ETag" = String, description = "Version for If-Match"))),
              (status = 409, description = "Duplicate email, phone or external reference; `existing_id` names the guest", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/customers")]
pub async fn create_customer(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<CustomerCreate>,
) -> Result<HttpResponse, ApiError> {
    let cipher = state.cipher.clone();
    let body = body.into_inner();
    let c = state.db(move |conn| customers::create(conn, &cipher, &p, body)).await?;
    Ok(with_etag(HttpResponse::Created(), c.version).json(c))
}

/// The 360° view of a guest: profile, consents, references and recent stays (in the caller's
/// properties). Masked by role; unmasked reads are audited.
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "The guest", body = Customer, headers(("ETag" = String, description = "Version for If-Match")))))]
#[get("/api/v1/customers/{id}")]
pub async fn get_customer(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cipher = state.cipher.clone();
    let id = id.into_inner();
    let c = state
        .db_then_commit(move |conn| customers::get(conn, &cipher, &p, &id))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), c.version).json(c))
}

/// Partial update. Send `If-Match` with the `ETag` of your read: a stale version answers 412
/// and changes nothing. `null` clears a field; lists and objects are replaced whole.
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])), request_body = CustomerPatch,
    params(("id" = String, Path, description = "Customer id"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    responses((status = 200, description = "Updated", body = Customer, headers(("ETag" = String, description = "New version"))),
              (status = 409, description = "Duplicate email, phone or reference", body = Problem, content_type = "application/problem+json"),
              (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json")))]
#[patch("/api/v1/customers/{id}")]
pub async fn update_customer(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<CustomerPatch>,
) -> Result<HttpResponse, ApiError> {
    let version = if_match(&req)?;
    let cipher = state.cipher.clone();
    let (id, body) = (id.into_inner(), body.into_inner());
    p.refuse_guest("PATCH /api/v1/me to update their profile")?;
    let c = state
        .db(move |conn| customers::update(conn, &cipher, &p, &id, body, version))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), c.version).json(c))
}

/// Finds the guest an integration knows by its own id.
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])),
    params(("system" = String, Path, description = "Integrated system, e.g. `opera_pms`"),
           ("external_id" = String, Path, description = "The guest's id in that system")),
    responses((status = 200, description = "The guest", body = Customer, headers(("ETag" = String, description = "Version for If-Match"))),
              (status = 422, description = "Malformed system or external id", body = Problem, content_type = "application/problem+json")))]
#[get("/api/v1/customers/external/{system}/{external_id}")]
pub async fn get_customer_by_ref(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let cipher = state.cipher.clone();
    let (system, ext) = path.into_inner();
    let c = state
        .db_then_commit(move |conn| customers::get_by_ref(conn, &cipher, &p, &system, &ext))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), c.version).json(c))
}

/// Integration upsert by `(system, external_id)`: updates the guest holding the reference, or
/// links it to the guest with the same email/phone, or creates a new guest (201). Fields
/// present overwrite; absent fields are kept.
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])), request_body = CustomerCreate,
    params(("system" = String, Path, description = "Integrated system, e.g. `opera_pms`"),
           ("external_id" = String, Path, description = "The guest's id in that system")),
    responses((status = 200, description = "Updated or linked", body = UpsertResult, headers(("ETag" = String, description = "Version for If-Match"))),
              (status = 201, description = "Created", body = UpsertResult, headers(("ETag" = String, description = "Version for If-Match"))),
              (status = 409, description = "Conflicting email, phone or reference", body = Problem, content_type = "application/problem+json")))]
#[put("/api/v1/customers/external/{system}/{external_id}")]
pub async fn upsert_customer_by_ref(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: ApiJson<CustomerCreate>,
) -> Result<HttpResponse, ApiError> {
    let cipher = state.cipher.clone();
    let (system, ext) = path.into_inner();
    let body = body.into_inner();
    let r = state
        .db(move |conn| customers::upsert_by_ref(conn, &cipher, &p, &system, &ext, body))
        .await?;
    let b = if r.outcome == "created" {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(with_etag(b, r.customer.version).json(r))
}

/// Records a consent decision (granted or withdrawn) with who, when and the source channel.
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])), request_body = ConsentUpdate,
    params(("id" = String, Path, description = "Customer id"), ("purpose" = ConsentPurpose, Path, description = "Consent purpose")),
    responses((status = 200, description = "The consent now", body = ConsentState)))]
#[put("/api/v1/customers/{id}/consents/{purpose}")]
pub async fn set_customer_consent(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, ConsentPurpose)>,
    body: ApiJson<ConsentUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (id, purpose) = path.into_inner();
    p.refuse_guest("/api/v1/me/consents to manage their consents")?;
    let body = body.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| customers::set_consent(conn, &p, &id, purpose, body))
            .await?,
    ))
}

/// Consent history, newest first.
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])), params(("id" = String, Path, description = "Customer id"), PageParams),
    responses((status = 200, description = "Consent events", body = ConsentEventPage)))]
#[get("/api/v1/customers/{id}/consents/history")]
pub async fn list_customer_consent_history(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, page) = (id.into_inner(), page.into_inner());
    p.refuse_guest("/api/v1/me/consents/history to read their consent history")?;
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| customers::consent_history(conn, &p, &id, &page))
            .await?,
    ))
}

/// Communication records with the guest, newest first (outside the caller's properties left out).
#[utoipa::path(tag = "interactions", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Customer id"), InteractionFilter, PageParams),
    responses((status = 200, description = "Interactions", body = InteractionPage)))]
#[get("/api/v1/customers/{id}/interactions")]
pub async fn list_interactions(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    f: web::Query<InteractionFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, f, page) = (id.into_inner(), f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| interactions::list(conn, &p, &id, &f, &page))
            .await?,
    ))
}

/// Logs a communication with the guest; the caller is recorded as the staff member.
#[utoipa::path(tag = "interactions", security(("bearer" = []), ("api_key" = [])), request_body = InteractionCreate,
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 201, description = "Logged", body = Interaction)))]
#[post("/api/v1/customers/{id}/interactions")]
pub async fn create_interaction(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<InteractionCreate>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Created().json(state.db(move |conn| interactions::create(conn, &p, &id, body)).await?))
}

/// Updates the result or follow-up of an interaction.
#[utoipa::path(tag = "interactions", security(("bearer" = []), ("api_key" = [])), request_body = InteractionPatch,
    params(("id" = String, Path, description = "Customer id"), ("interaction_id" = String, Path, description = "Interaction id")),
    responses((status = 200, description = "Updated", body = Interaction)))]
#[patch("/api/v1/customers/{id}/interactions/{interaction_id}")]
pub async fn update_interaction(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: ApiJson<InteractionPatch>,
) -> Result<HttpResponse, ApiError> {
    let ((id, iid), body) = (path.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| interactions::update(conn, &p, &id, &iid, body))
            .await?,
    ))
}

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_customers)
        .service(create_customer)
        .service(imports::create_customer_import)
        .service(imports::get_customer_import)
        .service(get_customer_by_ref)
        .service(upsert_customer_by_ref)
        .service(get_customer)
        .service(update_customer)
        .service(set_customer_consent)
        .service(list_customer_consent_history)
        .service(list_interactions)
        .service(create_interaction)
        .service(update_interaction)
        .service(me::get_me)
        .service(me::update_me)
        .service(me::set_my_consent)
        .service(me::list_my_consent_history);
}
