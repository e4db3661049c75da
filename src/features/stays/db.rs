//! Stays' tables: derived rows and the queries of stays and spend lines. The only writer of
//! them (loyalty fixes a stay's `earn_tier`).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::{Outlet, SpendLine, Stay, StayStatus};
use crate::auth::Principal;
use crate::db::schema::{spend_lines, stays};
use crate::db::DbConnection;
use crate::features::guests::{self, model::ExternalRef};
use crate::features::properties;
use crate::platform::error::ApiError;
use crate::platform::money::from_minor;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = stays)]
pub struct StayRow {
    pub id: String,
    pub property_id: String,
    pub customer_id: String,
    pub confirmation_number: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub nights: i32,
    pub room_type: Option<String>,
    pub room_number: Option<String>,
    pub rate_minor: Option<i64>,
    pub currency: Option<String>,
    pub status: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<StayRow> for Stay {
    fn from(r: StayRow) -> Stay {
        Stay {
            id: r.id,
            property_id: r.property_id,
            customer_id: r.customer_id,
            confirmation_number: r.confirmation_number,
            check_in: r.check_in,
            check_out: r.check_out,
            nights: r.nights,
            room_type: r.room_type,
            room_number: r.room_number,
            rate: match (r.rate_minor, &r.currency) {
                (Some(m), Some(c)) => Some(from_minor(m, c)),
                _ => None,
            },
            status: StayStatus::parse(&r.status).unwrap_or(StayStatus::Reserved),
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = spend_lines)]
pub struct SpendRow {
    pub id: String,
    pub property_id: String,
    pub external_id: String,
    pub customer_id: String,
    pub stay_id: Option<String>,
    pub outlet: String,
    pub amount_minor: i64,
    pub currency: String,
    pub spent_on: NaiveDate,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<SpendRow> for SpendLine {
    fn from(r: SpendRow) -> SpendLine {
        SpendLine {
            id: r.id,
            property_id: r.property_id,
            external_id: r.external_id,
            customer_id: r.customer_id,
            stay_id: r.stay_id,
            outlet: Outlet::parse(&r.outlet).unwrap_or(Outlet::Other),
            amount: from_minor(r.amount_minor, &r.currency),
            spent_on: r.spent_on,
            description: r.description,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

/// The property's currency, or 404 when it is outside the caller's scope or unknown.
pub fn property_currency(conn: &mut DbConnection, who: &Principal, property_id: &str) -> Result<String, ApiError> {
    if !who.can_access_property(property_id) {
        return Err(ApiError::not_found("property"));
    }
    Ok(properties::basics(conn, property_id)?
        .ok_or_else(|| ApiError::not_found("property"))?
        .currency)
}

pub fn resolve_customer(
    conn: &mut DbConnection,
    id: Option<&str>,
    r: Option<&ExternalRef>,
) -> Result<String, ApiError> {
    match (id, r) {
        (Some(_), Some(_)) => Err(ApiError::field(
            "customer_ref",
            "send customer_id or customer_ref, not both",
        )),
        (None, None) => Err(ApiError::field(
            "customer_id",
            "the guest is required (customer_id or customer_ref)",
        )),
        (Some(id), None) => {
            if !guests::customer_exists(conn, id)? {
                return Err(ApiError::field("customer_id", "unknown guest"));
            }
            Ok(id.to_string())
        }
        (None, Some(r)) => guests::customer_by_ref(conn, r)?
            .ok_or_else(|| ApiError::field("customer_ref", "unknown guest reference: upsert the guest first")),
    }
}

pub fn load_stay(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Stay, ApiError> {
    let s = stays::table
        .find(id)
        .select(StayRow::as_select())
        .first(conn)
        .optional()?
        .map(Stay::from)
        .ok_or_else(|| ApiError::not_found("stay"))?;
    if !who.can_access_property(&s.property_id) {
        return Err(ApiError::not_found("stay"));
    }
    Ok(s)
}

/// The stay a property knows by this confirmation number.
/// Takes the stay's row lock for the rest of the write transaction.
pub fn lock_stay(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    crate::db::lock_row!(conn, stays::table, stays::version, id)?;
    Ok(())
}

pub fn stay_by_confirmation(
    conn: &mut DbConnection,
    property_id: &str,
    confirmation: &str,
) -> Result<Option<Stay>, ApiError> {
    Ok(stays::table
        .filter(stays::property_id.eq(property_id))
        .filter(stays::confirmation_number.eq(confirmation))
        .select(StayRow::as_select())
        .first(conn)
        .optional()?
        .map(Stay::from))
}

/// A page of a guest's stays, newest first.
pub fn customer_stays(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    status: Option<StayStatus>,
    after: Option<&String>,
    limit: i64,
) -> Result<Vec<StayRow>, ApiError> {
    let mut q = stays::table
        .filter(stays::customer_id.eq(customer_id))
        .select(StayRow::as_select())
        .order(stays::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(scope) = who.property_scope() {
        q = q.filter(stays::property_id.eq_any(scope.to_vec()));
    }
    if let Some(s) = status {
        q = q.filter(stays::status.eq(s.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(stays::id.lt(a.clone()));
    }
    Ok(q.load(conn)?)
}

pub use crate::features::guests::customer_exists;

/// A stay's spend lines, by day.
pub fn stay_spend(conn: &mut DbConnection, stay_id: &str) -> Result<Vec<SpendLine>, ApiError> {
    let rows: Vec<SpendRow> = spend_lines::table
        .filter(spend_lines::stay_id.eq(stay_id))
        .select(SpendRow::as_select())
        .order((spend_lines::spent_on, spend_lines::id))
        .load(conn)?;
    Ok(rows.into_iter().map(SpendLine::from).collect())
}

pub fn spend_line(conn: &mut DbConnection, id: &str) -> Result<SpendLine, ApiError> {
    let row: SpendRow = spend_lines::table.find(id).select(SpendRow::as_select()).first(conn)?;
    Ok(row.into())
}

/// `(id, stay_id)` of the line a property knows by this external id.
pub fn spend_by_external_id(
    conn: &mut DbConnection,
    property_id: &str,
    external_id: &str,
) -> Result<Option<(String, Option<String>)>, ApiError> {
    Ok(spend_lines::table
        .filter(spend_lines::property_id.eq(property_id))
        .filter(spend_lines::external_id.eq(external_id))
        .select((spend_lines::id, spend_lines::stay_id))
        .first(conn)
        .optional()?)
}
