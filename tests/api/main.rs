//! HTTP-level integration tests: one binary, a module per area. Every test runs against the real
//! app on a socket, on SQLite by default and on PostgreSQL with `TEST_DATABASE_URL`.

mod support;

mod access;
mod access_matrix;
mod access_spec;
mod auth;
mod auth_hardening;
mod compensation_limits;
mod concurrency;
mod contact_search;
mod customers;
mod errors;
mod events;
mod events_guests;
mod events_loyalty;
mod events_surveys;
mod events_tickets;
mod faults;
mod idempotency;
mod input;
mod jwt;
mod leaks_and_headers;
mod ledger_props;
mod loyalty;
mod migrations;
mod openapi;
mod property_restriction;
mod seed;
mod stays;
mod surveys;
mod tickets;
mod tokens;
