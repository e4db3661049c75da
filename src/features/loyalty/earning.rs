//! Earning and its corrections: check-out earns on the stay's spend, later charges settle the
//! difference, cancellation reverses; the survey bonus and ticket compensations post here too.

use std::collections::HashMap;

use serde_json::json;

use super::account::ensure_account_in_tx;
use super::db::{self, EarnRow};
use super::model::{EntryKind, LedgerEntry, Tier};
use super::posting::{post, Posting};
use super::rules::Rules;
use super::tiers::upgrade_if_due_in_tx;
use crate::auth::Principal;
use crate::db::schema::loyalty_accounts as la;
use crate::db::{lock_row, DbConnection};
use crate::features::audit;
use crate::features::stays;
use crate::platform::error::ApiError;

/// Check-out: earn on the stay's qualifying spend, once (enrolling the guest at first earning).
/// The tier whose multiplier applies is fixed on the stay, so later corrections of its spend
/// settle at the same rate (`settle_stay`).
pub fn earn_for_stay(
    conn: &mut DbConnection,
    who: &Principal,
    stay_id: &str,
    customer_id: &str,
) -> Result<Option<LedgerEntry>, ApiError> {
    ensure_account_in_tx(conn, who, customer_id)?;
    let tier = db::account_tier(conn, customer_id)?;
    stays::fix_earn_tier_in_tx(conn, stay_id, tier.as_str())?;
    settle_stay(conn, who, stay_id)
}

/// One stay's settlement: who earns, at which rules and tier, what it is owed and holds.
struct Settlement {
    stay_id: String,
    customer_id: String,
    property_id: String,
    tier: Tier,
    rules: Rules,
    earns: Vec<EarnRow>,
    /// Reversals of those earnings so far.
    reversals: usize,
    /// What the spend earns now minus what the stay holds.
    delta: i64,
}

/// Brings a checked-out stay's points in line with its spend lines as they are now: the first
/// call earns the stay (key `earn:stay:{id}`); a charge that arrives or changes after check-out
/// posts the difference, an `earn` when the stay is owed more, `reverse` entries against the
/// stay's own lots (newest first) when a charge was voided or reduced. Points the guest has
/// already spent are not taken back below zero. Runs under the account lock, so concurrent
/// corrections of one stay settle one after the other, each against the sum the other left.
pub fn settle_stay(conn: &mut DbConnection, who: &Principal, stay_id: &str) -> Result<Option<LedgerEntry>, ApiError> {
    let Some(s) = settlement(conn, who, stay_id)? else {
        return Ok(None);
    };
    if s.delta > 0 {
        return earn_difference(conn, who, &s).map(Some);
    }
    if s.delta < 0 {
        take_back(conn, who, &s)?;
    }
    Ok(None)
}

fn settlement(conn: &mut DbConnection, who: &Principal, stay_id: &str) -> Result<Option<Settlement>, ApiError> {
    let stay = stays::stay_earning(conn, stay_id)?;
    let Some(tier) = stay.earn_tier.filter(|_| stay.status == "checked_out") else {
        return Ok(None);
    };
    let tier = Tier::parse(&tier).unwrap_or(Tier::Regular);
    let rules = Rules::cached(conn)?.for_property(conn, &stay.property_id)?;
    let lines = stays::spend_earning(conn, stay_id)?;
    let target = match lines.first() {
        Some(first) => {
            let pairs: Vec<(String, i64)> = lines.iter().map(|l| (l.outlet.clone(), l.amount_minor)).collect();
            rules.earn_points(&pairs, &first.currency, tier).max(0)
        }
        None => 0,
    };
    ensure_account_in_tx(conn, who, &stay.customer_id)?;
    // Take the account lock before reading what the stay holds.
    lock_row!(conn, la::table, la::updated_at, &stay.customer_id)?;
    let line_ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    let earns = db::stay_earns(conn, stay_id, &line_ids, Some(&stay.customer_id))?;
    let earn_ids: Vec<String> = earns.iter().map(|e| e.id.clone()).collect();
    let reversed = db::reversed_points(conn, &earn_ids)?;
    let held = earns.iter().map(|e| e.points).sum::<i64>() + reversed.iter().sum::<i64>();
    Ok(Some(Settlement {
        stay_id: stay_id.to_string(),
        customer_id: stay.customer_id,
        property_id: stay.property_id,
        tier,
        rules,
        earns,
        reversals: reversed.len(),
        delta: target - held,
    }))
}

/// The stay is owed more: an `earn` of the difference (the first one keyed by the stay).
fn earn_difference(conn: &mut DbConnection, who: &Principal, s: &Settlement) -> Result<LedgerEntry, ApiError> {
    let first = s.earns.is_empty();
    let (tier, stay_id) = (s.tier, &s.stay_id);
    let rate = format!("{} tier ×{}", tier.as_str(), s.rules.multiplier(tier));
    let (reason, key) = if first {
        (format!("stay check-out ({rate})"), format!("earn:stay:{stay_id}"))
    } else {
        let n = s.earns.len() + s.reversals;
        (
            format!("charges after check-out ({rate})"),
            format!("earn:stay:{stay_id}:{n}"),
        )
    };
    let posting = Posting::new(&s.customer_id, EntryKind::Earn, s.delta, reason)
        .qualifying()
        .source("stay", stay_id.clone())
        .property(Some(s.property_id.clone()))
        .key(Some(key));
    let (entry, replayed) = post(conn, who, &s.rules, posting)?;
    if !replayed {
        upgrade_if_due_in_tx(conn, who, &s.rules, &s.customer_id)?;
        audit::record(
            conn,
            who,
            "loyalty.entry_posted",
            "customer",
            Some(&s.customer_id),
            json!({"entry_id": entry.id, "kind": "earn", "points": s.delta, "stay_id": stay_id}),
        )?;
    }
    Ok(entry)
}

/// The stay holds too much: take back from its own lots, newest first, what they still hold.
fn take_back(conn: &mut DbConnection, who: &Principal, s: &Settlement) -> Result<(), ApiError> {
    let remaining: HashMap<String, i64> = db::lots_remaining(conn, &s.customer_id)?
        .into_iter()
        .map(|l| (l.0, l.2))
        .collect();
    let mut owed = -s.delta;
    let mut seq = s.earns.len() + s.reversals;
    for earn in s.earns.iter().rev() {
        let take = owed.min(remaining.get(&earn.id).copied().unwrap_or(0));
        if take <= 0 {
            continue;
        }
        let posting = Posting::new(
            &s.customer_id,
            EntryKind::Reverse,
            -take,
            "charges corrected after check-out",
        )
        .qualifying()
        .source("stay", s.stay_id.clone())
        .property(Some(s.property_id.clone()))
        .key(Some(format!("reverse:{}:{seq}", earn.id)))
        .reversing_lot(&earn.id);
        let (entry, _) = post(conn, who, &s.rules, posting)?;
        audit::record(
            conn,
            who,
            "loyalty.entry_posted",
            "customer",
            Some(&s.customer_id),
            json!({"entry_id": entry.id, "kind": "reverse", "points": -take, "stay_id": s.stay_id}),
        )?;
        seq += 1;
        owed -= take;
        if owed == 0 {
            break;
        }
    }
    Ok(())
}

/// Cancellation of a stay: reverse what its earnings still hold (points already spent cannot
/// be taken back below zero; the reason says so).
pub fn reverse_for_stay(conn: &mut DbConnection, who: &Principal, stay_id: &str) -> Result<Vec<LedgerEntry>, ApiError> {
    let rules = Rules::cached(conn)?;
    let line_ids: Vec<String> = stays::spend_earning(conn, stay_id)?.into_iter().map(|l| l.id).collect();
    let earns = db::stay_earns(conn, stay_id, &line_ids, None)?;
    let mut out = Vec::new();
    for earn in earns {
        let remaining = db::lot_remaining(conn, &earn.customer_id, &earn.id)?;
        if remaining <= 0 {
            continue;
        }
        let points = earn.points;
        let reason = if remaining < points {
            format!(
                "stay cancelled: {remaining} of {points} points reversed ({} already used)",
                points - remaining
            )
        } else {
            "stay cancelled".to_string()
        };
        let posting = Posting::new(&earn.customer_id, EntryKind::Reverse, -remaining, reason)
            .qualifying()
            .source("stay", stay_id)
            .property(earn.property_id.clone())
            .key(Some(format!("reverse:{}", earn.id)))
            .reversing_lot(&earn.id);
        let (entry, replayed) = post(conn, who, &rules, posting)?;
        if !replayed {
            audit::record(
                conn,
                who,
                "loyalty.entry_posted",
                "customer",
                Some(&earn.customer_id),
                json!({"entry_id": entry.id, "kind": "reverse"}),
            )?;
        }
        out.push(entry);
    }
    Ok(out)
}

/// Whether the guest's completion bonus for `subject` (`stay:<id>`, `ticket:<id>`) was posted.
pub fn survey_bonus_paid(conn: &mut DbConnection, customer_id: &str, subject: &str) -> Result<bool, ApiError> {
    db::has_entry_with_key(conn, customer_id, &survey_bonus_key(subject))
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
    let rules = Rules::cached(conn)?;
    ensure_account_in_tx(conn, who, customer_id)?;
    let posting = Posting::new(customer_id, EntryKind::Bonus, points, "survey completed")
        .source("survey", subject)
        .property(Some(property_id.to_string()))
        .key(Some(survey_bonus_key(subject)));
    post(conn, who, &rules, posting)
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
    let rules = Rules::cached(conn)?;
    ensure_account_in_tx(conn, who, customer_id)?;
    let posting = Posting::new(customer_id, EntryKind::Compensation, points, "ticket compensation")
        .source("ticket", ticket_id)
        .property(Some(property_id.to_string()))
        .key(Some(format!("compensation:{compensation_id}")));
    let (entry, replayed) = post(conn, who, &rules, posting)?;
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
