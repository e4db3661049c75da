//! Loyalty's tables: derived rows and the queries of the ledger, the programme's settings,
//! rewards and redemptions. The only writer of them.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rust_decimal::Decimal;

use super::model::{EntryKind, LedgerEntry, LotUse, Outlet, PropertyRules, Redemption, RedemptionStatus, Reward, Tier};
use super::rules::{to_f64, Rules, TierRule};
use crate::db::schema::{
    ledger_entries as le, ledger_lot_consumptions as lc, loyalty_accounts as la, loyalty_property_rules as lpr,
    loyalty_settings as ls, redemptions as rd, rewards as rw, tier_changes,
};
use crate::db::DbConnection;
use crate::platform::error::ApiError;
use crate::platform::ids::{new_id, now};

/// One ledger entry as stored (without its lots).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = le)]
pub struct EntryRow {
    pub id: String,
    pub kind: String,
    pub points: i64,
    pub balance_after: i64,
    pub qualifying: bool,
    pub reason: String,
    pub source_kind: Option<String>,
    pub source_id: Option<String>,
    pub property_id: Option<String>,
    pub reverses_id: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl EntryRow {
    pub fn into_entry(self, lots: Vec<LotUse>) -> LedgerEntry {
        LedgerEntry {
            id: self.id,
            kind: EntryKind::parse(&self.kind).unwrap_or(EntryKind::Adjust),
            points: self.points,
            balance_after: self.balance_after,
            qualifying: self.qualifying,
            reason: self.reason,
            source_kind: self.source_kind,
            source_id: self.source_id,
            property_id: self.property_id,
            reverses_id: self.reverses_id,
            expires_at: self.expires_at.map(|d| d.and_utc()),
            lots,
            created_at: self.created_at.and_utc(),
        }
    }
}

/// A ledger entry to insert (absent values as NULL, so the statement is always the same one
/// and stays prepared).
#[derive(Debug, Insertable)]
#[diesel(table_name = le, treat_none_as_default_value = false)]
pub struct NewEntry<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    pub kind: &'a str,
    pub points: i64,
    pub balance_after: i64,
    pub qualifying: bool,
    pub reason: &'a str,
    pub actor_kind: &'a str,
    pub actor_id: Option<String>,
    pub source_kind: Option<String>,
    pub source_id: Option<String>,
    pub property_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub reverses_id: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl NewEntry<'_> {
    /// The entry as it now stands in the ledger (no read-back: it is what was inserted).
    pub fn into_entry(self, lots: Vec<LotUse>) -> LedgerEntry {
        EntryRow {
            id: self.id.to_string(),
            kind: self.kind.to_string(),
            points: self.points,
            balance_after: self.balance_after,
            qualifying: self.qualifying,
            reason: self.reason.to_string(),
            source_kind: self.source_kind,
            source_id: self.source_id,
            property_id: self.property_id,
            reverses_id: self.reverses_id,
            expires_at: self.expires_at,
            created_at: self.created_at,
        }
        .into_entry(lots)
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = rw)]
pub struct RewardRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub points_cost: i64,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<RewardRow> for Reward {
    fn from(r: RewardRow) -> Reward {
        Reward {
            id: r.id,
            code: r.code,
            name: r.name,
            description: r.description,
            points_cost: r.points_cost,
            active: r.active,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = rd)]
pub struct RedemptionRow {
    pub id: String,
    pub customer_id: String,
    pub reward_id: String,
    pub points: i64,
    pub status: String,
    pub redeem_entry_id: String,
    pub reverse_entry_id: Option<String>,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<RedemptionRow> for Redemption {
    fn from(r: RedemptionRow) -> Redemption {
        Redemption {
            id: r.id,
            customer_id: r.customer_id,
            reward_id: r.reward_id,
            points: r.points,
            status: RedemptionStatus::parse(&r.status),
            redeem_entry_id: r.redeem_entry_id,
            reverse_entry_id: r.reverse_entry_id,
            note: r.note,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = lpr)]
pub struct PropertyRulesRow {
    pub property_id: String,
    pub points_per_unit: Option<String>,
    pub outlet_weights: String,
    pub updated_at: NaiveDateTime,
}

impl PropertyRulesRow {
    fn into_rules(self) -> Result<PropertyRules, ApiError> {
        let bad = || ApiError::internal("loyalty property rules unreadable");
        let weights: BTreeMap<Outlet, String> = serde_json::from_str(&self.outlet_weights).map_err(|_| bad())?;
        Ok(PropertyRules {
            property_id: self.property_id,
            points_per_unit: self
                .points_per_unit
                .map(|p| Decimal::from_str(&p).map(to_f64))
                .transpose()
                .map_err(|_| bad())?,
            outlet_weights: weights
                .into_iter()
                .map(|(o, w)| Decimal::from_str(&w).map(|d| (o, to_f64(d))))
                .collect::<Result<_, _>>()
                .map_err(|_| bad())?,
            updated_at: self.updated_at.and_utc(),
        })
    }
}

const RULES_MEMO: &str = "loyalty.rules";

impl Rules {
    /// The rules as postings use them: remembered for at most `db::memo::TTL`, forgotten at once
    /// when changed through this process (`forget_cached`). Not for a use case that changes them.
    pub fn cached(conn: &mut DbConnection) -> Result<Rules, ApiError> {
        crate::db::memo::cached(conn, RULES_MEMO, Rules::load)
    }

    /// After a committed change of the rules.
    pub fn forget_cached() {
        crate::db::memo::forget(RULES_MEMO);
    }

    /// The rules as stored now.
    pub fn load(conn: &mut DbConnection) -> Result<Rules, ApiError> {
        let rows: Vec<(String, String)> = ls::table.select((ls::name, ls::value)).load(conn)?;
        let get = |n: &str| {
            rows.iter()
                .find(|r| r.0 == n)
                .map(|r| r.1.clone())
                .ok_or_else(|| ApiError::internal(format!("loyalty setting {n} missing")))
        };
        let bad = |n: &str| ApiError::internal(format!("loyalty setting {n} unreadable"));
        let weights: HashMap<String, f64> =
            serde_json::from_str(&get("outlet_weights")?).map_err(|_| bad("outlet_weights"))?;
        let mut tiers: Vec<TierRule> = serde_json::from_str(&get("tiers")?).map_err(|_| bad("tiers"))?;
        tiers.sort_by_key(|t| t.threshold);
        Ok(Rules {
            points_per_unit: Decimal::from_str(&get("points_per_unit")?).map_err(|_| bad("points_per_unit"))?,
            expiry_months: get("expiry_months")?.parse().map_err(|_| bad("expiry_months"))?,
            outlet_weights: weights
                .into_iter()
                .map(|(k, v)| (k, Decimal::from_str(&v.to_string()).unwrap_or_default()))
                .collect(),
            tiers,
        })
    }

    /// The rules as they apply to spend at `property_id`: its own points per unit and outlet
    /// weights where it overrides the group's (`loyalty_property_rules`).
    pub fn for_property(mut self, conn: &mut DbConnection, property_id: &str) -> Result<Rules, ApiError> {
        let row: Option<(Option<String>, String)> = lpr::table
            .find(property_id)
            .select((lpr::points_per_unit, lpr::outlet_weights))
            .first(conn)
            .optional()?;
        if let Some((ppu, weights)) = row {
            let bad = || ApiError::internal("loyalty property rules unreadable");
            if let Some(ppu) = ppu {
                self.points_per_unit = Decimal::from_str(&ppu).map_err(|_| bad())?;
            }
            let weights: HashMap<String, String> = serde_json::from_str(&weights).map_err(|_| bad())?;
            for (outlet, w) in weights {
                self.outlet_weights
                    .insert(outlet, Decimal::from_str(&w).map_err(|_| bad())?);
            }
        }
        Ok(self)
    }
}

/// Every property's overrides, by property code.
pub fn property_rules(conn: &mut DbConnection) -> Result<Vec<PropertyRules>, ApiError> {
    let mut rows: BTreeMap<String, PropertyRulesRow> = lpr::table
        .select(PropertyRulesRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r: PropertyRulesRow| (r.property_id.clone(), r))
        .collect();
    // By property code (a group has tens of properties).
    crate::features::properties::all_basics(conn)?
        .into_iter()
        .filter_map(|p| rows.remove(&p.id))
        .map(PropertyRulesRow::into_rules)
        .collect()
}

/// Replaces (or inserts) one property's overrides.
pub fn store_property_rules(
    conn: &mut DbConnection,
    property_id: &str,
    ppu: &Option<String>,
    weights_json: &str,
) -> Result<(), ApiError> {
    let ts = now();
    let n = diesel::update(lpr::table.find(property_id))
        .set((
            lpr::points_per_unit.eq(ppu),
            lpr::outlet_weights.eq(weights_json),
            lpr::updated_at.eq(ts),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(lpr::table)
            .values((
                lpr::property_id.eq(property_id),
                lpr::points_per_unit.eq(ppu),
                lpr::outlet_weights.eq(weights_json),
                lpr::updated_at.eq(ts),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes a property's overrides; `false` when it had none.
pub fn delete_property_rules(conn: &mut DbConnection, property_id: &str) -> Result<bool, ApiError> {
    Ok(diesel::delete(lpr::table.find(property_id)).execute(conn)? > 0)
}

/// Sets one `loyalty_settings` value.
pub fn set_setting(conn: &mut DbConnection, name: &str, value: String) -> Result<(), ApiError> {
    let n = diesel::update(ls::table.find(name))
        .set(ls::value.eq(&value))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(ls::table)
            .values((ls::name.eq(name), ls::value.eq(&value)))
            .execute(conn)?;
    }
    Ok(())
}

pub use crate::features::guests::customer_exists;

/// Inserts the guest's account unless it exists; `true` when inserted now.
pub fn insert_account(conn: &mut DbConnection, customer_id: &str) -> Result<bool, ApiError> {
    let n: i64 = la::table.find(customer_id).count().get_result(conn)?;
    if n > 0 {
        return Ok(false);
    }
    if !customer_exists(conn, customer_id)? {
        return Err(ApiError::not_found("customer"));
    }
    let ts = now();
    let insert = |conn: &mut DbConnection| {
        diesel::insert_into(la::table)
            .values((
                la::customer_id.eq(customer_id),
                la::balance.eq(0i64),
                la::tier.eq(Tier::Regular.as_str()),
                la::tier_since.eq(ts),
                la::tier_review_due_at.eq(ts + Duration::days(365)),
                la::enrolled_at.eq(ts),
                la::updated_at.eq(ts),
            ))
            .execute(conn)
    };
    // A concurrent first earning may enrol the guest a moment before us.
    crate::db::dialect::insert_or_skip(conn, insert)
}

/// The account's tier (the account must exist).
pub fn account_tier(conn: &mut DbConnection, customer_id: &str) -> Result<Tier, ApiError> {
    let t: String = la::table.find(customer_id).select(la::tier).first(conn)?;
    Ok(Tier::parse(&t).unwrap_or(Tier::Regular))
}

/// `(balance, tier, tier_since)` of the account, if any.
pub fn account(conn: &mut DbConnection, customer_id: &str) -> Result<Option<(i64, Tier, NaiveDateTime)>, ApiError> {
    let acct: Option<(i64, String, NaiveDateTime)> = la::table
        .find(customer_id)
        .select((la::balance, la::tier, la::tier_since))
        .first(conn)
        .optional()?;
    Ok(acct.map(|(b, t, s)| (b, Tier::parse(&t).unwrap_or(Tier::Regular), s)))
}

/// Sets the account's tier (from now) and records the change.
pub fn change_tier(
    conn: &mut DbConnection,
    customer_id: &str,
    from: Tier,
    to: Tier,
    review_due: NaiveDateTime,
    reason: String,
) -> Result<(), ApiError> {
    let ts = now();
    diesel::update(la::table.find(customer_id))
        .set((
            la::tier.eq(to.as_str()),
            la::tier_since.eq(ts),
            la::tier_review_due_at.eq(review_due),
        ))
        .execute(conn)?;
    diesel::insert_into(tier_changes::table)
        .values((
            tier_changes::id.eq(new_id()),
            tier_changes::customer_id.eq(customer_id),
            tier_changes::from_tier.eq(from.as_str()),
            tier_changes::to_tier.eq(to.as_str()),
            tier_changes::reason.eq(reason),
            tier_changes::created_at.eq(ts),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn entry_by_key(conn: &mut DbConnection, customer_id: &str, key: &str) -> Result<Option<EntryRow>, ApiError> {
    Ok(le::table
        .filter(le::customer_id.eq(customer_id))
        .filter(le::idempotency_key.eq(key))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn entry(conn: &mut DbConnection, id: &str) -> Result<EntryRow, ApiError> {
    Ok(le::table.find(id).select(EntryRow::as_select()).first(conn)?)
}

/// Appends one entry with the lots it draws on (the balance moved first: `add_to_balance`);
/// `false` when an entry with its idempotency key is already in the account's ledger.
pub fn insert_entry(conn: &mut DbConnection, e: &NewEntry<'_>, plan: &[(String, i64)]) -> Result<bool, ApiError> {
    let insert = diesel::insert_into(le::table)
        .values(e)
        .on_conflict((le::customer_id, le::idempotency_key))
        .do_nothing();
    if crate::db::dialect::execute(conn, insert)? == 0 {
        return Ok(false);
    }
    for (lot, points) in plan {
        diesel::insert_into(lc::table)
            .values((lc::entry_id.eq(e.id), lc::lot_id.eq(lot), lc::points.eq(points)))
            .execute(conn)?;
    }
    Ok(true)
}

/// Moves the account's balance by `points` unless it would fall below zero, holding the row's
/// lock until the transaction ends: the new balance, or `None` when the guest has no account or
/// too few points. One statement both locks and reads.
pub fn add_to_balance(
    conn: &mut DbConnection,
    customer_id: &str,
    points: i64,
    ts: NaiveDateTime,
) -> Result<Option<i64>, ApiError> {
    let q = diesel::update(la::table.find(customer_id))
        .filter((la::balance + points).ge(0i64))
        .set((la::balance.eq(la::balance + points), la::updated_at.eq(ts)))
        .returning(la::balance);
    Ok(crate::db::dialect::load_returning(conn, q)?.into_iter().next())
}

pub fn balance(conn: &mut DbConnection, customer_id: &str) -> Result<Option<i64>, ApiError> {
    Ok(la::table.find(customer_id).select(la::balance).first(conn).optional()?)
}

/// Remaining points of the account's lots: `(lot id, expires_at, remaining)`.
pub fn lots_remaining(
    conn: &mut DbConnection,
    customer_id: &str,
) -> Result<Vec<(String, NaiveDateTime, i64)>, ApiError> {
    let lots: Vec<(String, Option<NaiveDateTime>, i64)> = le::table
        .filter(le::customer_id.eq(customer_id))
        .filter(le::points.gt(0))
        .filter(le::expires_at.is_not_null())
        .select((le::id, le::expires_at, le::points))
        .load(conn)?;
    let ids: Vec<String> = lots.iter().map(|l| l.0.clone()).collect();
    let used: Vec<(String, i64)> = if ids.is_empty() {
        Vec::new()
    } else {
        lc::table
            .filter(lc::lot_id.eq_any(&ids))
            .select((lc::lot_id, lc::points))
            .load(conn)?
    };
    let mut consumed: HashMap<String, i64> = HashMap::new();
    for (lot, p) in used {
        *consumed.entry(lot).or_default() += p;
    }
    Ok(lots
        .into_iter()
        .filter_map(|(id, exp, p)| exp.map(|e| (id.clone(), e, p - consumed.get(&id).copied().unwrap_or(0))))
        .collect())
}

/// What one lot still holds.
pub fn lot_remaining(conn: &mut DbConnection, customer_id: &str, lot_id: &str) -> Result<i64, ApiError> {
    Ok(lots_remaining(conn, customer_id)?
        .into_iter()
        .find(|l| l.0 == lot_id)
        .map(|l| l.2)
        .unwrap_or(0))
}

pub fn lot_uses(conn: &mut DbConnection, entry_ids: &[String]) -> Result<HashMap<String, Vec<LotUse>>, ApiError> {
    let mut out: HashMap<String, Vec<LotUse>> = HashMap::new();
    if entry_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String, i64)> = lc::table
        .filter(lc::entry_id.eq_any(entry_ids))
        .select((lc::entry_id, lc::lot_id, lc::points))
        .order((lc::entry_id, lc::lot_id))
        .load(conn)?;
    for (e, lot_id, points) in rows {
        out.entry(e).or_default().push(LotUse { lot_id, points });
    }
    Ok(out)
}

/// The lots an entry drew on, `(lot id, points)`.
pub fn consumptions_of(conn: &mut DbConnection, entry_id: &str) -> Result<Vec<(String, i64)>, ApiError> {
    Ok(lc::table
        .filter(lc::entry_id.eq(entry_id))
        .select((lc::lot_id, lc::points))
        .load(conn)?)
}

/// A page of the statement, newest first (`limit` rows after the cursor).
pub fn entries_page(
    conn: &mut DbConnection,
    customer_id: &str,
    after: Option<&String>,
    limit: i64,
) -> Result<Vec<EntryRow>, ApiError> {
    let mut q = le::table
        .filter(le::customer_id.eq(customer_id))
        .select(EntryRow::as_select())
        .order(le::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(le::id.lt(a.clone()));
    }
    Ok(q.load(conn)?)
}

/// Qualifying points in the 12 months before `as_of`.
pub fn qualifying_12m_as_of(conn: &mut DbConnection, customer_id: &str, as_of: NaiveDateTime) -> Result<i64, ApiError> {
    let since = as_of - Duration::days(365);
    let pts: Vec<i64> = le::table
        .filter(le::customer_id.eq(customer_id))
        .filter(le::qualifying.eq(true))
        .filter(le::created_at.gt(since))
        .filter(le::created_at.le(as_of))
        .select(le::points)
        .load(conn)?;
    Ok(pts.into_iter().sum())
}

pub fn has_entry_with_key(conn: &mut DbConnection, customer_id: &str, key: &str) -> Result<bool, ApiError> {
    let n: i64 = le::table
        .filter(le::customer_id.eq(customer_id))
        .filter(le::idempotency_key.eq(key))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn load_reward(conn: &mut DbConnection, id: &str) -> Result<Reward, ApiError> {
    rw::table
        .find(id)
        .select(RewardRow::as_select())
        .first(conn)
        .optional()?
        .map(Reward::from)
        .ok_or_else(|| ApiError::not_found("reward"))
}

pub fn load_redemption(conn: &mut DbConnection, id: &str) -> Result<Redemption, ApiError> {
    rd::table
        .find(id)
        .select(RedemptionRow::as_select())
        .first(conn)
        .optional()?
        .map(Redemption::from)
        .ok_or_else(|| ApiError::not_found("redemption"))
}

/// An earning entry of a stay, as its reversal needs it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = le)]
pub struct EarnRow {
    pub id: String,
    pub customer_id: String,
    pub points: i64,
    pub property_id: Option<String>,
}

/// The earning entries of a stay (by the stay or its spend lines), oldest first; of one
/// account when `customer_id` is given.
pub fn stay_earns(
    conn: &mut DbConnection,
    stay_id: &str,
    line_ids: &[String],
    customer_id: Option<&str>,
) -> Result<Vec<EarnRow>, ApiError> {
    let mut q = le::table
        .filter(le::kind.eq(EntryKind::Earn.as_str()))
        .filter(
            (le::source_kind.eq("stay").and(le::source_id.eq(stay_id)))
                .or(le::source_kind.eq("spend").and(le::source_id.eq_any(line_ids))),
        )
        .select(EarnRow::as_select())
        .order(le::id)
        .into_boxed();
    if let Some(c) = customer_id {
        q = q.filter(le::customer_id.eq(c));
    }
    Ok(q.load(conn)?)
}

/// The points of the reversals of these entries (negative).
pub fn reversed_points(conn: &mut DbConnection, entry_ids: &[String]) -> Result<Vec<i64>, ApiError> {
    Ok(le::table
        .filter(le::kind.eq(EntryKind::Reverse.as_str()))
        .filter(le::reverses_id.eq_any(entry_ids))
        .select(le::points)
        .load(conn)?)
}
