//! Tickets: complaints and service requests, SLA timers, escalation, compensation, reports.

pub mod api;
pub mod compensation;
pub mod config;
pub mod reports;
pub mod service;
pub mod sla;
