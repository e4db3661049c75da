//! One folder per domain, ordered low to high: a feature may use the ones listed before it
//! (through their `mod.rs`), never the ones after; effects upward are events (`app::reactions`).

pub mod audit;
pub mod events;
pub mod guests;
pub mod loyalty;
pub mod properties;
pub mod sessions;
pub mod staff;
pub mod stays;
pub mod surveys;
pub mod tickets;
