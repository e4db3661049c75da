//! The actix runtime features stand on: state, config, extractors, headers, idempotency,
//! middleware, the OpenAPI document and health.

pub mod auth_cache;
pub mod authn;
pub mod body_limits;
pub mod config;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod input_guard;
pub mod json;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod openapi_webhooks;
pub mod state;
pub mod workers;
