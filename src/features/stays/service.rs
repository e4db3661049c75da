//! Stays and spend pushed by PMS/POS integrations (SPEC §6.1), as the app and the handlers
//! name them: upsert by the property's own keys (confirmation number, spend line id), a stay
//! state machine, batch pushes with a result per item. The code lives in `model`, `rules`,
//! `db`, `upsert`, `spend` and `read`.

pub use super::model::{
    Outlet, SpendInput, SpendLine, Stay, StayBatch, StayBatchItem, StayBatchResult, StayDetail, StayFilter, StayInput,
    StayPage, StayPatch, StayStatus,
};
pub use super::read::{get_stay, list_customer_stays};
pub use super::spend::upsert_spend;
pub use super::upsert::{update_stay, upsert_batch, upsert_stay};
