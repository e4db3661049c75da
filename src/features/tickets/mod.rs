//! Tickets: complaints and service requests, SLA timers, escalation, compensation, reports.

pub mod api;
pub mod compensation;
pub mod config;
mod create;
mod db;
mod edit;
pub mod model;
mod read;
pub mod reports;
mod rules;
pub mod service;
pub mod sla;
mod sla_clock;
mod sweep;
mod transition;

pub use db::{ticket_parties, TicketParties};
