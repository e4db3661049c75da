//! The feed's and the webhooks' routes.

mod endpoints;
mod feed;

pub use endpoints::*;
pub use feed::*;

use utoipa_actix_web::service_config::ServiceConfig;

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_events)
        .service(get_event_settings)
        .service(update_event_settings)
        .service(list_webhook_endpoints)
        .service(create_webhook_endpoint)
        .service(get_webhook_endpoint)
        .service(update_webhook_endpoint)
        .service(delete_webhook_endpoint)
        .service(rotate_webhook_secret)
        .service(test_webhook_endpoint)
        .service(list_webhook_deliveries)
        .service(retry_webhook_delivery)
        .service(recover_webhook_endpoint);
}
