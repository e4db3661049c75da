//! The expiry job: lots past their expiry give up what they still hold.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::db;
use super::model::EntryKind;
use super::posting::{post, Posting};
use super::rules::Rules;
use crate::auth::Principal;
use crate::db::schema::{ledger_entries as le, ledger_lot_closures as cl, loyalty_accounts as la};
use crate::db::{lock_row, write_tx, DbConnection};
use crate::platform::error::ApiError;
use crate::platform::ids::now;

/// Settles one due lot under its account's lock; `1` when an `expire` entry was posted.
fn expire_lot_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    lot_id: &str,
    customer_id: &str,
    expires_at: Option<NaiveDateTime>,
) -> Result<usize, ApiError> {
    // Lock the account first: the lot's remainder cannot move under us.
    lock_row!(conn, la::table, la::updated_at, customer_id)?;
    let closed: i64 = cl::table.find(lot_id).count().get_result(conn)?;
    if closed > 0 {
        return Ok(0);
    }
    let remaining = db::lot_remaining(conn, customer_id, lot_id)?;
    let mut n = 0;
    if remaining > 0 {
        let rules = Rules::load(conn)?;
        let on = expires_at.map(|e| e.date().to_string()).unwrap_or_default();
        let posting = Posting::new(
            customer_id,
            EntryKind::Expire,
            -remaining,
            format!("points expired on {on}"),
        )
        .source("expiry", lot_id)
        .key(Some(format!("expire:{lot_id}")))
        .from_lot(lot_id);
        post(conn, who, &rules, posting)?;
        n = 1;
    }
    diesel::insert_into(cl::table)
        .values((cl::lot_id.eq(lot_id), cl::closed_at.eq(now())))
        .execute(conn)?;
    Ok(n)
}

/// Expiry job: every lot whose expiry is at or before `as_of` gives up what it still holds
/// (an `expire` entry naming the lot), then is closed so no later run looks at it again.
/// Each lot is settled in its own transaction under its account's lock, with the idempotency
/// key `expire:<lot>`: several instances may run this at once. Returns (lots settled, entries
/// posted).
pub fn expire_due(conn: &mut DbConnection, as_of: NaiveDateTime, batch: i64) -> Result<(usize, usize), ApiError> {
    let who = Principal::system("expiry");
    let due: Vec<(String, String, Option<NaiveDateTime>)> = le::table
        .filter(le::expires_at.le(as_of))
        .filter(le::points.gt(0))
        .filter(le::id.ne_all(cl::table.select(cl::lot_id)))
        .select((le::id, le::customer_id, le::expires_at))
        .order(le::expires_at)
        .limit(batch)
        .load(conn)?;
    let settled = due.len();
    let mut posted = 0;
    for (lot_id, customer_id, expires_at) in due {
        posted += write_tx(conn, |conn| {
            expire_lot_in_tx(conn, &who, &lot_id, &customer_id, expires_at)
        })?;
    }
    Ok((settled, posted))
}
