//! Loyalty: the append-only points ledger, tiers and expiry, the programme, rewards.

pub mod api;
pub mod ledger;
pub mod programme;
pub mod rewards;
