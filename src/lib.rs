//! Concierge: guest-relationship management API.
//!
//! Floors, each importing only the ones below it (`ARCHITECTURE.md`):
//! `app` (wiring) → `features` (one folder per domain) → `server` (the actix runtime) →
//! `db`, `auth` → `platform` (vocabulary).

#[macro_use]
pub mod platform;
pub mod app;
pub mod auth;
pub mod db;
pub mod features;
pub mod server;

pub use app::{build_app, openapi_document, openapi_spec};
pub use server::state::AppState;
