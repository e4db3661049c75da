//! Integration (SPEC §8): the event feed over the outbox (`db::outbox` writes every change's
//! events in its own transaction), webhook endpoints, and their delivery per Standard Webhooks
//! 1.0 with retries, ordering per aggregate, disabling and recovery.

pub mod api;
pub mod db;
pub mod deliveries;
pub mod dispatch;
pub mod endpoints;
pub mod feed;
pub mod model;
pub mod rules;
pub mod sender;

pub use dispatch::{dispatch_once, DispatchReport};
