//! The ledger: adjustments are idempotent, authorised and never overdraw; the ledger is
//! append-only in the database; concurrent postings keep the invariants.

use serde_json::json;

use super::{assert_invariants, hotel};

#[actix_rt::test]
async fn adjustments_are_idempotent_authorised_and_never_overdraw() {
    let w = hotel().await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let manager = w.token("manager_all").await;
    let agent = w.token("agent_all").await;
    let first = w.adjust(&manager, 500, "adj-1").await;
    first.expect(201);
    assert_eq!(first.body["kind"], "adjust");
    assert_eq!(first.body["balance_after"], 500);
    // The same key again: the same entry, no second posting.
    let again = w.adjust(&manager, 500, "adj-1").await;
    assert_eq!(again.body["id"], first.body["id"]);
    // The same key for another posting: refused.
    w.adjust(&manager, 700, "adj-1").await.problem(422);
    w.adjust(&agent, 100, "adj-2").await.problem(403);
    w.adjust(&guest, 100000, "adj-3").await.problem(403);
    w.adjust(&manager, -501, "adj-4").await.problem(409);
    let no_key = w
        .app
        .post(
            &format!("/api/v1/customers/{}/loyalty/adjustments", guest_id),
            &manager,
            json!({"points": 1, "reason": "x"}),
        )
        .await;
    no_key.problem(428);
    w.adjust(&manager, 0, "adj-5").await.problem(422);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"], 500);
    // A second lot, then a deduction that spans both: the older-expiring lot goes first.
    let second = w.adjust(&manager, 300, "adj-6").await;
    let take = w.adjust(&manager, -600, "adj-7").await;
    take.expect(201);
    let lots = take.body["lots"].as_array().unwrap();
    assert_eq!(lots.len(), 2);
    assert_eq!(lots[0]["lot_id"], first.body["id"]);
    assert_eq!(lots[0]["points"], 500);
    assert_eq!(lots[1]["lot_id"], second.body["id"]);
    assert_eq!(lots[1]["points"], 100);
    assert_eq!(take.body["balance_after"], 200);
    assert_invariants(&w.app, &guest_id);
    // Adjustments are audited.
    let log = w
        .app
        .get(
            &format!("/api/v1/audit-log?target_id={}&action=loyalty.adjusted", guest_id),
            &w.admin,
        )
        .await;
    assert_eq!(log.body["data"].as_array().unwrap().len(), 3);
}

#[actix_rt::test]
async fn the_ledger_is_append_only_in_the_database() {
    let w = hotel().await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let manager = w.token("manager_all").await;
    w.adjust(&manager, 100, "k").await.expect(201);
    use diesel::connection::SimpleConnection;
    let mut conn = w.app.conn();
    assert!(conn
        .batch_execute("UPDATE ledger_entries SET points = 1000000")
        .is_err());
    assert!(conn.batch_execute("DELETE FROM ledger_entries").is_err());
    assert!(
        conn.batch_execute("UPDATE loyalty_accounts SET balance = -1").is_err(),
        "balance ≥ 0 is a CHECK"
    );
    drop(conn);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"], 100);
    assert_invariants(&w.app, &guest_id);
}

#[actix_rt::test]
async fn concurrent_postings_keep_the_invariants() {
    let w = hotel().await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let manager = w.token("manager_all").await;
    w.adjust(&manager, 1000, "seed").await.expect(201);
    // 48 requests at once: 16 credits of 100, 24 debits of 150 (more than can all succeed), and
    // 8 repeats of credit keys. Some debits must fail with 409; none may 500 or overdraw.
    let mut calls = Vec::new();
    for i in 0..16 {
        calls.push((100, format!("credit-{i}")));
    }
    for i in 0..24 {
        calls.push((-150, format!("debit-{i}")));
    }
    for i in 0..8 {
        calls.push((100, format!("credit-{i}")));
    }
    let futures = calls.iter().map(|(points, key)| w.adjust(&manager, *points, key));
    let results = futures_util::future::join_all(futures).await;
    let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
    for r in &results {
        *statuses.entry(r.status.as_u16()).or_default() += 1;
        assert!(r.status.as_u16() < 500, "server error: {}", r.raw);
        assert!(
            [201, 409].contains(&r.status.as_u16()),
            "unexpected {}: {}",
            r.status,
            r.raw
        );
    }
    assert_invariants(&w.app, &guest_id);
    // Each credit key applied exactly once, whatever the repeats answered.
    use concierge::db::schema::ledger_entries as le;
    use diesel::prelude::*;
    let keys: Vec<Option<String>> = le::table
        .filter(le::customer_id.eq(&guest_id))
        .select(le::idempotency_key)
        .load(&mut **w.app.conn())
        .unwrap();
    let credits = keys
        .iter()
        .filter(|k| k.as_deref().is_some_and(|k| k.starts_with("adjust:credit-")))
        .count();
    assert_eq!(credits, 16, "statuses: {statuses:?}");
    let debits = keys
        .iter()
        .filter(|k| k.as_deref().is_some_and(|k| k.starts_with("adjust:debit-")))
        .count();
    let balance = w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"]
        .as_i64()
        .unwrap();
    assert_eq!(balance, 1000 + 16 * 100 - debits as i64 * 150);
    assert!(debits < 24, "some debits must have been refused");
}
