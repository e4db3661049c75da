//! Loyalty: the append-only points ledger, tiers and expiry, the programme, rewards.
//!
//! `model` (wire types), `rules` (pure rules), `db` (rows and queries), and the use cases:
//! `account` (enrolment, summary, statement, adjustments), `posting` (the one posting
//! function), `earning` (stays, survey bonus, compensation), `tiers`, `expiry`, `programme`,
//! `rewards`, `redemptions`. `ledger` keeps the names other features and the app use.

pub mod account;
pub mod api;
pub mod db;
pub mod earning;
pub mod expiry;
pub mod ledger;
pub mod model;
pub mod posting;
pub mod programme;
pub mod redemptions;
pub mod rewards;
pub mod rules;
pub mod tiers;
