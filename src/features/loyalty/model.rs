//! Loyalty's wire types (serde + utoipa): the ledger, the programme, rewards and redemptions.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::platform::page::{Page, PageItem};

string_enum!(Tier { Regular => "regular", Silver => "silver", Gold => "gold", Platinum => "platinum" });
string_enum!(
    /// The kind of a ledger entry.
    #[schema(as = LedgerEntryKind)]
    EntryKind { Earn => "earn", Bonus => "bonus", Redeem => "redeem", Adjust => "adjust", Expire => "expire", Reverse => "reverse", Compensation => "compensation" });

#[derive(Debug, Serialize, ToSchema)]
pub struct LotUse {
    pub lot_id: String,
    pub points: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntry {
    pub id: String,
    pub kind: EntryKind,
    /// Signed.
    pub points: i64,
    /// The running balance after this entry.
    pub balance_after: i64,
    /// Counts toward tier qualification.
    pub qualifying: bool,
    pub reason: String,
    pub source_kind: Option<String>,
    pub source_id: Option<String>,
    pub property_id: Option<String>,
    /// For `reverse`: the entry it reverses.
    pub reverses_id: Option<String>,
    /// For positive entries (lots): when their points expire.
    pub expires_at: Option<DateTime<Utc>>,
    /// The lots this entry drew on: positive points consumed (redeem, expire, reverse,
    /// deductions); negative points given back (a cancelled redemption's refund).
    pub lots: Vec<LotUse>,
    pub created_at: DateTime<Utc>,
}

pub type LedgerPage = Page<LedgerEntry>;

impl PageItem for LedgerEntry {
    const PAGE: &'static str = "LedgerPage";
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringPoints {
    pub expires_on: NaiveDate,
    pub points: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoyaltySummary {
    pub customer_id: String,
    pub enrolled: bool,
    pub balance: i64,
    pub tier: Tier,
    pub tier_since: Option<DateTime<Utc>>,
    /// Qualifying points earned in the trailing 12 months.
    pub qualifying_points_12m: i64,
    pub next_tier: Option<Tier>,
    pub points_to_next_tier: Option<i64>,
    /// Points expiring in the next 90 days, by day.
    pub expiring_soon: Vec<ExpiringPoints>,
    pub expiring_in_90_days: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    /// Signed, non-zero; a deduction cannot exceed the balance.
    #[schema(example = 500)]
    pub points: i64,
    #[schema(example = "Goodwill for the late room", min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Outlets are stays' (where a charge was made); earning weights them.
pub use crate::features::stays::model::Outlet;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TierSetting {
    pub tier: Tier,
    /// Qualifying points in the trailing 12 months that reach the tier (regular: 0).
    #[schema(example = 5000)]
    pub threshold: i64,
    /// Earning multiplier of the tier, 0.1–10.
    #[schema(example = 1.25)]
    pub multiplier: f64,
}

/// The programme: group rules plus each property's overrides.
#[derive(Debug, Serialize, ToSchema)]
pub struct Programme {
    /// Points per unit of qualifying spend in the property's currency.
    #[schema(example = 1.0)]
    pub points_per_unit: f64,
    /// Months after which an earn lot expires.
    #[schema(example = 24)]
    pub expiry_months: u32,
    /// Weight of each outlet's spend (0 excludes it).
    pub outlet_weights: BTreeMap<Outlet, f64>,
    /// Ascending thresholds.
    pub tiers: Vec<TierSetting>,
    /// Properties that override the group's earning rules.
    pub property_rules: Vec<PropertyRules>,
}

/// Replaces the group's rules (every field required).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeUpdate {
    /// Greater than 0, at most 100, up to 4 decimals.
    #[schema(example = 1.0)]
    pub points_per_unit: f64,
    /// 1–120.
    #[schema(example = 24)]
    pub expiry_months: i64,
    /// A weight for every outlet, 0–10, up to 4 decimals.
    pub outlet_weights: BTreeMap<Outlet, f64>,
    /// All four tiers once each; regular's threshold is 0 and thresholds rise with the tier.
    pub tiers: Vec<TierSetting>,
}

/// A property's earning rules: what it sets here replaces the group's value.
#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyRules {
    pub property_id: String,
    /// `null` = the group's value.
    pub points_per_unit: Option<f64>,
    /// Outlets not listed follow the group's weights.
    pub outlet_weights: BTreeMap<Outlet, f64>,
    pub updated_at: DateTime<Utc>,
}

/// Sets (replaces) a property's overrides.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyRulesUpdate {
    /// Greater than 0, at most 100; omit or `null` to follow the group.
    #[schema(example = 1.5)]
    pub points_per_unit: Option<f64>,
    /// Outlet weights for this property, 0–10 (e.g. `{"spa": 2}`); others follow the group.
    #[serde(default)]
    pub outlet_weights: BTreeMap<Outlet, f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reward {
    pub id: String,
    #[schema(example = "FREE-NIGHT")]
    pub code: String,
    #[schema(example = "Free night (standard room)")]
    pub name: String,
    pub description: Option<String>,
    #[schema(example = 5000)]
    pub points_cost: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardCreate {
    #[schema(example = "FREE-NIGHT", pattern = "^[A-Za-z0-9_-]{2,40}$")]
    pub code: String,
    #[schema(example = "Free night (standard room)", min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(example = 5000, minimum = 1, maximum = 10_000_000)]
    pub points_cost: i64,
    /// Default true.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub points_cost: Option<i64>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionStatus {
    Pending,
    Fulfilled,
    Cancelled,
}

impl RedemptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RedemptionStatus::Pending => "pending",
            RedemptionStatus::Fulfilled => "fulfilled",
            RedemptionStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> RedemptionStatus {
        match s {
            "fulfilled" => RedemptionStatus::Fulfilled,
            "cancelled" => RedemptionStatus::Cancelled,
            _ => RedemptionStatus::Pending,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redemption {
    pub id: String,
    pub customer_id: String,
    pub reward_id: String,
    pub points: i64,
    pub status: RedemptionStatus,
    pub redeem_entry_id: String,
    pub reverse_entry_id: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub type RedemptionPage = Page<Redemption>;

impl PageItem for Redemption {
    const PAGE: &'static str = "RedemptionPage";
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionRequest {
    pub reward_id: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RedemptionNote {
    #[schema(max_length = 500)]
    pub note: Option<String>,
}
