//! Wiring only: the app (routes, middleware, state), reactions between features, jobs, seed.

pub mod import_cli;
pub mod jobs;
pub mod reactions;
pub mod routes;
pub mod seed;

use crate::server::state::AppState;
use crate::server::{idempotency, input_guard, middleware};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

/// The OpenAPI document the server serves (also `concierge openapi`).
pub fn openapi_spec() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(crate::server::openapi::base())
        .configure(routes::routes)
        .split_for_parts();
    crate::server::openapi::finalize(api)
}

/// The document as served and committed: the spec with its `webhooks` section (which utoipa's
/// `OpenApi` type cannot hold).
pub fn openapi_document() -> serde_json::Value {
    crate::server::openapi_webhooks::document(&openapi_spec())
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
    reactions::install();
    let json_limit = state.config.json_limit;
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(crate::server::openapi::base())
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::default().limit(crate::server::body_limits::max_limit(json_limit)))
        .app_data(
            web::QueryConfig::default().error_handler(|err, _req| crate::platform::error::query_error(err).into()),
        )
        .app_data(web::PathConfig::default().error_handler(|err, _req| crate::platform::error::path_error(err).into()))
        .configure(routes::routes)
        .split_for_parts();
    let api = crate::server::openapi::finalize(api);
    let table = web::Data::new(crate::server::http::RouteTable::from_openapi(&api));
    let document = crate::server::openapi_webhooks::document(&api);
    app.app_data(table)
        .route(
            "/docs",
            web::get().to(|| async {
                actix_web::HttpResponse::PermanentRedirect()
                    .insert_header(("Location", "/docs/"))
                    .finish()
            }),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").external_url_unchecked("/api-docs/openapi.json", document))
        .default_service(web::to(crate::server::http::fallback))
        .wrap(actix_web::middleware::from_fn(idempotency::idempotency))
        .wrap(actix_web::middleware::from_fn(crate::server::body_limits::read_body))
        .wrap(actix_web::middleware::from_fn(input_guard::refuse_nul))
        .wrap(actix_web::middleware::from_fn(middleware::security_headers))
        .wrap(actix_web::middleware::from_fn(middleware::request_context))
}
