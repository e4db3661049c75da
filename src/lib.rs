//! Concierge: guest-relationship management API.
//!
//! `build_app` is the one place where routes, middleware and state are wired.

pub mod api;
pub mod auth;
pub mod body_limits;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod input_guard;
pub mod jobs;
pub mod middleware;
pub mod openapi;
pub mod services;
pub mod state;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub use state::AppState;

/// The OpenAPI document the server serves (also `concierge openapi`).
pub fn openapi_spec() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(openapi::base())
        .configure(api::routes)
        .split_for_parts();
    openapi::finalize(api)
}

pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json_limit = state.config.json_limit;
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(openapi::base())
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::default().limit(body_limits::max_limit(json_limit)))
        .app_data(web::QueryConfig::default().error_handler(|err, _req| error::query_error(err).into()))
        .app_data(web::PathConfig::default().error_handler(|err, _req| error::path_error(err).into()))
        .configure(api::routes)
        .split_for_parts();
    let api = openapi::finalize(api);
    let table = web::Data::new(api::RouteTable::from_openapi(&api));
    app.app_data(table)
        .route(
            "/docs",
            web::get().to(|| async {
                actix_web::HttpResponse::PermanentRedirect()
                    .insert_header(("Location", "/docs/"))
                    .finish()
            }),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").url("/api-docs/openapi.json", api))
        .default_service(web::to(api::fallback))
        .wrap(actix_web::middleware::from_fn(idempotency::idempotency))
        .wrap(actix_web::middleware::from_fn(body_limits::read_body))
        .wrap(actix_web::middleware::from_fn(input_guard::refuse_nul))
        .wrap(actix_web::middleware::from_fn(middleware::security_headers))
        .wrap(actix_web::middleware::from_fn(middleware::request_context))
}
