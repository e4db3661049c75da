//! Guest profiles: contact data, preferences, consents, external references, interactions.

pub mod api;
mod consents;
mod create;
pub mod customers;
mod db;
pub mod interactions;
pub mod model;
mod read;
mod render;
mod rules;
mod search;
mod update;
mod upsert;
