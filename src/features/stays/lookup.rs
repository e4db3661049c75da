//! What other features read of stays and spend: a stay's guest and property, and what earning
//! needs (its status, the tier it earns at, its charges). Stays' tables are read and written
//! here only; `earn_tier` is fixed on the stay by the loyalty reaction through this module.

use diesel::prelude::*;

use crate::db::schema::{spend_lines, stays};
use crate::db::DbConnection;
use crate::platform::error::ApiError;

/// A stay's guest and property.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = stays)]
pub struct StayParties {
    pub customer_id: String,
    pub property_id: String,
}

pub fn stay_parties(conn: &mut DbConnection, id: &str) -> Result<Option<StayParties>, ApiError> {
    Ok(stays::table
        .find(id)
        .select(StayParties::as_select())
        .first(conn)
        .optional()?)
}

/// What earning needs of a stay.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = stays)]
pub struct StayEarning {
    pub customer_id: String,
    pub property_id: String,
    pub status: String,
    pub earn_tier: Option<String>,
}

/// What earning needs of a spend line.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = spend_lines)]
pub struct SpendEarning {
    pub id: String,
    pub outlet: String,
    pub amount_minor: i64,
    pub currency: String,
}

pub fn stay_earning(conn: &mut DbConnection, stay_id: &str) -> Result<StayEarning, ApiError> {
    Ok(stays::table
        .find(stay_id)
        .select(StayEarning::as_select())
        .first(conn)?)
}

/// Fixes the tier whose multiplier the stay earns at (once; later calls change nothing).
pub(crate) fn fix_earn_tier_in_tx(conn: &mut DbConnection, stay_id: &str, tier: &str) -> Result<(), ApiError> {
    diesel::update(stays::table.find(stay_id))
        .filter(stays::earn_tier.is_null())
        .set(stays::earn_tier.eq(tier))
        .execute(conn)?;
    Ok(())
}

pub fn spend_earning(conn: &mut DbConnection, stay_id: &str) -> Result<Vec<SpendEarning>, ApiError> {
    Ok(spend_lines::table
        .filter(spend_lines::stay_id.eq(stay_id))
        .select(SpendEarning::as_select())
        .load(conn)?)
}
