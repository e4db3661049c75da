//! The points ledger (SPEC §6.2), as other features and the app name it: enrolment,
//! append-only entries, earning on check-out, reversal on cancellation, tiers, adjustments,
//! summary and statement. The code lives in the use-case files next to this one.

pub use super::account::{adjust, enrol, ensure_account, entries, summary};
pub use super::db::{lot_uses, EntryRow};
pub use super::earning::{
    earn_for_stay, post_compensation, post_survey_bonus, reverse_for_stay, settle_stay, survey_bonus_paid,
};
pub use super::expiry::expire_due;
pub use super::model::{
    AdjustmentRequest, EntryKind, ExpiringPoints, LedgerEntry, LedgerPage, LotUse, LoyaltySummary, Tier,
};
pub use super::posting::{post, Consume, Posting};
pub use super::rules::{plan_consumption, Rules, TierRule};
pub use super::tiers::review_tiers;
