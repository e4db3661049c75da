//! Tiers: upgrades at once when qualifying points reach a higher tier, downgrades only at the
//! yearly review. Every change writes `loyalty.tier_changed`.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::db;
use super::model::Tier;
use super::rules::Rules;
use crate::auth::Principal;
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::loyalty_accounts as la;
use crate::db::{write_tx, DbConnection};
use crate::platform::error::ApiError;
use crate::platform::ids::now;

fn emit_tier_changed_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    from: Tier,
    to: Tier,
    qualifying: i64,
) -> Result<(), ApiError> {
    let data = json!({"customer_id": customer_id, "from": from.as_str(), "to": to.as_str(), "qualifying_points_12m": qualifying});
    let ev = NewEvent::new("loyalty.tier_changed", "loyalty_account", customer_id).data(data);
    outbox::emit_in_tx(conn, who, ev)?;
    Ok(())
}

/// Upgrades at once when the trailing-12-month qualifying points reach a higher tier
/// (downgrades wait for the yearly review).
pub(crate) fn upgrade_if_due_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    rules: &Rules,
    customer_id: &str,
) -> Result<Option<Tier>, ApiError> {
    let current = db::account_tier(conn, customer_id)?;
    let q = db::qualifying_12m_as_of(conn, customer_id, now())?;
    let reached = rules.tier_for(q);
    if reached <= current {
        return Ok(None);
    }
    let reason = format!("upgrade: {q} qualifying points in 12 months");
    db::change_tier(conn, customer_id, current, reached, now() + Duration::days(365), reason)?;
    emit_tier_changed_in_tx(conn, who, customer_id, current, reached, q)?;
    Ok(Some(reached))
}

/// Reviews one account whose review date has come; `None` when another instance did it
/// meanwhile, else whether it was downgraded.
fn review_one_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    as_of: NaiveDateTime,
) -> Result<Option<bool>, ApiError> {
    let row: Option<(String, NaiveDateTime)> = la::table
        .find(customer_id)
        .filter(la::tier_review_due_at.le(as_of))
        .select((la::tier, la::tier_review_due_at))
        .first(conn)
        .optional()?;
    // Another instance reviewed it meanwhile.
    let Some((tier, due_at)) = row else { return Ok(None) };
    let rules = Rules::load(conn)?;
    let current = Tier::parse(&tier).unwrap_or(Tier::Regular);
    let q = db::qualifying_12m_as_of(conn, customer_id, as_of)?;
    let reached = rules.tier_for(q);
    let next_due = due_at + Duration::days(365);
    let next_due = if next_due <= as_of {
        as_of + Duration::days(365)
    } else {
        next_due
    };
    if reached < current {
        let reason = format!("yearly review: {q} qualifying points in 12 months");
        db::change_tier(conn, customer_id, current, reached, next_due, reason)?;
        emit_tier_changed_in_tx(conn, who, customer_id, current, reached, q)?;
        Ok(Some(true))
    } else {
        diesel::update(la::table.find(customer_id))
            .set(la::tier_review_due_at.eq(next_due))
            .execute(conn)?;
        Ok(Some(false))
    }
}

/// Yearly tier review: accounts whose review date has come keep the tier their qualifying
/// points of the last 12 months reach, which may be lower (downgrades happen only here).
/// Returns (reviewed, downgraded).
pub fn review_tiers(conn: &mut DbConnection, as_of: NaiveDateTime, batch: i64) -> Result<(usize, usize), ApiError> {
    let who = Principal::system("tier-review");
    let due: Vec<String> = la::table
        .filter(la::tier_review_due_at.le(as_of))
        .select(la::customer_id)
        .order(la::tier_review_due_at)
        .limit(batch)
        .load(conn)?;
    let (mut reviewed, mut downgraded) = (0, 0);
    for customer_id in due {
        let changed = write_tx(conn, |conn| review_one_in_tx(conn, &who, &customer_id, as_of))?;
        if let Some(down) = changed {
            reviewed += 1;
            if down {
                downgraded += 1;
            }
        }
    }
    Ok((reviewed, downgraded))
}
