//! Stays and spend from PMS/POS: the source of earning and of post-stay surveys.
//!
//! `model` (wire types), `rules` (the stay state machine, field checks), `db` (rows and
//! queries), the use cases `upsert` (stays), `spend` and `read`; `service` keeps the names the
//! app uses.

pub mod api;
pub mod db;
mod lookup;
pub mod model;
pub mod read;
pub mod rules;
pub mod service;
pub mod spend;
pub mod upsert;

pub(crate) use lookup::fix_earn_tier_in_tx;
pub use lookup::{spend_earning, stay_earning, stay_parties, SpendEarning, StayEarning, StayParties};
