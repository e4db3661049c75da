//! Vocabulary with no imports from the other floors: errors as problem+json, ids and time,
//! `string_enum!`, field checks and masking, pages, money, crypto.

#[macro_use]
pub mod enums;
pub mod crypto;
pub mod error;
pub mod fields;
pub mod ids;
pub mod metrics;
pub mod money;
pub mod page;
