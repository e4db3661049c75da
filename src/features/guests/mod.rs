//! Guest profiles: contact data, preferences, consents, external references, interactions.

pub mod api;
pub mod customers;
pub mod interactions;
pub mod model;
