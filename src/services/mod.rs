//! Use cases and business rules. No HTTP types here: each function takes a connection, the
//! caller and typed input, and runs in one transaction.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod customer_types;
pub mod customers;
pub mod fields;
pub mod interactions;
pub mod loyalty;
pub mod money;
pub mod pagination;
pub mod properties;
pub mod rewards;
pub mod seed;
pub mod staff;
pub mod stays;
