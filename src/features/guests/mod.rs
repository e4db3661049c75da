//! Guest profiles: contact data, preferences, consents, external references, interactions.

pub mod api;
mod consents;
mod create;
pub mod customers;
mod db;
pub mod imports;
pub mod interactions;
mod lookup;
pub mod model;
mod read;
mod render;
mod rules;
mod search;
mod update;
mod upsert;

pub use lookup::{consent_of, customer_by_ref, customer_emails, customer_exists, withdrawn};
