//! Property test of the ledger rules against the real database (SQLite, or PostgreSQL with
//! `TEST_DATABASE_URL`): any sequence of credits, deductions, redemptions with refunds, lot
//! reversals and expiry runs keeps the invariants, and every deduction consumes exactly the
//! lots a model predicts (soonest-expiring first).

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime, Utc};
use concierge::auth::Principal;
use concierge::db::schema::{
    ledger_entries as le, ledger_lot_consumptions as lc, loyalty_accounts as la, loyalty_settings,
};
use concierge::db::DbConnection;
use concierge::features::loyalty::ledger::{self as loyalty, Consume, EntryKind, Posting, Rules};
use concierge::platform::error::ApiError;
use diesel::prelude::*;
use proptest::prelude::*;

use crate::support::TestApp;

#[derive(Debug, Clone)]
enum Op {
    /// A credit whose lot expires after this many months.
    Credit {
        points: i64,
        months: u32,
    },
    Debit {
        points: i64,
    },
    /// Redeem then (maybe) cancel: the refund restores the consumed lots.
    RedeemRefund {
        points: i64,
        refund: bool,
    },
    /// Reverse what the n-th credit lot still holds.
    ReverseLot {
        nth: usize,
    },
    /// Run the expiry job this many days from now.
    Expire {
        days: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1i64..500, 1u32..36).prop_map(|(points, months)| Op::Credit { points, months }),
        3 => (1i64..800).prop_map(|points| Op::Debit { points }),
        2 => (1i64..600, any::<bool>()).prop_map(|(points, refund)| Op::RedeemRefund { points, refund }),
        1 => (0usize..8).prop_map(|nth| Op::ReverseLot { nth }),
        1 => (0i64..1200).prop_map(|days| Op::Expire { days }),
    ]
}

/// The model: lot id → (expiry, remaining).
type Model = HashMap<String, (NaiveDateTime, i64)>;

fn live(model: &Model, at: NaiveDateTime) -> Vec<(String, NaiveDateTime, i64)> {
    model
        .iter()
        .filter(|(_, (e, r))| *e > at && *r > 0)
        .map(|(id, (e, r))| (id.clone(), *e, *r))
        .collect()
}

/// The rule, written independently of the product: soonest expiry first, then the older lot.
fn expected_plan(mut lots: Vec<(String, NaiveDateTime, i64)>, needed: i64) -> Option<Vec<(String, i64)>> {
    lots.sort_by_key(|l| (l.1, l.0.clone()));
    let mut left = needed;
    let mut plan = Vec::new();
    for (id, _, remaining) in lots {
        if left == 0 {
            break;
        }
        let take = remaining.min(left);
        plan.push((id, take));
        left -= take;
    }
    (left == 0).then_some(plan)
}

fn posting<'a>(customer: &'a str, kind: EntryKind, points: i64, key: String) -> Posting<'a> {
    Posting {
        customer_id: customer,
        kind,
        points,
        qualifying: false,
        reason: "property test".into(),
        source: None,
        property_id: None,
        idempotency_key: Some(key),
        reverses_id: None,
        consume: Consume::Fifo,
        restores: None,
        enrol: false,
    }
}

fn check_invariants(conn: &mut DbConnection, customer: &str, model: &Model) {
    let entries: Vec<(String, i64, i64, Option<NaiveDateTime>)> = le::table
        .filter(le::customer_id.eq(customer))
        .select((le::id, le::points, le::balance_after, le::expires_at))
        .order(le::id)
        .load(conn)
        .unwrap();
    let mut running = 0;
    for (id, points, after, _) in &entries {
        running += points;
        assert_eq!(running, *after, "balance_after of {id}");
        assert!(*after >= 0, "negative balance at {id}");
    }
    let balance: i64 = la::table.find(customer).select(la::balance).first(conn).unwrap();
    assert_eq!(balance, running, "account balance = Σ entries");
    let uses: Vec<(String, String, i64)> = lc::table
        .inner_join(le::table.on(le::id.eq(lc::entry_id)))
        .filter(le::customer_id.eq(customer))
        .select((lc::entry_id, lc::lot_id, lc::points))
        .load(conn)
        .unwrap();
    let mut by_entry: HashMap<&str, i64> = HashMap::new();
    let mut by_lot: HashMap<&str, i64> = HashMap::new();
    for (e, l, p) in &uses {
        *by_entry.entry(e).or_default() += p;
        *by_lot.entry(l).or_default() += p;
    }
    for (id, points, _, expires) in &entries {
        let drawn = by_entry.get(id.as_str()).copied().unwrap_or(0);
        if *points < 0 {
            assert_eq!(drawn, -points, "a deduction's lots add up to it ({id})");
        } else if expires.is_none() {
            assert_eq!(drawn, -points, "a refund restores exactly its points ({id})");
        } else {
            let used = by_lot.get(id.as_str()).copied().unwrap_or(0);
            assert!((0..=*points).contains(&used), "lot {id} used {used} of {points}");
            let remaining = points - used;
            assert_eq!(
                model.get(id).map(|m| m.1),
                Some(remaining),
                "model and database agree on lot {id}"
            );
        }
    }
    let lots_total: i64 = model.values().map(|m| m.1).sum();
    assert_eq!(lots_total, balance, "Σ lot remainders = balance");
}

fn apply(
    conn: &mut DbConnection,
    customer: &str,
    model: &mut Model,
    credits: &mut Vec<String>,
    step: usize,
    op: &Op,
) -> Result<(), ApiError> {
    let who = Principal::system("proptest");
    let now = Utc::now().naive_utc();
    match op {
        Op::Credit { points, months } => {
            diesel::update(loyalty_settings::table.find("expiry_months"))
                .set(loyalty_settings::value.eq(months.to_string()))
                .execute(conn)?;
            let rules = Rules::load(conn)?;
            let (e, _) = loyalty::post(
                conn,
                &who,
                &rules,
                posting(customer, EntryKind::Adjust, *points, format!("c{step}")),
            )?;
            model.insert(e.id.clone(), (e.expires_at.unwrap().naive_utc(), *points));
            credits.push(e.id);
        }
        Op::Debit { points } | Op::RedeemRefund { points, .. } => {
            let kind = if matches!(op, Op::Debit { .. }) {
                EntryKind::Adjust
            } else {
                EntryKind::Redeem
            };
            let expected = expected_plan(live(model, now), *points);
            let rules = Rules::load(conn)?;
            match loyalty::post(conn, &who, &rules, posting(customer, kind, -points, format!("d{step}"))) {
                Ok((e, _)) => {
                    let plan = expected.expect("the database allowed a deduction the model says is not covered");
                    let got: Vec<(String, i64)> = e.lots.iter().map(|l| (l.lot_id.clone(), l.points)).collect();
                    let mut want = plan.clone();
                    want.sort();
                    let mut got_sorted = got.clone();
                    got_sorted.sort();
                    assert_eq!(got_sorted, want, "soonest-expiring lots first");
                    for (lot, p) in &plan {
                        model.get_mut(lot).unwrap().1 -= p;
                    }
                    if let Op::RedeemRefund { refund: true, .. } = op {
                        let mut refund = posting(customer, EntryKind::Reverse, *points, format!("r{step}"));
                        refund.reverses_id = Some(e.id.clone());
                        refund.restores = Some(got.clone());
                        loyalty::post(conn, &who, &rules, refund)?;
                        for (lot, p) in &got {
                            model.get_mut(lot).unwrap().1 += p;
                        }
                    }
                }
                Err(ApiError::Conflict { .. }) => assert!(expected.is_none(), "refused a covered deduction"),
                Err(e) => return Err(e),
            }
        }
        Op::ReverseLot { nth } => {
            if let Some(lot) = credits.get(*nth) {
                let remaining = model[lot].1;
                if remaining > 0 {
                    let rules = Rules::load(conn)?;
                    let mut p = posting(customer, EntryKind::Reverse, -remaining, format!("v{step}"));
                    p.consume = Consume::Lot(lot.clone());
                    p.reverses_id = Some(lot.clone());
                    loyalty::post(conn, &who, &rules, p)?;
                    model.get_mut(lot).unwrap().1 = 0;
                }
            }
        }
        Op::Expire { days } => {
            let as_of = now + Duration::days(*days);
            loyalty::expire_due(conn, as_of, 10_000)?;
            for (exp, remaining) in model.values_mut() {
                if *exp <= as_of {
                    *remaining = 0;
                }
            }
        }
    }
    Ok(())
}

#[test]
fn any_sequence_keeps_the_ledger_invariants() {
    concierge::app::reactions::install();
    let system = actix_rt::System::new();
    let app = system.block_on(TestApp::spawn());
    let admin = system.block_on(app.admin_token());
    let config = ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in proptest::collection::vec(op(), 1..30))| {
        // A fresh guest per case.
        let body = serde_json::json!({"given_name": "P", "family_name": uuid::Uuid::now_v7().to_string()});
        let customer = system.block_on(app.create_customer(&admin, body))["id"].as_str().unwrap().to_string();
        let mut conn = app.conn();
        let conn: &mut DbConnection = &mut conn;
        loyalty::ensure_account(conn, &customer).unwrap();
        let mut model = Model::new();
        let mut credits = Vec::new();
        for (step, op) in ops.iter().enumerate() {
            apply(conn, &customer, &mut model, &mut credits, step, op).unwrap_or_else(|e| panic!("{op:?}: {e}"));
            check_invariants(conn, &customer, &model);
        }
    });
}
