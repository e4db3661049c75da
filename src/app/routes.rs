//! The one route table: every operation of the API, feature by feature (each feature's
//! `api::routes` lists its own); actix matches in this order.

use utoipa_actix_web::service_config::ServiceConfig;

use crate::features;
use crate::server::{health, metrics};

/// Every route of the API.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::live)
        .service(health::ready)
        .service(metrics::metrics);
    features::sessions::api::routes(cfg);
    features::properties::api::routes(cfg);
    features::staff::api::routes(cfg);
    features::audit::api::routes(cfg);
    features::guests::api::routes(cfg);
    features::stays::api::routes(cfg);
    features::loyalty::api::routes(cfg);
    features::tickets::api::routes(cfg);
    features::surveys::api::routes(cfg);
    features::events::api::routes(cfg);
}
