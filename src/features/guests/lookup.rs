//! What other features read of guests: whether one exists, who an external reference names,
//! their email, their current consent to a purpose. Guests' tables are read here only.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::model::{ConsentPurpose, ExternalRef};
use crate::db::schema::{customer_consents as cc, customer_external_refs as refs, customers};
use crate::db::DbConnection;
use crate::platform::error::ApiError;

pub fn customer_exists(conn: &mut DbConnection, id: &str) -> Result<bool, ApiError> {
    let n: i64 = customers::table.find(id).count().get_result(conn)?;
    Ok(n > 0)
}

/// The guest an external reference names (system compared case-insensitively, ids trimmed).
pub fn customer_by_ref(conn: &mut DbConnection, r: &ExternalRef) -> Result<Option<String>, ApiError> {
    Ok(refs::table
        .find((r.system.trim().to_lowercase(), r.external_id.trim()))
        .select(refs::customer_id)
        .first(conn)
        .optional()?)
}

/// The e-mails of the given guests.
pub fn customer_emails(conn: &mut DbConnection, ids: &[String]) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    Ok(customers::table
        .filter(customers::id.eq_any(ids))
        .select((customers::id, customers::email))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .collect())
}

/// The guest's current decision on `purpose`, if they ever gave or withdrew it.
pub fn consent_of(
    conn: &mut DbConnection,
    customer_id: &str,
    purpose: ConsentPurpose,
) -> Result<Option<bool>, ApiError> {
    Ok(cc::table
        .find((customer_id, purpose.as_str()))
        .select(cc::granted)
        .first(conn)
        .optional()?)
}

/// The subquery of [`withdrawn`].
pub type Withdrawn = diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::Filter<cc::table, diesel::dsl::Eq<cc::purpose, &'static str>>,
        diesel::dsl::Eq<cc::granted, bool>,
    >,
    cc::customer_id,
>;

/// The guests who withdrew `purpose`, as a subquery (`column.eq_any(withdrawn(…))`).
pub fn withdrawn(purpose: ConsentPurpose) -> Withdrawn {
    cc::table
        .filter(cc::purpose.eq(purpose.as_str()))
        .filter(cc::granted.eq(false))
        .select(cc::customer_id)
}
