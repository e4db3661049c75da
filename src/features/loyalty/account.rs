//! The guest's account: enrolment, the summary, the statement and manual adjustments.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde_json::json;

use super::db;
use super::model::{AdjustmentRequest, EntryKind, ExpiringPoints, LedgerEntry, LedgerPage, LoyaltySummary, Tier};
use super::posting::{post, Posting};
use super::rules::Rules;
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::now;
use crate::platform::page::{self as pagination, Order, PageParams};

/// Opens the guest's account (idempotent); `true` when it was created now. For callers that
/// have no principal at hand (sign-up): the enrolment is attributed to the system.
pub fn ensure_account(conn: &mut DbConnection, customer_id: &str) -> Result<bool, ApiError> {
    ensure_account_in_tx(conn, &Principal::system("loyalty"), customer_id)
}

/// Opens the guest's account in the caller's transaction (idempotent); `true` when it was
/// created now, with its `loyalty.account_enrolled` event.
pub fn ensure_account_in_tx(conn: &mut DbConnection, who: &Principal, customer_id: &str) -> Result<bool, ApiError> {
    let created = db::insert_account(conn, customer_id)?;
    if created {
        let data = json!({"customer_id": customer_id, "tier": Tier::Regular.as_str()});
        let ev = NewEvent::new("loyalty.account_enrolled", "loyalty_account", customer_id).data(data);
        outbox::emit_in_tx(conn, who, ev)?;
    }
    Ok(created)
}

pub(crate) fn require_read(who: &Principal, customer_id: &str) -> Result<(), ApiError> {
    who.require_staff_or_owner(Perm::LoyaltyRead, customer_id, "customer")
}

pub fn enrol(conn: &mut DbConnection, who: &Principal, customer_id: &str) -> Result<(LoyaltySummary, bool), ApiError> {
    who.require(Perm::LoyaltyAdjust)
        .or_else(|_| who.require(Perm::CustomersWrite))?;
    let created = write_tx(conn, |conn| {
        let created = ensure_account_in_tx(conn, who, customer_id)?;
        if created {
            audit::record(conn, who, "loyalty.enrolled", "customer", Some(customer_id), json!({}))?;
        }
        Ok(created)
    })?;
    Ok((summary(conn, who, customer_id)?, created))
}

fn not_enrolled(rules: &Rules, customer_id: &str) -> LoyaltySummary {
    let next = rules.next_tier(Tier::Regular);
    LoyaltySummary {
        customer_id: customer_id.to_string(),
        enrolled: false,
        balance: 0,
        tier: Tier::Regular,
        tier_since: None,
        qualifying_points_12m: 0,
        next_tier: next.map(|t| t.tier),
        points_to_next_tier: next.map(|t| t.threshold),
        expiring_soon: vec![],
        expiring_in_90_days: 0,
    }
}

pub fn summary(conn: &mut DbConnection, who: &Principal, customer_id: &str) -> Result<LoyaltySummary, ApiError> {
    require_read(who, customer_id)?;
    read_tx(conn, |conn| {
        if !db::customer_exists(conn, customer_id)? {
            return Err(ApiError::not_found("customer"));
        }
        let rules = Rules::cached(conn)?;
        let Some((balance, tier, since)) = db::account(conn, customer_id)? else {
            return Ok(not_enrolled(&rules, customer_id));
        };
        let ts = now();
        let q = db::qualifying_12m_as_of(conn, customer_id, ts)?;
        let horizon = ts + Duration::days(90);
        let mut by_day: BTreeMap<NaiveDate, i64> = Default::default();
        for (_, exp, remaining) in db::lots_remaining(conn, customer_id)? {
            if remaining > 0 && exp > ts && exp <= horizon {
                *by_day.entry(exp.date()).or_default() += remaining;
            }
        }
        let next = rules.next_tier(tier);
        Ok(LoyaltySummary {
            customer_id: customer_id.to_string(),
            enrolled: true,
            balance,
            tier,
            tier_since: Some(since.and_utc()),
            qualifying_points_12m: q,
            next_tier: next.map(|t| t.tier),
            points_to_next_tier: next.map(|t| (t.threshold - q).max(0)),
            expiring_in_90_days: by_day.values().sum(),
            expiring_soon: by_day
                .into_iter()
                .map(|(expires_on, points)| ExpiringPoints { expires_on, points })
                .collect(),
        })
    })
}

/// The statement: newest first, each entry with the running balance after it.
pub fn entries(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    page: &PageParams,
) -> Result<LedgerPage, ApiError> {
    require_read(who, customer_id)?;
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        if !db::customer_exists(conn, customer_id)? {
            return Err(ApiError::not_found("customer"));
        }
        let rows = db::entries_page(conn, customer_id, cur.after.as_ref(), cur.limit + 1)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut uses = db::lot_uses(conn, &ids)?;
        let data = rows
            .into_iter()
            .map(|r| {
                let lots = uses.remove(&r.id).unwrap_or_default();
                r.into_entry(lots)
            })
            .collect();
        Ok(LedgerPage { data, next_cursor })
    })
}

pub fn adjust(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    req: AdjustmentRequest,
    idempotency_key: Option<String>,
) -> Result<(LedgerEntry, bool), ApiError> {
    who.require(Perm::LoyaltyAdjust)?;
    let mut c = Checks::new();
    let reason = c.text("reason", &req.reason, 1, 500);
    // `unsigned_abs`: `abs` of i64::MIN overflows (a panic, or a negative number that passes).
    if req.points == 0 || req.points.unsigned_abs() > 10_000_000 {
        c.fail("points", "must be non-zero and at most 10,000,000 either way");
    }
    c.finish()?;
    write_tx(conn, |conn| {
        let rules = Rules::cached(conn)?;
        let posting = Posting::new(customer_id, EntryKind::Adjust, req.points, reason.clone())
            .enrolling()
            .key(idempotency_key.map(|k| format!("adjust:{k}")));
        let (entry, replayed) = post(conn, who, &rules, posting)?;
        if !replayed {
            audit::record(
                conn,
                who,
                "loyalty.adjusted",
                "customer",
                Some(customer_id),
                json!({"entry_id": entry.id, "points": req.points}),
            )?;
        }
        Ok((entry, replayed))
    })
}
