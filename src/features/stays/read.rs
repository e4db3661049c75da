//! Reading stays: one stay with its spend, a guest's stays.

use super::db::{self, load_stay};
use super::model::{Stay, StayDetail, StayFilter, StayPage};
use crate::auth::{Perm, Principal};
use crate::db::{read_tx, DbConnection};
use crate::platform::error::ApiError;
use crate::platform::page::{self as pagination, Order, PageParams};

pub fn get_stay(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<StayDetail, ApiError> {
    who.require(Perm::StaysRead)?;
    read_tx(conn, |conn| {
        let stay = load_stay(conn, who, id)?;
        Ok(StayDetail {
            stay,
            spend: db::stay_spend(conn, id)?,
        })
    })
}

/// A guest's stays in the caller's properties, newest first.
pub fn list_customer_stays(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    f: &StayFilter,
    page: &PageParams,
) -> Result<StayPage, ApiError> {
    who.require(Perm::StaysRead)?;
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        if !db::customer_exists(conn, customer_id)? {
            return Err(ApiError::not_found("customer"));
        }
        let rows = db::customer_stays(conn, who, customer_id, f.status, cur.after.as_ref(), cur.limit + 1)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        Ok(StayPage {
            data: rows.into_iter().map(Stay::from).collect(),
            next_cursor,
        })
    })
}
