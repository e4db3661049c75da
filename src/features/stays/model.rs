//! Stays' wire types (serde + utoipa): stays, batches, spend lines.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::features::guests::model::ExternalRef;
use crate::platform::error::Problem;
use crate::platform::money::Money;
use crate::platform::page::{Page, PageItem};

string_enum!(Outlet { Room => "room", FoodBeverage => "food_beverage", Banquet => "banquet", Spa => "spa", Fitness => "fitness", Other => "other" });

string_enum!(StayStatus { Reserved => "reserved", InHouse => "in_house", CheckedOut => "checked_out", Cancelled => "cancelled", NoShow => "no_show" });

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stay {
    pub id: String,
    pub property_id: String,
    pub customer_id: String,
    pub confirmation_number: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub nights: i32,
    pub room_type: Option<String>,
    pub room_number: Option<String>,
    /// Nightly rate.
    pub rate: Option<Money>,
    pub status: StayStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub type StayPage = Page<Stay>;

impl PageItem for Stay {
    const PAGE: &'static str = "StayPage";
}

/// A stay as the PMS knows it. Upserted by `(property_id, confirmation_number)`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StayInput {
    pub property_id: String,
    #[schema(example = "CNF-88231", min_length = 1, max_length = 64)]
    pub confirmation_number: String,
    /// The guest: `customer_id`, or `customer_ref` (the PMS profile id, upserted beforehand
    /// with `PUT /api/v1/customers/external/{system}/{external_id}`).
    pub customer_id: Option<String>,
    pub customer_ref: Option<ExternalRef>,
    pub check_in: NaiveDate,
    /// On or after `check_in` (equal for day use).
    pub check_out: NaiveDate,
    #[schema(example = "deluxe_king", max_length = 64)]
    pub room_type: Option<String>,
    #[schema(example = "1208", max_length = 16)]
    pub room_number: Option<String>,
    /// Nightly rate, in the property's currency.
    pub rate: Option<Money>,
    /// Defaults to `reserved` for a new stay, unchanged for a known one.
    pub status: Option<StayStatus>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StayPatch {
    pub status: Option<StayStatus>,
    pub check_in: Option<NaiveDate>,
    pub check_out: Option<NaiveDate>,
    #[schema(max_length = 64)]
    pub room_type: Option<String>,
    #[schema(max_length = 16)]
    pub room_number: Option<String>,
    pub rate: Option<Money>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StayBatch {
    /// 1–1,000 stays; each is applied on its own (one failing item does not undo the others).
    #[schema(min_items = 1, max_items = 1000)]
    pub items: Vec<StayInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StayBatchItem {
    pub index: usize,
    /// 201 created, 200 updated, or the 4xx the item alone would have got.
    pub status: u16,
    pub stay_id: Option<String>,
    pub error: Option<Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StayBatchResult {
    pub created: usize,
    pub updated: usize,
    pub failed: usize,
    pub results: Vec<StayBatchItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpendLine {
    pub id: String,
    pub property_id: String,
    pub external_id: String,
    pub customer_id: String,
    pub stay_id: Option<String>,
    pub outlet: Outlet,
    /// Negative for refunds and voids.
    pub amount: Money,
    pub spent_on: NaiveDate,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A POS/PMS charge. Upserted by `(property_id, external_id)`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendInput {
    pub property_id: String,
    /// The line's id in the POS/PMS.
    #[schema(example = "POS-2026-000123", min_length = 1, max_length = 64)]
    pub external_id: String,
    /// The stay it was charged to (by id or by confirmation number); or, for a charge outside
    /// a stay, the guest.
    pub stay_id: Option<String>,
    pub confirmation_number: Option<String>,
    pub customer_id: Option<String>,
    pub outlet: Outlet,
    /// In the property's currency; negative for refunds.
    pub amount: Money,
    pub spent_on: NaiveDate,
    #[schema(max_length = 200)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StayDetail {
    #[serde(flatten)]
    pub stay: Stay,
    pub spend: Vec<SpendLine>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StayFilter {
    pub status: Option<StayStatus>,
}
