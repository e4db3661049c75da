//! The points ledger (SPEC §6.2): enrolment, append-only entries, lots consumed soonest-expiring
//! first, earning on check-out, reversal on cancellation, tier upgrades, adjustments, summary
//! and statement.
//!
//! Invariants, kept by construction and by the database: balance = Σ entries (each post updates
//! the account row in the same transaction, with the row locked); balance ≥ 0 (CHECK); an
//! idempotency key is applied at most once per account (UNIQUE); every negative entry records
//! the lots it consumed (`ledger_lot_consumptions`); entries are never updated or deleted
//! (triggers).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, Months, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Actor, Perm, Principal};
use crate::db::lock_row;
use crate::db::schema::{
    customers, ledger_entries as le, ledger_lot_consumptions as lc, loyalty_accounts as la, loyalty_property_rules,
    loyalty_settings, spend_lines, stays, tier_changes,
};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};
use crate::platform::money::minor_digits;
use crate::platform::page::{self as pagination, Order, Page, PageItem, PageParams};

string_enum!(Tier { Regular => "regular", Silver => "silver", Gold => "gold", Platinum => "platinum" });
string_enum!(
    /// The kind of a ledger entry.
    #[schema(as = LedgerEntryKind)]
    EntryKind { Earn => "earn", Bonus => "bonus", Redeem => "redeem", Adjust => "adjust", Expire => "expire", Reverse => "reverse", Compensation => "compensation" });

/// The programme's rules, read from `loyalty_settings`.
#[derive(Debug, Clone)]
pub struct Rules {
    pub points_per_unit: Decimal,
    pub expiry_months: u32,
    pub outlet_weights: HashMap<String, Decimal>,
    /// Ascending thresholds.
    pub tiers: Vec<TierRule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TierRule {
    pub tier: Tier,
    pub threshold: i64,
    #[serde(deserialize_with = "decimal_from_number")]
    pub multiplier: Decimal,
}

/// Settings hold multipliers as JSON numbers (1.25); read them through their shortest decimal
/// text so 1.25 is exactly 1.25.
fn decimal_from_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let f = f64::deserialize(d)?;
    Decimal::from_str(&f.to_string()).map_err(serde::de::Error::custom)
}

impl Rules {
    pub fn load(conn: &mut DbConnection) -> Result<Rules, ApiError> {
        let rows: Vec<(String, String)> = loyalty_settings::table
            .select((loyalty_settings::name, loyalty_settings::value))
            .load(conn)?;
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
        let row: Option<(Option<String>, String)> = loyalty_property_rules::table
            .find(property_id)
            .select((
                loyalty_property_rules::points_per_unit,
                loyalty_property_rules::outlet_weights,
            ))
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

    pub fn multiplier(&self, tier: Tier) -> Decimal {
        self.tiers
            .iter()
            .find(|t| t.tier == tier)
            .map(|t| t.multiplier)
            .unwrap_or(Decimal::ONE)
    }

    /// The tier that `qualifying` points in the trailing 12 months reach.
    pub fn tier_for(&self, qualifying: i64) -> Tier {
        self.tiers
            .iter()
            .filter(|t| qualifying >= t.threshold)
            .map(|t| t.tier)
            .next_back()
            .unwrap_or(Tier::Regular)
    }

    pub fn next_tier(&self, tier: Tier) -> Option<&TierRule> {
        self.tiers.iter().find(|t| t.tier > tier)
    }

    /// Points for spend lines `(outlet, amount in minor units)` in one currency: Σ amount ×
    /// outlet weight, in currency units, × points per unit × tier multiplier, rounded down;
    /// never negative.
    pub fn earn_points(&self, lines: &[(String, i64)], currency: &str, tier: Tier) -> i64 {
        let scale = Decimal::from(10i64.pow(minor_digits(currency)));
        let qualifying: Decimal = lines
            .iter()
            .map(|(outlet, minor)| {
                Decimal::from(*minor) * self.outlet_weights.get(outlet).copied().unwrap_or(Decimal::ZERO)
            })
            .sum();
        let points = (qualifying / scale * self.points_per_unit * self.multiplier(tier)).floor();
        points.to_i64().unwrap_or(0).max(0)
    }
}

/// Which lots a negative posting of `needed` points consumes: soonest-expiring first (then
/// oldest). `lots` are `(lot id, expires_at, remaining)`; `None` when they do not cover it.
pub fn plan_consumption(lots: &[(String, NaiveDateTime, i64)], needed: i64) -> Option<Vec<(String, i64)>> {
    let mut sorted: Vec<&(String, NaiveDateTime, i64)> = lots.iter().filter(|l| l.2 > 0).collect();
    sorted.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let mut left = needed;
    let mut plan = Vec::new();
    for (id, _, remaining) in sorted {
        if left == 0 {
            break;
        }
        let take = left.min(*remaining);
        plan.push((id.clone(), take));
        left -= take;
    }
    (left == 0).then_some(plan)
}

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

pub type EntryRow = (
    String,
    String,
    i64,
    i64,
    bool,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
fn entry_cols() -> (
    le::id,
    le::kind,
    le::points,
    le::balance_after,
    le::qualifying,
    le::reason,
    le::source_kind,
    le::source_id,
    le::property_id,
    le::reverses_id,
    le::expires_at,
    le::created_at,
) {
    (
        le::id,
        le::kind,
        le::points,
        le::balance_after,
        le::qualifying,
        le::reason,
        le::source_kind,
        le::source_id,
        le::property_id,
        le::reverses_id,
        le::expires_at,
        le::created_at,
    )
}

fn to_entry(r: EntryRow, lots: Vec<LotUse>) -> LedgerEntry {
    LedgerEntry {
        id: r.0,
        kind: EntryKind::parse(&r.1).unwrap_or(EntryKind::Adjust),
        points: r.2,
        balance_after: r.3,
        qualifying: r.4,
        reason: r.5,
        source_kind: r.6,
        source_id: r.7,
        property_id: r.8,
        reverses_id: r.9,
        expires_at: r.10.map(|d| d.and_utc()),
        lots,
        created_at: r.11.and_utc(),
    }
}

/// Opens the guest's account (idempotent); `true` when it was created now.
pub fn ensure_account(conn: &mut DbConnection, customer_id: &str) -> Result<bool, ApiError> {
    let n: i64 = la::table.find(customer_id).count().get_result(conn)?;
    if n > 0 {
        return Ok(false);
    }
    let exists: i64 = customers::table.find(customer_id).count().get_result(conn)?;
    if exists == 0 {
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

/// How a negative posting chooses its lots.
pub enum Consume {
    /// Soonest-expiring unexpired lots first (redeem, deductions).
    Fifo,
    /// One named lot (reversal of that lot, its expiry).
    Lot(String),
}

pub struct Posting<'a> {
    pub customer_id: &'a str,
    pub kind: EntryKind,
    pub points: i64,
    pub qualifying: bool,
    pub reason: String,
    pub source: Option<(&'a str, String)>,
    pub property_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub reverses_id: Option<String>,
    pub consume: Consume,
    /// For refunds: give the points back to these lots (`(lot id, points)`) instead of opening
    /// a new lot, so they keep their expiry and their origin (a later reversal of the lot
    /// reaches them).
    pub restores: Option<Vec<(String, i64)>>,
}

/// Remaining points of the account's lots: `(lot id, expires_at, remaining)`.
fn lots_remaining(conn: &mut DbConnection, customer_id: &str) -> Result<Vec<(String, NaiveDateTime, i64)>, ApiError> {
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

/// Appends one entry and moves the balance, in the caller's transaction. Replays (same
/// idempotency key) return the first entry and change nothing.
pub fn post(
    conn: &mut DbConnection,
    who: &Principal,
    rules: &Rules,
    p: Posting,
) -> Result<(LedgerEntry, bool), ApiError> {
    if p.points == 0 {
        return Err(ApiError::field("points", "must not be zero"));
    }
    // Lock the account row for the rest of the transaction (PostgreSQL); SQLite's write
    // transaction already holds the database lock.
    let locked = lock_row!(conn, la::table, la::updated_at, p.customer_id)?;
    if !locked {
        return Err(ApiError::NotFound(
            "the guest is not enrolled in the loyalty programme".into(),
        ));
    }
    if let Some(key) = &p.idempotency_key {
        let existing: Option<EntryRow> = le::table
            .filter(le::customer_id.eq(p.customer_id))
            .filter(le::idempotency_key.eq(key))
            .select(entry_cols())
            .first(conn)
            .optional()?;
        if let Some(row) = existing {
            if row.2 != p.points || row.1 != p.kind.as_str() {
                return Err(ApiError::field(
                    "Idempotency-Key",
                    "was already used for a different posting",
                ));
            }
            let id = row.0.clone();
            let lots = lot_uses(conn, std::slice::from_ref(&id))?
                .remove(&id)
                .unwrap_or_default();
            return Ok((to_entry(row, lots), true));
        }
    }
    let balance: i64 = la::table.find(p.customer_id).select(la::balance).first(conn)?;
    let ts = now();
    let mut plan: Vec<(String, i64)> = Vec::new();
    if p.points < 0 {
        let needed = -p.points;
        let lots = lots_remaining(conn, p.customer_id)?;
        plan = match &p.consume {
            Consume::Fifo => {
                let live: Vec<_> = lots.into_iter().filter(|l| l.1 > ts).collect();
                plan_consumption(&live, needed).ok_or_else(|| ApiError::Conflict {
                    detail: format!("insufficient points: {needed} needed, {balance} available"),
                    existing_id: None,
                })?
            }
            Consume::Lot(id) => {
                let remaining = lots.iter().find(|l| &l.0 == id).map(|l| l.2).unwrap_or(0);
                if remaining < needed {
                    return Err(ApiError::Conflict {
                        detail: format!("the lot has {remaining} points left, not {needed}"),
                        existing_id: None,
                    });
                }
                vec![(id.clone(), needed)]
            }
        };
    }
    let balance_after = balance + p.points;
    if balance_after < 0 {
        return Err(ApiError::Conflict {
            detail: format!("insufficient points: balance {balance}"),
            existing_id: None,
        });
    }
    let id = new_id();
    if let Some(restores) = &p.restores {
        if restores.iter().map(|r| r.1).sum::<i64>() != p.points || p.points < 0 {
            return Err(ApiError::internal("restored lots do not add up to the refund"));
        }
        // Recorded as negative consumption of each lot.
        plan = restores.iter().map(|(lot, pts)| (lot.clone(), -pts)).collect();
    }
    let expires_at = (p.points > 0 && p.restores.is_none()).then(|| {
        ts.checked_add_months(Months::new(rules.expiry_months))
            .unwrap_or(ts + Duration::days(730))
    });
    let (source_kind, source_id) = match &p.source {
        Some((k, i)) => (Some(k.to_string()), Some(i.clone())),
        None => (None, None),
    };
    diesel::insert_into(le::table)
        .values((
            le::id.eq(&id),
            le::customer_id.eq(p.customer_id),
            le::kind.eq(p.kind.as_str()),
            le::points.eq(p.points),
            le::balance_after.eq(balance_after),
            le::qualifying.eq(p.qualifying),
            le::reason.eq(&p.reason),
            le::actor_kind.eq(who.actor_kind()),
            le::actor_id.eq(Some(who.actor_id())),
            le::source_kind.eq(&source_kind),
            le::source_id.eq(&source_id),
            le::property_id.eq(&p.property_id),
            le::idempotency_key.eq(&p.idempotency_key),
            le::reverses_id.eq(&p.reverses_id),
            le::expires_at.eq(expires_at),
            le::created_at.eq(ts),
        ))
        .execute(conn)?;
    for (lot, points) in &plan {
        diesel::insert_into(lc::table)
            .values((lc::entry_id.eq(&id), lc::lot_id.eq(lot), lc::points.eq(points)))
            .execute(conn)?;
    }
    diesel::update(la::table.find(p.customer_id))
        .set((la::balance.eq(balance_after), la::updated_at.eq(ts)))
        .execute(conn)?;
    let row: EntryRow = le::table.find(&id).select(entry_cols()).first(conn)?;
    let lots = plan
        .into_iter()
        .map(|(lot_id, points)| LotUse { lot_id, points })
        .collect();
    Ok((to_entry(row, lots), false))
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

fn qualifying_12m(conn: &mut DbConnection, customer_id: &str) -> Result<i64, ApiError> {
    qualifying_12m_as_of(conn, customer_id, now())
}

/// Qualifying points in the 12 months before `as_of`.
fn qualifying_12m_as_of(conn: &mut DbConnection, customer_id: &str, as_of: NaiveDateTime) -> Result<i64, ApiError> {
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

/// Upgrades at once when the trailing-12-month qualifying points reach a higher tier
/// (downgrades wait for the yearly review).
fn upgrade_if_due(conn: &mut DbConnection, rules: &Rules, customer_id: &str) -> Result<Option<Tier>, ApiError> {
    let current: String = la::table.find(customer_id).select(la::tier).first(conn)?;
    let current = Tier::parse(&current).unwrap_or(Tier::Regular);
    let q = qualifying_12m(conn, customer_id)?;
    let reached = rules.tier_for(q);
    if reached <= current {
        return Ok(None);
    }
    let ts = now();
    diesel::update(la::table.find(customer_id))
        .set((
            la::tier.eq(reached.as_str()),
            la::tier_since.eq(ts),
            la::tier_review_due_at.eq(ts + Duration::days(365)),
        ))
        .execute(conn)?;
    diesel::insert_into(tier_changes::table)
        .values((
            tier_changes::id.eq(new_id()),
            tier_changes::customer_id.eq(customer_id),
            tier_changes::from_tier.eq(current.as_str()),
            tier_changes::to_tier.eq(reached.as_str()),
            tier_changes::reason.eq(format!("upgrade: {q} qualifying points in 12 months")),
            tier_changes::created_at.eq(ts),
        ))
        .execute(conn)?;
    Ok(Some(reached))
}

/// Check-out: earn on the stay's qualifying spend, once (enrolling the guest at first earning).
/// The tier whose multiplier applies is fixed on the stay, so later corrections of its spend
/// settle at the same rate (`settle_stay`).
pub fn earn_for_stay(
    conn: &mut DbConnection,
    who: &Principal,
    stay_id: &str,
    customer_id: &str,
) -> Result<Option<LedgerEntry>, ApiError> {
    ensure_account(conn, customer_id)?;
    let tier: String = la::table.find(customer_id).select(la::tier).first(conn)?;
    diesel::update(stays::table.find(stay_id))
        .filter(stays::earn_tier.is_null())
        .set(stays::earn_tier.eq(&tier))
        .execute(conn)?;
    settle_stay(conn, who, stay_id)
}

/// Brings a checked-out stay's points in line with its spend lines as they are now: the first
/// call earns the stay (key `earn:stay:{id}`); a charge that arrives or changes after check-out
/// posts the difference, an `earn` when the stay is owed more, `reverse` entries against the
/// stay's own lots (newest first) when a charge was voided or reduced. Points the guest has
/// already spent are not taken back below zero. Runs under the account lock, so concurrent
/// corrections of one stay settle one after the other, each against the sum the other left.
pub fn settle_stay(conn: &mut DbConnection, who: &Principal, stay_id: &str) -> Result<Option<LedgerEntry>, ApiError> {
    let (customer_id, property_id, status, earn_tier): (String, String, String, Option<String>) = stays::table
        .find(stay_id)
        .select((stays::customer_id, stays::property_id, stays::status, stays::earn_tier))
        .first(conn)?;
    let Some(tier) = earn_tier.filter(|_| status == "checked_out") else {
        return Ok(None);
    };
    let tier = Tier::parse(&tier).unwrap_or(Tier::Regular);
    let rules = Rules::load(conn)?.for_property(conn, &property_id)?;
    let lines: Vec<(String, String, i64, String)> = spend_lines::table
        .filter(spend_lines::stay_id.eq(stay_id))
        .select((
            spend_lines::id,
            spend_lines::outlet,
            spend_lines::amount_minor,
            spend_lines::currency,
        ))
        .load(conn)?;
    let target = match lines.first() {
        Some((_, _, _, currency)) => {
            let pairs: Vec<(String, i64)> = lines.iter().map(|(_, o, a, _)| (o.clone(), *a)).collect();
            rules.earn_points(&pairs, currency, tier).max(0)
        }
        None => 0,
    };
    ensure_account(conn, &customer_id)?;
    // Take the account lock before reading what the stay holds.
    lock_row!(conn, la::table, la::updated_at, &customer_id)?;
    let line_ids: Vec<String> = lines.iter().map(|l| l.0.clone()).collect();
    let earns: Vec<(String, i64)> = le::table
        .filter(le::customer_id.eq(&customer_id))
        .filter(le::kind.eq(EntryKind::Earn.as_str()))
        .filter(
            (le::source_kind.eq("stay").and(le::source_id.eq(stay_id)))
                .or(le::source_kind.eq("spend").and(le::source_id.eq_any(&line_ids))),
        )
        .select((le::id, le::points))
        .order(le::id)
        .load(conn)?;
    let earn_ids: Vec<String> = earns.iter().map(|e| e.0.clone()).collect();
    let reversed: Vec<(Option<String>, i64)> = le::table
        .filter(le::kind.eq(EntryKind::Reverse.as_str()))
        .filter(le::reverses_id.eq_any(&earn_ids))
        .select((le::reverses_id, le::points))
        .load(conn)?;
    let held = earns.iter().map(|e| e.1).sum::<i64>() + reversed.iter().map(|r| r.1).sum::<i64>();
    let delta = target - held;
    let first = earns.is_empty();
    if delta > 0 {
        let (entry, replayed) = post(
            conn,
            who,
            &rules,
            Posting {
                customer_id: &customer_id,
                kind: EntryKind::Earn,
                points: delta,
                qualifying: true,
                reason: if first {
                    format!("stay check-out ({} tier ×{})", tier.as_str(), rules.multiplier(tier))
                } else {
                    format!(
                        "charges after check-out ({} tier ×{})",
                        tier.as_str(),
                        rules.multiplier(tier)
                    )
                },
                source: Some(("stay", stay_id.to_string())),
                property_id: Some(property_id.clone()),
                idempotency_key: Some(if first {
                    format!("earn:stay:{stay_id}")
                } else {
                    format!("earn:stay:{stay_id}:{}", earns.len() + reversed.len())
                }),
                reverses_id: None,
                consume: Consume::Fifo,
                restores: None,
            },
        )?;
        if !replayed {
            upgrade_if_due(conn, &rules, &customer_id)?;
            audit::record(
                conn,
                who,
                "loyalty.entry_posted",
                "customer",
                Some(&customer_id),
                json!({"entry_id": entry.id, "kind": "earn", "points": delta, "stay_id": stay_id}),
            )?;
        }
        return Ok(Some(entry));
    }
    if delta < 0 {
        // Take back from the stay's own lots, newest first, what they still hold.
        let remaining: HashMap<String, i64> = lots_remaining(conn, &customer_id)?
            .into_iter()
            .map(|l| (l.0, l.2))
            .collect();
        let mut owed = -delta;
        let mut seq = earns.len() + reversed.len();
        for (earn_id, _) in earns.iter().rev() {
            let take = owed.min(remaining.get(earn_id).copied().unwrap_or(0));
            if take <= 0 {
                continue;
            }
            let (entry, _) = post(
                conn,
                who,
                &rules,
                Posting {
                    customer_id: &customer_id,
                    kind: EntryKind::Reverse,
                    points: -take,
                    qualifying: true,
                    reason: "charges corrected after check-out".into(),
                    source: Some(("stay", stay_id.to_string())),
                    property_id: Some(property_id.clone()),
                    idempotency_key: Some(format!("reverse:{earn_id}:{seq}")),
                    reverses_id: Some(earn_id.clone()),
                    consume: Consume::Lot(earn_id.clone()),
                    restores: None,
                },
            )?;
            audit::record(
                conn,
                who,
                "loyalty.entry_posted",
                "customer",
                Some(&customer_id),
                json!({"entry_id": entry.id, "kind": "reverse", "points": -take, "stay_id": stay_id}),
            )?;
            seq += 1;
            owed -= take;
            if owed == 0 {
                break;
            }
        }
    }
    Ok(None)
}

/// Cancellation of a stay: reverse what its earnings still hold (points already spent cannot
/// be taken back below zero; the reason says so).
pub fn reverse_for_stay(conn: &mut DbConnection, who: &Principal, stay_id: &str) -> Result<Vec<LedgerEntry>, ApiError> {
    let rules = Rules::load(conn)?;
    let line_ids: Vec<String> = spend_lines::table
        .filter(spend_lines::stay_id.eq(stay_id))
        .select(spend_lines::id)
        .load(conn)?;
    let earns: Vec<(String, String, i64, Option<String>)> = le::table
        .filter(le::kind.eq(EntryKind::Earn.as_str()))
        .filter(
            (le::source_kind.eq("stay").and(le::source_id.eq(stay_id)))
                .or(le::source_kind.eq("spend").and(le::source_id.eq_any(line_ids))),
        )
        .select((le::id, le::customer_id, le::points, le::property_id))
        .order(le::id)
        .load(conn)?;
    let mut out = Vec::new();
    for (earn_id, customer_id, points, property_id) in earns {
        let remaining = lots_remaining(conn, &customer_id)?
            .into_iter()
            .find(|l| l.0 == earn_id)
            .map(|l| l.2)
            .unwrap_or(0);
        if remaining <= 0 {
            continue;
        }
        let reason = if remaining < points {
            format!(
                "stay cancelled: {remaining} of {points} points reversed ({} already used)",
                points - remaining
            )
        } else {
            "stay cancelled".to_string()
        };
        let (entry, replayed) = post(
            conn,
            who,
            &rules,
            Posting {
                customer_id: &customer_id,
                kind: EntryKind::Reverse,
                points: -remaining,
                qualifying: true,
                reason,
                source: Some(("stay", stay_id.to_string())),
                property_id,
                idempotency_key: Some(format!("reverse:{earn_id}")),
                reverses_id: Some(earn_id.clone()),
                consume: Consume::Lot(earn_id),
                restores: None,
            },
        )?;
        if !replayed {
            audit::record(
                conn,
                who,
                "loyalty.entry_posted",
                "customer",
                Some(&customer_id),
                json!({"entry_id": entry.id, "kind": "reverse"}),
            )?;
        }
        out.push(entry);
    }
    Ok(out)
}

fn require_read(who: &Principal, customer_id: &str) -> Result<(), ApiError> {
    match &who.actor {
        Actor::Customer { customer_id: me } if me == customer_id => Ok(()),
        Actor::Customer { .. } => Err(ApiError::not_found("customer")),
        _ => who.require(Perm::LoyaltyRead),
    }
}

pub fn enrol(conn: &mut DbConnection, who: &Principal, customer_id: &str) -> Result<(LoyaltySummary, bool), ApiError> {
    who.require(Perm::LoyaltyAdjust)
        .or_else(|_| who.require(Perm::CustomersWrite))?;
    let created = write_tx(conn, |conn| {
        let created = ensure_account(conn, customer_id)?;
        if created {
            audit::record(conn, who, "loyalty.enrolled", "customer", Some(customer_id), json!({}))?;
        }
        Ok(created)
    })?;
    Ok((summary(conn, who, customer_id)?, created))
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
        let rules = Rules::load(conn)?;
        if req.points > 0 {
            ensure_account(conn, customer_id)?;
        }
        let (entry, replayed) = post(
            conn,
            who,
            &rules,
            Posting {
                customer_id,
                kind: EntryKind::Adjust,
                points: req.points,
                qualifying: false,
                reason: reason.clone(),
                source: None,
                property_id: None,
                idempotency_key: idempotency_key.map(|k| format!("adjust:{k}")),
                reverses_id: None,
                consume: Consume::Fifo,
                restores: None,
            },
        )?;
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

/// Whether the guest's completion bonus for `subject` (`stay:<id>`, `ticket:<id>`) was posted.
pub fn survey_bonus_paid(conn: &mut DbConnection, customer_id: &str, subject: &str) -> Result<bool, ApiError> {
    use crate::db::schema::ledger_entries as le;
    let n: i64 = le::table
        .filter(le::customer_id.eq(customer_id))
        .filter(le::idempotency_key.eq(survey_bonus_key(subject)))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

fn survey_bonus_key(subject: &str) -> String {
    format!("survey:{subject}")
}

/// Posts the completion bonus of a survey, once per surveyed subject (`stay:<id>`, `ticket:<id>`).
pub fn post_survey_bonus(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    points: i64,
    property_id: &str,
    subject: &str,
) -> Result<(LedgerEntry, bool), ApiError> {
    let rules = Rules::load(conn)?;
    ensure_account(conn, customer_id)?;
    post(
        conn,
        who,
        &rules,
        Posting {
            customer_id,
            kind: EntryKind::Bonus,
            points,
            qualifying: false,
            reason: "survey completed".into(),
            source: Some(("survey", subject.to_string())),
            property_id: Some(property_id.to_string()),
            idempotency_key: Some(survey_bonus_key(subject)),
            reverses_id: None,
            consume: Consume::Fifo,
            restores: None,
        },
    )
}

/// Posts an approved points compensation of a ticket, in the caller's transaction; keyed by the
/// compensation's id, so it is applied once however often approval is retried.
pub fn post_compensation(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    points: i64,
    ticket_id: &str,
    property_id: &str,
    compensation_id: &str,
) -> Result<(LedgerEntry, bool), ApiError> {
    let rules = Rules::load(conn)?;
    ensure_account(conn, customer_id)?;
    let (entry, replayed) = post(
        conn,
        who,
        &rules,
        Posting {
            customer_id,
            kind: EntryKind::Compensation,
            points,
            qualifying: false,
            reason: "ticket compensation".into(),
            source: Some(("ticket", ticket_id.to_string())),
            property_id: Some(property_id.to_string()),
            idempotency_key: Some(format!("compensation:{compensation_id}")),
            reverses_id: None,
            consume: Consume::Fifo,
            restores: None,
        },
    )?;
    if !replayed {
        audit::record(
            conn,
            who,
            "loyalty.entry_posted",
            "customer",
            Some(customer_id),
            json!({"entry_id": entry.id, "kind": "compensation", "points": points, "ticket_id": ticket_id}),
        )?;
    }
    Ok((entry, replayed))
}

pub fn summary(conn: &mut DbConnection, who: &Principal, customer_id: &str) -> Result<LoyaltySummary, ApiError> {
    require_read(who, customer_id)?;
    read_tx(conn, |conn| {
        let exists: i64 = customers::table.find(customer_id).count().get_result(conn)?;
        if exists == 0 {
            return Err(ApiError::not_found("customer"));
        }
        let rules = Rules::load(conn)?;
        let acct: Option<(i64, String, NaiveDateTime)> = la::table
            .find(customer_id)
            .select((la::balance, la::tier, la::tier_since))
            .first(conn)
            .optional()?;
        let Some((balance, tier, since)) = acct else {
            let next = rules.next_tier(Tier::Regular);
            return Ok(LoyaltySummary {
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
            });
        };
        let tier = Tier::parse(&tier).unwrap_or(Tier::Regular);
        let q = qualifying_12m(conn, customer_id)?;
        let ts = now();
        let horizon = ts + Duration::days(90);
        let mut by_day: std::collections::BTreeMap<NaiveDate, i64> = Default::default();
        for (_, exp, remaining) in lots_remaining(conn, customer_id)? {
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
        let exists: i64 = customers::table.find(customer_id).count().get_result(conn)?;
        if exists == 0 {
            return Err(ApiError::not_found("customer"));
        }
        let mut q = le::table
            .filter(le::customer_id.eq(customer_id))
            .select(entry_cols())
            .order(le::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(a) = &cur.after {
            q = q.filter(le::id.lt(a.clone()));
        }
        let rows: Vec<EntryRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.0);
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let mut uses = lot_uses(conn, &ids)?;
        let data = rows
            .into_iter()
            .map(|r| {
                let lots = uses.remove(&r.0).unwrap_or_default();
                to_entry(r, lots)
            })
            .collect();
        Ok(LedgerPage { data, next_cursor })
    })
}

/// Expiry job: every lot whose expiry is at or before `as_of` gives up what it still holds
/// (an `expire` entry naming the lot), then is closed so no later run looks at it again.
/// Each lot is settled in its own transaction under its account's lock, with the idempotency
/// key `expire:<lot>`: several instances may run this at once. Returns (lots settled, entries
/// posted).
pub fn expire_due(conn: &mut DbConnection, as_of: NaiveDateTime, batch: i64) -> Result<(usize, usize), ApiError> {
    use crate::db::schema::ledger_lot_closures as cl;
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
            // Lock the account first: the lot's remainder cannot move under us.
            lock_row!(conn, la::table, la::updated_at, &customer_id)?;
            let closed: i64 = cl::table.find(&lot_id).count().get_result(conn)?;
            if closed > 0 {
                return Ok(0);
            }
            let remaining = lots_remaining(conn, &customer_id)?
                .into_iter()
                .find(|l| l.0 == lot_id)
                .map(|l| l.2)
                .unwrap_or(0);
            let mut n = 0;
            if remaining > 0 {
                let rules = Rules::load(conn)?;
                post(
                    conn,
                    &who,
                    &rules,
                    Posting {
                        customer_id: &customer_id,
                        kind: EntryKind::Expire,
                        points: -remaining,
                        qualifying: false,
                        reason: format!(
                            "points expired on {}",
                            expires_at.map(|e| e.date().to_string()).unwrap_or_default()
                        ),
                        source: Some(("expiry", lot_id.clone())),
                        property_id: None,
                        idempotency_key: Some(format!("expire:{lot_id}")),
                        reverses_id: None,
                        consume: Consume::Lot(lot_id.clone()),
                        restores: None,
                    },
                )?;
                n = 1;
            }
            diesel::insert_into(cl::table)
                .values((cl::lot_id.eq(&lot_id), cl::closed_at.eq(now())))
                .execute(conn)?;
            Ok(n)
        })?;
    }
    Ok((settled, posted))
}

/// Yearly tier review: accounts whose review date has come keep the tier their qualifying
/// points of the last 12 months reach, which may be lower (downgrades happen only here).
/// Returns (reviewed, downgraded).
pub fn review_tiers(conn: &mut DbConnection, as_of: NaiveDateTime, batch: i64) -> Result<(usize, usize), ApiError> {
    let due: Vec<String> = la::table
        .filter(la::tier_review_due_at.le(as_of))
        .select(la::customer_id)
        .order(la::tier_review_due_at)
        .limit(batch)
        .load(conn)?;
    let (mut reviewed, mut downgraded) = (0, 0);
    for customer_id in due {
        let changed = write_tx(conn, |conn| {
            let row: Option<(String, NaiveDateTime)> = la::table
                .find(&customer_id)
                .filter(la::tier_review_due_at.le(as_of))
                .select((la::tier, la::tier_review_due_at))
                .first(conn)
                .optional()?;
            // Another instance reviewed it meanwhile.
            let Some((tier, due_at)) = row else { return Ok(None) };
            let rules = Rules::load(conn)?;
            let current = Tier::parse(&tier).unwrap_or(Tier::Regular);
            let q = qualifying_12m_as_of(conn, &customer_id, as_of)?;
            let reached = rules.tier_for(q);
            let next_due = due_at + Duration::days(365);
            let next_due = if next_due <= as_of {
                as_of + Duration::days(365)
            } else {
                next_due
            };
            let ts = now();
            if reached < current {
                diesel::update(la::table.find(&customer_id))
                    .set((
                        la::tier.eq(reached.as_str()),
                        la::tier_since.eq(ts),
                        la::tier_review_due_at.eq(next_due),
                    ))
                    .execute(conn)?;
                diesel::insert_into(tier_changes::table)
                    .values((
                        tier_changes::id.eq(new_id()),
                        tier_changes::customer_id.eq(&customer_id),
                        tier_changes::from_tier.eq(current.as_str()),
                        tier_changes::to_tier.eq(reached.as_str()),
                        tier_changes::reason.eq(format!("yearly review: {q} qualifying points in 12 months")),
                        tier_changes::created_at.eq(ts),
                    ))
                    .execute(conn)?;
                Ok(Some(true))
            } else {
                diesel::update(la::table.find(&customer_id))
                    .set(la::tier_review_due_at.eq(next_due))
                    .execute(conn)?;
                Ok(Some(false))
            }
        })?;
        if let Some(down) = changed {
            reviewed += 1;
            if down {
                downgraded += 1;
            }
        }
    }
    Ok((reviewed, downgraded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            points_per_unit: Decimal::ONE,
            expiry_months: 24,
            outlet_weights: [("room", "1"), ("food_beverage", "1"), ("other", "0"), ("spa", "0.5")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), Decimal::from_str(v).unwrap()))
                .collect(),
            tiers: vec![
                TierRule {
                    tier: Tier::Regular,
                    threshold: 0,
                    multiplier: Decimal::ONE,
                },
                TierRule {
                    tier: Tier::Silver,
                    threshold: 5000,
                    multiplier: Decimal::from_str("1.25").unwrap(),
                },
                TierRule {
                    tier: Tier::Gold,
                    threshold: 20000,
                    multiplier: Decimal::from_str("1.5").unwrap(),
                },
                TierRule {
                    tier: Tier::Platinum,
                    threshold: 50000,
                    multiplier: Decimal::from(2),
                },
            ],
        }
    }

    #[test]
    fn tier_thresholds() {
        let r = rules();
        assert_eq!(r.tier_for(0), Tier::Regular);
        assert_eq!(r.tier_for(4999), Tier::Regular);
        assert_eq!(r.tier_for(5000), Tier::Silver);
        assert_eq!(r.tier_for(19999), Tier::Silver);
        assert_eq!(r.tier_for(20000), Tier::Gold);
        assert_eq!(r.tier_for(50000), Tier::Platinum);
        assert_eq!(r.tier_for(-10), Tier::Regular);
        assert_eq!(r.next_tier(Tier::Gold).unwrap().tier, Tier::Platinum);
        assert!(r.next_tier(Tier::Platinum).is_none());
    }

    #[test]
    fn earning_weights_multipliers_and_rounding() {
        let r = rules();
        let lines = vec![
            ("room".to_string(), 384_000),
            ("food_beverage".to_string(), 38_850),
            ("other".to_string(), 99_999),
        ];
        // 3840.00 + 388.50 = 4228.50 units → 4228 points for regular.
        assert_eq!(r.earn_points(&lines, "CNY", Tier::Regular), 4228);
        // ×1.25 = 5285.625 → 5285.
        assert_eq!(r.earn_points(&lines, "CNY", Tier::Silver), 5285);
        assert_eq!(r.earn_points(&lines, "CNY", Tier::Platinum), 8457);
        // JPY has no minor unit; spa weighs half.
        assert_eq!(r.earn_points(&[("spa".to_string(), 1001)], "JPY", Tier::Regular), 500);
        // Refunds larger than charges never earn negative points.
        assert_eq!(r.earn_points(&[("room".to_string(), -5000)], "CNY", Tier::Regular), 0);
    }

    #[test]
    fn consumption_takes_soonest_expiring_lots_first() {
        let d = |m: u32| {
            NaiveDate::from_ymd_opt(2027, m, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        };
        let lots = vec![
            ("b".to_string(), d(6), 300),
            ("a".to_string(), d(3), 100),
            ("c".to_string(), d(9), 500),
            ("z".to_string(), d(1), 0),
        ];
        assert_eq!(
            plan_consumption(&lots, 250).unwrap(),
            vec![("a".to_string(), 100), ("b".to_string(), 150)]
        );
        assert_eq!(plan_consumption(&lots, 900).unwrap().len(), 3);
        assert!(plan_consumption(&lots, 901).is_none());
        assert_eq!(plan_consumption(&lots, 100).unwrap(), vec![("a".to_string(), 100)]);
        // Same expiry: the older lot (smaller id) first.
        let tie = vec![("y".to_string(), d(3), 10), ("x".to_string(), d(3), 10)];
        assert_eq!(plan_consumption(&tie, 5).unwrap(), vec![("x".to_string(), 5)]);
    }
}
