//! The one posting function: every entry of the ledger (earning, bonus, redemption, adjustment,
//! expiry, reversal, compensation) is appended here, under the account's lock, with its
//! `loyalty.entry_posted` event.
//!
//! Invariants, kept by construction and by the database: balance = Σ entries (each post updates
//! the account row in the same transaction, the update holding the row's lock); balance ≥ 0 (CHECK); an
//! idempotency key is applied at most once per account (UNIQUE); every negative entry records
//! the lots it consumed (`ledger_lot_consumptions`); entries are never updated or deleted
//! (triggers).

use chrono::{Duration, Months, NaiveDateTime, SubsecRound};
use serde_json::json;

use super::db::{self, NewEntry};
use super::model::{EntryKind, LedgerEntry, LotUse};
use super::rules::{plan_consumption, Rules};
use crate::auth::Principal;
use crate::db::outbox::{self, NewEvent};
use crate::db::DbConnection;
use crate::platform::error::ApiError;
use crate::platform::ids::{new_id, now};

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
    /// A credit to a guest without an account opens one (`loyalty.account_enrolled`).
    pub enrol: bool,
}

impl<'a> Posting<'a> {
    /// A non-qualifying entry that consumes lots oldest first (credits open a lot), without a
    /// source, property or key: the builder methods below add them.
    pub fn new(customer_id: &'a str, kind: EntryKind, points: i64, reason: impl Into<String>) -> Self {
        Posting {
            customer_id,
            kind,
            points,
            qualifying: false,
            reason: reason.into(),
            source: None,
            property_id: None,
            idempotency_key: None,
            reverses_id: None,
            consume: Consume::Fifo,
            restores: None,
            enrol: false,
        }
    }

    /// A credit to a guest without an account enrols them first.
    pub fn enrolling(mut self) -> Self {
        self.enrol = true;
        self
    }

    /// Counts toward tier qualification.
    pub fn qualifying(mut self) -> Self {
        self.qualifying = true;
        self
    }

    /// What the entry is about (`stay`, `ticket`, `reward`…) and its id.
    pub fn source(mut self, kind: &'a str, id: impl Into<String>) -> Self {
        self.source = Some((kind, id.into()));
        self
    }

    pub fn property(mut self, property_id: Option<String>) -> Self {
        self.property_id = property_id;
        self
    }

    /// The ledger's idempotency key: a replay returns the first entry and changes nothing.
    pub fn key(mut self, key: Option<String>) -> Self {
        self.idempotency_key = key;
        self
    }

    /// Reverses `entry_id`, taking from that lot only.
    pub fn reversing_lot(mut self, entry_id: &str) -> Self {
        self.reverses_id = Some(entry_id.to_string());
        self.consume = Consume::Lot(entry_id.to_string());
        self
    }

    /// Reverses `entry_id` by giving `restores` back to the lots they came from.
    pub fn restoring(mut self, entry_id: &str, restores: Vec<(String, i64)>) -> Self {
        self.reverses_id = Some(entry_id.to_string());
        self.restores = Some(restores);
        self
    }

    /// Takes from one named lot (its expiry).
    pub fn from_lot(mut self, lot_id: &str) -> Self {
        self.consume = Consume::Lot(lot_id.to_string());
        self
    }
}

/// Appends one entry and moves the balance, in the caller's transaction. Replays (same
/// idempotency key) return the first entry and change nothing.
///
/// The balance update comes first: it locks the account row for the rest of the transaction
/// (concurrent postings of one guest run one after the other, each on the balance the other
/// left) and answers the new balance, so no statement only locks or only reads it.
pub fn post(
    conn: &mut DbConnection,
    who: &Principal,
    rules: &Rules,
    p: Posting,
) -> Result<(LedgerEntry, bool), ApiError> {
    if p.points == 0 {
        return Err(ApiError::field("points", "must not be zero"));
    }
    // Microseconds: what both databases keep, so the answer equals every later read.
    let ts = now().trunc_subsecs(6);
    let Some(balance_after) = db::add_to_balance(conn, p.customer_id, p.points, ts)? else {
        return refused(conn, who, rules, p);
    };
    let balance = balance_after - p.points;
    let mut plan = if p.points < 0 {
        match consumption(conn, &p, balance, ts) {
            Ok(plan) => plan,
            // A replay of a debit the lots no longer cover is still a replay.
            Err(e) => return replay_or(conn, &p, ts, e),
        }
    } else {
        Vec::new()
    };
    if let Some(restores) = &p.restores {
        if restores.iter().map(|r| r.1).sum::<i64>() != p.points || p.points < 0 {
            return Err(ApiError::internal("restored lots do not add up to the refund"));
        }
        // Recorded as negative consumption of each lot.
        plan = restores.iter().map(|(lot, pts)| (lot.clone(), -pts)).collect();
    }
    let id = new_id();
    let row = new_entry(who, rules, &p, &id, balance_after, ts);
    // A keyed entry already in the ledger is not inserted again: the posting is a replay.
    if !db::insert_entry(conn, &row, &plan)? {
        let e = ApiError::internal("an entry's key vanished");
        return replay_or(conn, &p, ts, e);
    }
    let lots = plan
        .into_iter()
        .map(|(lot_id, points)| LotUse { lot_id, points })
        .collect();
    let entry = row.into_entry(lots);
    emit_entry_posted_in_tx(conn, who, p.customer_id, &entry)?;
    Ok((entry, false))
}

/// After the balance moved: the first posting of this key, with the balance moved back; else
/// `e`.
fn replay_or(
    conn: &mut DbConnection,
    p: &Posting,
    ts: NaiveDateTime,
    e: ApiError,
) -> Result<(LedgerEntry, bool), ApiError> {
    let Some(entry) = replayed(conn, p)? else { return Err(e) };
    db::add_to_balance(conn, p.customer_id, -p.points, ts)?;
    Ok((entry, true))
}

/// The balance did not move: a replay (whose first posting may no longer fit the balance), a
/// guest without an account (enrolled here when the posting asks for it), or too few points.
fn refused(
    conn: &mut DbConnection,
    who: &Principal,
    rules: &Rules,
    p: Posting,
) -> Result<(LedgerEntry, bool), ApiError> {
    if let Some(entry) = replayed(conn, &p)? {
        return Ok((entry, true));
    }
    let Some(balance) = db::balance(conn, p.customer_id)? else {
        if p.enrol && p.points > 0 {
            super::account::ensure_account_in_tx(conn, who, p.customer_id)?;
            return post(conn, who, rules, p);
        }
        return Err(ApiError::NotFound(
            "the guest is not enrolled in the loyalty programme".into(),
        ));
    };
    Err(ApiError::Conflict {
        detail: format!("insufficient points: balance {balance}"),
        existing_id: None,
    })
}

/// The entry a replayed idempotency key names (409 when it named a different posting).
fn replayed(conn: &mut DbConnection, p: &Posting) -> Result<Option<LedgerEntry>, ApiError> {
    let Some(key) = &p.idempotency_key else { return Ok(None) };
    let Some(row) = db::entry_by_key(conn, p.customer_id, key)? else {
        return Ok(None);
    };
    if row.points != p.points || row.kind != p.kind.as_str() {
        return Err(ApiError::field(
            "Idempotency-Key",
            "was already used for a different posting",
        ));
    }
    let id = row.id.clone();
    let lots = db::lot_uses(conn, std::slice::from_ref(&id))?
        .remove(&id)
        .unwrap_or_default();
    Ok(Some(row.into_entry(lots)))
}

/// The lots a negative posting consumes (409 when they do not cover it).
fn consumption(
    conn: &mut DbConnection,
    p: &Posting,
    balance: i64,
    ts: NaiveDateTime,
) -> Result<Vec<(String, i64)>, ApiError> {
    let needed = -p.points;
    let lots = db::lots_remaining(conn, p.customer_id)?;
    match &p.consume {
        Consume::Fifo => {
            let live: Vec<_> = lots.into_iter().filter(|l| l.1 > ts).collect();
            plan_consumption(&live, needed).ok_or_else(|| ApiError::Conflict {
                detail: format!("insufficient points: {needed} needed, {balance} available"),
                existing_id: None,
            })
        }
        Consume::Lot(id) => {
            let remaining = lots.iter().find(|l| &l.0 == id).map(|l| l.2).unwrap_or(0);
            if remaining < needed {
                return Err(ApiError::Conflict {
                    detail: format!("the lot has {remaining} points left, not {needed}"),
                    existing_id: None,
                });
            }
            Ok(vec![(id.clone(), needed)])
        }
    }
}

fn new_entry<'a>(
    who: &Principal,
    rules: &Rules,
    p: &'a Posting,
    id: &'a str,
    balance_after: i64,
    ts: NaiveDateTime,
) -> NewEntry<'a> {
    let expires_at = (p.points > 0 && p.restores.is_none()).then(|| {
        ts.checked_add_months(Months::new(rules.expiry_months))
            .unwrap_or(ts + Duration::days(730))
    });
    let (source_kind, source_id) = match &p.source {
        Some((k, i)) => (Some(k.to_string()), Some(i.clone())),
        None => (None, None),
    };
    NewEntry {
        id,
        customer_id: p.customer_id,
        kind: p.kind.as_str(),
        points: p.points,
        balance_after,
        qualifying: p.qualifying,
        reason: &p.reason,
        actor_kind: who.actor_kind(),
        actor_id: Some(who.actor_id().to_string()),
        source_kind,
        source_id,
        property_id: p.property_id.clone(),
        idempotency_key: p.idempotency_key.clone(),
        reverses_id: p.reverses_id.clone(),
        expires_at,
        created_at: ts,
    }
}

/// `loyalty.entry_posted` on the guest's account: ids, kind, the delta and the balance after
/// (never the free-text reason).
fn emit_entry_posted_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    e: &LedgerEntry,
) -> Result<(), ApiError> {
    let data = json!({
        "entry_id": e.id, "customer_id": customer_id, "kind": e.kind.as_str(), "points": e.points,
        "balance_after": e.balance_after, "qualifying": e.qualifying, "source_kind": e.source_kind,
        "source_id": e.source_id, "reverses_id": e.reverses_id,
    });
    let ev = NewEvent::new("loyalty.entry_posted", "loyalty_account", customer_id).property(e.property_id.as_deref());
    outbox::emit_in_tx(conn, who, ev.data(data))?;
    Ok(())
}
