use actix_web::{get, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Perm, Principal};
use crate::features::audit::{self, AuditFilter, AuditPage};
use crate::platform::error::ApiError;
use crate::platform::page::PageParams;
use crate::server::state::AppState;

/// The audit log, newest first: unmasked reads, profile and consent changes, role and API-key
/// changes, with actor, time, address and request id.
#[utoipa::path(tag = "audit", security(("bearer" = [])), params(AuditFilter, PageParams),
    responses((status = 200, description = "Entries", body = AuditPage)))]
#[get("/api/v1/audit-log")]
pub async fn list_audit_log(
    state: web::Data<AppState>,
    p: Principal,
    f: web::Query<AuditFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    p.require_group_wide(Perm::AuditRead)?;
    let (f, page) = (f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(state.db(move |conn| audit::list(conn, &f, &page)).await?))
}

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_audit_log);
}
