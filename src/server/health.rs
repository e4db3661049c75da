use actix_web::{get, web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::error::ApiError;
use crate::server::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness: the process serves requests.
#[utoipa::path(tag = "health", security(()), responses((status = 200, description = "Alive", body = Health)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into() })
}

/// Readiness: the database answers. 503 while it is unreachable. It asks on the bookkeeping
/// pool, so requests parked on one hot row (the main pool busy) do not make an orchestrator
/// restart an instance that is healthy.
#[utoipa::path(tag = "health", security(()), responses((status = 200, description = "Ready", body = Health)))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .bookkeeping(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| ApiError::Unavailable(format!("database: {e}")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok".into() }))
}
