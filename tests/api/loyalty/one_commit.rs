//! A ledger posting is one short transaction: its Idempotency-Key record and answer, the entry,
//! the balance, the audit row and the event commit together; concurrent first uses of one key
//! apply once; the programme's rules are remembered, and a change reaches every instance within
//! the bound.

use std::time::{Duration, Instant};

use concierge::db::DbConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::json;

use super::{assert_invariants, hotel, programme_body};
use crate::support::{Auth, Resp, TestApp};
use awc::http::Method;

#[derive(QueryableByName)]
struct Xmin {
    #[diesel(sql_type = Text)]
    xmin: String,
}

/// PostgreSQL: the transaction that wrote each row (`xmin`) of the posting.
fn writers(conn: &mut DbConnection, key: &str, entry_id: &str, customer_id: &str) -> Option<Vec<String>> {
    let DbConnection::Pg(pg) = conn else { return None };
    let one = |pg: &mut diesel::PgConnection, sql: &str, bind: &str| {
        diesel::sql_query(sql)
            .bind::<Text, _>(bind)
            .get_result::<Xmin>(pg)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .xmin
    };
    Some(vec![
        one(pg, "SELECT xmin::text AS xmin FROM idempotency_keys WHERE idem_key = $1", key),
        one(pg, "SELECT xmin::text AS xmin FROM ledger_entries WHERE id = $1", entry_id),
        one(pg, "SELECT xmin::text AS xmin FROM loyalty_accounts WHERE customer_id = $1", customer_id),
        one(
            pg,
            "SELECT xmin::text AS xmin FROM audit_log WHERE action = 'loyalty.adjusted' AND details LIKE '%' || $1 || '%'",
            entry_id,
        ),
        one(
            pg,
            "SELECT xmin::text AS xmin FROM events WHERE type = 'loyalty.entry_posted' AND data LIKE '%' || $1 || '%'",
            entry_id,
        ),
    ])
}

#[actix_rt::test]
async fn a_keyed_posting_commits_its_key_answer_entry_balance_audit_and_event_together() {
    let w = hotel().await;
    let manager = w.token("manager_all").await;
    let guest_id = w.id("guest").await;
    let first = w.adjust(&manager, 250, "one-commit").await;
    first.expect(201);
    assert_eq!(first.header("idempotent-replayed").as_deref(), Some("false"));
    let entry_id = first.body["id"].as_str().unwrap().to_string();
    {
        use concierge::db::schema::idempotency_keys as k;
        let mut conn = w.app.conn();
        let (status, committed): (Option<i32>, Option<String>) = k::table
            .filter(k::idem_key.eq("one-commit"))
            .select((k::status, k::committed_attempt))
            .first(&mut **conn)
            .unwrap();
        assert_eq!(status, Some(201), "the answer is stored with the posting");
        assert!(committed.is_some(), "the key is marked applied");
        if let Some(xmins) = writers(&mut conn, "one-commit", &entry_id, &guest_id) {
            assert!(
                xmins.iter().all(|x| x == &xmins[0]),
                "key, entry, balance, audit row and event written by one transaction: {xmins:?}"
            );
        }
    }
    // The stored answer is the one sent: a retry gets the same bytes, marked as a replay.
    let again = w.adjust(&manager, 250, "one-commit").await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.raw, first.raw);
    // The entry as answered is the entry as stored (no read-back, same precision).
    let listed = w
        .app
        .get(&format!("/api/v1/customers/{guest_id}/loyalty/entries"), &manager)
        .await;
    assert_eq!(listed.body["data"][0]["created_at"], first.body["created_at"]);
    assert_eq!(listed.body["data"][0]["expires_at"], first.body["expires_at"]);
    assert_invariants(&w.app, &guest_id);
}

#[actix_rt::test]
async fn a_refused_posting_records_its_answer_and_changes_nothing() {
    let w = hotel().await;
    let manager = w.token("manager_all").await;
    let guest_id = w.id("guest").await;
    w.adjust(&manager, 100, "fill").await.expect(201);
    let before = w.app.count("ledger_entries");
    let refused = w.adjust(&manager, -101, "overdraw").await;
    refused.problem(409);
    let again = w.adjust(&manager, -101, "overdraw").await;
    again.problem(409);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    w.adjust(&manager, -5, "overdraw").await.problem(422);
    assert_eq!(w.app.count("ledger_entries"), before, "nothing posted");
    assert_eq!(w.balance().await, 100);
    // A guest without an account: a debit is refused, a credit enrols them.
    let other = w
        .app
        .create_customer(&manager, json!({"given_name": "New", "family_name": "Guest"}))
        .await;
    let other = other["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/customers/{other}/loyalty/adjustments");
    adjust_on(&w.app, &manager, &path, -10, "debit-new").await.problem(404);
    let credit = adjust_on(&w.app, &manager, &path, 40, "credit-new").await;
    credit.expect(201);
    assert_eq!(credit.body["balance_after"], 40);
    assert_eq!(
        w.app.events_of("loyalty.account_enrolled").len(),
        2,
        "the credit enrolled them"
    );
    assert_invariants(&w.app, &other);
    assert_invariants(&w.app, &guest_id);
}

#[actix_rt::test]
async fn concurrent_first_uses_of_one_key_apply_once() {
    let w = hotel().await;
    let manager = w.token("manager_all").await;
    let guest_id = w.id("guest").await;
    let answers = futures_util::future::join_all((0..12).map(|_| w.adjust(&manager, 70, "raced"))).await;
    let created: Vec<_> = answers.iter().filter(|r| r.status.as_u16() == 201).collect();
    assert!(!created.is_empty());
    for r in &answers {
        assert!(matches!(r.status.as_u16(), 201 | 409), "{}", r.raw);
    }
    assert!(
        created.iter().all(|r| r.body["id"] == created[0].body["id"]),
        "every 201 names the one entry"
    );
    assert_eq!(w.balance().await, 70, "applied once");
    // Once settled, every retry replays the first answer.
    let settled = w.adjust(&manager, 70, "raced").await;
    settled.expect(201);
    assert_eq!(settled.body["id"], created[0].body["id"]);
    assert_invariants(&w.app, &guest_id);
}

#[actix_rt::test]
async fn a_rules_change_applies_here_at_once_and_on_another_instance_within_the_bound() {
    let w = hotel().await;
    let b = w.app.second_instance().await;
    let manager = w.token("manager_all").await;
    let guest_id = w.id("guest").await;
    let path = format!("/api/v1/customers/{guest_id}/loyalty/adjustments");
    let months = |r: &Resp| {
        let at = |f: &str| chrono::DateTime::parse_from_rfc3339(r.body[f].as_str().unwrap()).unwrap();
        (at("expires_at") - at("created_at")).num_days() / 30
    };
    let post = |app, n: u32| {
        let (manager, path) = (manager.clone(), path.clone());
        async move {
            let r = adjust_on(app, &manager, &path, 10, &format!("rules-{n}")).await;
            r.expect(201);
            r
        }
    };
    // Both instances have read (and remembered) the 24-month expiry.
    assert_eq!(months(&post(&w.app, 1).await), 24);
    assert_eq!(months(&post(&b, 2).await), 24);
    let mut changed = programme_body(1.0, 5000);
    changed["expiry_months"] = json!(6);
    w.app
        .put("/api/v1/loyalty/programme", &w.admin, changed)
        .await
        .expect(200);
    assert_eq!(
        months(&post(&w.app, 3).await),
        6,
        "at once on the instance that changed them"
    );
    let start = Instant::now();
    for n in 4.. {
        if months(&post(&b, n).await) == 6 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "still the old rules on the other instance"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn adjust_on(app: &TestApp, token: &str, path: &str, points: i64, key: &str) -> Resp {
    app.send(
        Method::POST,
        path,
        Auth::Bearer(token),
        Some(json!({"points": points, "reason": "test"})),
        &[("idempotency-key", key)],
    )
    .await
}
