//! What every feature stands on: authentication and sessions, tokens, errors and input limits,
//! idempotency, concurrent writers of one record, headers, the OpenAPI document, migrations, the demo seed, faults and the outbox.

mod audit_commit;
mod auth;
mod auth_cache;
mod auth_hardening;
mod concurrency;
mod errors;
mod faults;
mod idempotency;
mod input;
mod jwt;
mod leaks_and_headers;
mod metrics;
mod migrations;
mod openapi;
mod outbox;
mod seed;
mod tokens;
