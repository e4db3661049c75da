//! Guest profiles (SPEC §3): create, 360° read, patch with optimistic concurrency, search,
//! duplicate detection, external references, consents with history. Personal data is masked per
//! caller in `render`; unmasked staff and integration reads are audited.
//!
//! The use cases live in files named after them; this module keeps the paths other features use.

pub use super::consents::{consent_history, set_consent};
pub use super::create::create;
pub(crate) use super::create::insert_in_tx;
pub use super::db::{load_records, CustomerRecord, CustomerRow};
pub use super::read::{get, get_by_ref};
pub use super::render::render;
pub use super::search::list;
pub use super::update::update;
pub use super::upsert::upsert_by_ref;
