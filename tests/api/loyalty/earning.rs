use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, TestApp};

/// balance = Σ entries = the account row; every balance_after follows from the one before; ≥ 0.
fn assert_invariants(app: &TestApp, customer_id: &str) {
    use concierge::db::schema::{ledger_entries as le, loyalty_accounts as la};
    use diesel::prelude::*;
    let mut conn = app.conn();
    let rows: Vec<(String, i64, i64)> = le::table
        .filter(le::customer_id.eq(customer_id))
        .select((le::id, le::points, le::balance_after))
        .order(le::id)
        .load(&mut **conn)
        .unwrap();
    let mut running = 0;
    for (id, points, after) in &rows {
        running += points;
        assert_eq!(running, *after, "balance_after of {id}");
        assert!(*after >= 0);
    }
    let balance: i64 = la::table
        .find(customer_id)
        .select(la::balance)
        .first(&mut **conn)
        .unwrap_or(0);
    assert_eq!(balance, running, "account balance = Σ entries");
}

struct World {
    app: TestApp,
    admin: String,
    pms: String,
    prop: String,
    guest_id: String,
    guest: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "SHA").await;
    let pms = app
        .api_key(&admin, &["stays:write", "customers:write", "loyalty:read"], &[])
        .await;
    // The guest registers in the app; the PMS then knows them by its own profile id.
    let (guest_id, guest) = app.guest("wei@example.com").await;
    let linked = app
        .put(
            "/api/v1/customers/external/opera/P-1",
            &pms,
            json!({"given_name": "Wei", "family_name": "Zhang", "email": "wei@example.com"}),
        )
        .await;
    linked.expect(200);
    assert_eq!(linked.body["outcome"], "linked");
    World {
        app,
        admin,
        pms,
        prop,
        guest_id,
        guest,
    }
}

impl World {
    async fn push(&self, path: &str, body: Value, key: &str) -> crate::support::Resp {
        self.app
            .send(
                Method::POST,
                path,
                Auth::Bearer(&self.pms),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await
    }
    async fn stay(&self, cn: &str, status: &str) -> String {
        let r = self
            .push(
                "/api/v1/stays",
                json!({"property_id": self.prop, "confirmation_number": cn, "customer_ref": {"system": "opera", "external_id": "P-1"},
                       "check_in": "2026-11-01", "check_out": "2026-11-04", "status": status}),
                &format!("stay-{cn}-{status}"),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.raw);
        r.body["id"].as_str().unwrap().to_string()
    }
    async fn spend(&self, cn: &str, line: &str, outlet: &str, amount: &str) {
        self.push(
            "/api/v1/spend",
            json!({"property_id": self.prop, "external_id": line, "confirmation_number": cn, "outlet": outlet,
                   "amount": {"amount": amount, "currency": "CNY"}, "spent_on": "2026-11-02"}),
            &format!("spend-{line}"),
        )
        .await
        .expect(201);
    }
    async fn balance(&self) -> i64 {
        self.app.get("/api/v1/me/loyalty", &self.guest).await.body["balance"]
            .as_i64()
            .unwrap()
    }
    /// A POS correction of an existing line (same external id, new amount).
    async fn correct(&self, line: &str, outlet: &str, amount: &str) {
        self.push(
            "/api/v1/spend",
            json!({"property_id": self.prop, "external_id": line, "confirmation_number": "CNF-1", "outlet": outlet,
                   "amount": {"amount": amount, "currency": "CNY"}, "spent_on": "2026-11-02"}),
            &format!("spend-{line}-{amount}"),
        )
        .await
        .expect(200);
    }
    async fn adjust(&self, token: &str, points: i64, key: &str) -> crate::support::Resp {
        self.app
            .send(
                Method::POST,
                &format!("/api/v1/customers/{}/loyalty/adjustments", self.guest_id),
                Auth::Bearer(token),
                Some(json!({"points": points, "reason": "test adjustment"})),
                &[("idempotency-key", key)],
            )
            .await
    }
}

#[actix_rt::test]
async fn check_out_earns_once_and_cancellation_reverses() {
    let w = world().await;
    let me = w.app.get("/api/v1/me/loyalty", &w.guest).await;
    me.expect(200);
    assert_eq!(me.body["enrolled"], true, "app registrations are enrolled at once");
    assert_eq!(me.body["balance"], 0);

    let stay = w.stay("CNF-1", "in_house").await;
    w.spend("CNF-1", "L1", "room", "3840.00").await;
    w.spend("CNF-1", "L2", "food_beverage", "388.50").await;
    w.spend("CNF-1", "L3", "other", "999.00").await; // weight 0: does not qualify
    assert_eq!(
        w.app.get("/api/v1/me/loyalty", &w.guest).await.body["balance"],
        0,
        "nothing before check-out"
    );

    w.app
        .patch(
            &format!("/api/v1/stays/{stay}"),
            &w.pms,
            json!({"status": "checked_out"}),
        )
        .await
        .expect(200);
    let s = w.app.get("/api/v1/me/loyalty", &w.guest).await;
    assert_eq!(s.body["balance"], 4228);
    assert_eq!(s.body["tier"], "regular");
    assert_eq!(s.body["qualifying_points_12m"], 4228);
    assert_eq!(s.body["next_tier"], "silver");
    assert_eq!(s.body["points_to_next_tier"], 772);
    assert_eq!(s.body["expiring_in_90_days"], 0);
    // Re-pushing the checked-out stay does not earn twice.
    w.stay("CNF-1", "checked_out").await;
    w.app
        .patch(
            &format!("/api/v1/stays/{stay}"),
            &w.pms,
            json!({"status": "checked_out"}),
        )
        .await
        .expect(200);
    let entries = w.app.get("/api/v1/me/loyalty/entries", &w.guest).await;
    let data = entries.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["kind"], "earn");
    assert_eq!(data[0]["points"], 4228);
    assert_eq!(data[0]["source_kind"], "stay");
    assert!(
        data[0]["expires_at"].as_str().unwrap().starts_with("2028-"),
        "lots expire after 24 months"
    );
    // A late bar charge earns on its own.
    w.spend("CNF-1", "L4", "food_beverage", "100.00").await;
    assert_eq!(w.app.get("/api/v1/me/loyalty", &w.guest).await.body["balance"], 4328);
    assert_invariants(&w.app, &w.guest_id);

    // The POS corrects the bar charge down to 40: the stay is settled again at its check-out
    // multiplier (3,840 + 388.50 + 40 → 4,268), taking the difference from the newest lot.
    w.correct("L4", "food_beverage", "40.00").await;
    assert_eq!(w.balance().await, 4268);
    // Re-sending the same correction changes nothing.
    w.correct("L4", "food_beverage", "40.00").await;
    assert_eq!(w.balance().await, 4268);
    // The restaurant charge is voided: 388 more come out, the 40 left on the late lot first.
    w.correct("L2", "food_beverage", "0.00").await;
    assert_eq!(w.balance().await, 3880);
    let entries = w.app.get("/api/v1/me/loyalty/entries", &w.guest).await;
    let data = entries.body["data"].as_array().unwrap();
    let kinds: Vec<(&str, i64)> = data
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("reverse", -348),
            ("reverse", -40),
            ("reverse", -60),
            ("earn", 100),
            ("earn", 4228)
        ],
        "newest first"
    );
    assert_eq!(data[1]["reverses_id"], data[3]["id"], "the late lot is drained first");
    assert_eq!(data[0]["reverses_id"], data[4]["id"]);
    // A charge that grows again earns the difference.
    w.correct("L2", "food_beverage", "88.00").await;
    assert_eq!(w.balance().await, 3968);
    assert_invariants(&w.app, &w.guest_id);

    // The stay is voided: every point it earned comes back out.
    w.app
        .patch(&format!("/api/v1/stays/{stay}"), &w.pms, json!({"status": "cancelled"}))
        .await
        .expect(200);
    let s = w
        .app
        .get(&format!("/api/v1/customers/{}/loyalty", w.guest_id), &w.pms)
        .await;
    assert_eq!(s.body["balance"], 0);
    let entries = w
        .app
        .get(&format!("/api/v1/customers/{}/loyalty/entries", w.guest_id), &w.admin)
        .await;
    let data = entries.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 8);
    let reversals: Vec<&Value> = data.iter().filter(|e| e["kind"] == "reverse").collect();
    assert_eq!(reversals.len(), 5);
    for r in reversals {
        let original = r["reverses_id"].as_str().unwrap();
        assert_eq!(
            r["lots"][0]["lot_id"], original,
            "a reversal consumes the lot it reverses"
        );
        assert_eq!(r["lots"][0]["points"].as_i64().unwrap(), -r["points"].as_i64().unwrap());
    }
    assert_invariants(&w.app, &w.guest_id);
}

#[actix_rt::test]
async fn reaching_a_threshold_upgrades_at_once_and_multiplies_later_earnings() {
    let w = world().await;
    let a = w.stay("CNF-A", "in_house").await;
    w.spend("CNF-A", "A1", "room", "5000.00").await;
    w.app
        .patch(&format!("/api/v1/stays/{a}"), &w.pms, json!({"status": "checked_out"}))
        .await
        .expect(200);
    let s = w.app.get("/api/v1/me/loyalty", &w.guest).await;
    assert_eq!(s.body["tier"], "silver");
    assert_eq!(s.body["next_tier"], "gold");
    assert_eq!(s.body["points_to_next_tier"], 15000);
    let b = w.stay("CNF-B", "in_house").await;
    w.spend("CNF-B", "B1", "room", "1000.00").await;
    w.app
        .patch(&format!("/api/v1/stays/{b}"), &w.pms, json!({"status": "checked_out"}))
        .await
        .expect(200);
    let s = w.app.get("/api/v1/me/loyalty", &w.guest).await;
    assert_eq!(s.body["balance"], 5000 + 1250, "silver earns ×1.25");
    assert_invariants(&w.app, &w.guest_id);
}

#[actix_rt::test]
async fn adjustments_are_idempotent_authorised_and_never_overdraw() {
    let w = world().await;
    let (_, manager) = w.app.staff_token(&w.admin, "manager", &[]).await;
    let (_, agent) = w.app.staff_token(&w.admin, "agent", &[]).await;
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
    w.adjust(&w.guest, 100000, "adj-3").await.problem(403);
    w.adjust(&manager, -501, "adj-4").await.problem(409);
    let no_key = w
        .app
        .post(
            &format!("/api/v1/customers/{}/loyalty/adjustments", w.guest_id),
            &manager,
            json!({"points": 1, "reason": "x"}),
        )
        .await;
    no_key.problem(428);
    w.adjust(&manager, 0, "adj-5").await.problem(422);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &w.guest).await.body["balance"], 500);
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
    assert_invariants(&w.app, &w.guest_id);
    // Adjustments are audited.
    let log = w
        .app
        .get(
            &format!("/api/v1/audit-log?target_id={}&action=loyalty.adjusted", w.guest_id),
            &w.admin,
        )
        .await;
    assert_eq!(log.body["data"].as_array().unwrap().len(), 3);
}

#[actix_rt::test]
async fn the_ledger_is_append_only_in_the_database() {
    let w = world().await;
    let (_, manager) = w.app.staff_token(&w.admin, "manager", &[]).await;
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
    assert_eq!(w.app.get("/api/v1/me/loyalty", &w.guest).await.body["balance"], 100);
    assert_invariants(&w.app, &w.guest_id);
}

#[actix_rt::test]
async fn loyalty_access_rules() {
    let w = world().await;
    let (other_id, other) = w.app.guest("other@example.com").await;
    let (_, analyst) = w.app.staff_token(&w.admin, "analyst", &[]).await;
    let (_, agent) = w.app.staff_token(&w.admin, "agent", &[]).await;
    let path = format!("/api/v1/customers/{}/loyalty", w.guest_id);
    w.app.get(&path, &other).await.problem(404);
    w.app
        .get(&format!("/api/v1/customers/{other_id}/loyalty"), &other)
        .await
        .expect(200);
    w.app.get(&path, &analyst).await.problem(403);
    w.app.get(&path, &agent).await.expect(200);
    w.app.get(&path, &w.pms).await.expect(200);
    let reader = w.app.api_key(&w.admin, &["customers:read"], &[]).await;
    w.app.get(&path, &reader).await.problem(403);
    w.app.get("/api/v1/me/loyalty", &agent).await.problem(403);
    // A guest cannot give themself points through any door.
    w.app
        .patch("/api/v1/me", &w.guest, json!({"points": 1000}))
        .await
        .problem(422);
    w.adjust(&w.guest, 1000, "self").await.problem(403);
    // Staff-created guests enrol on request.
    let c = w
        .app
        .create_customer(&w.admin, json!({"given_name": "Walk", "family_name": "In"}))
        .await;
    let cid = c["id"].as_str().unwrap();
    assert_eq!(
        w.app
            .get(&format!("/api/v1/customers/{cid}/loyalty"), &agent)
            .await
            .body["enrolled"],
        false
    );
    w.app
        .post(&format!("/api/v1/customers/{cid}/loyalty/enrolment"), &agent, json!({}))
        .await
        .expect(201);
    w.app
        .post(&format!("/api/v1/customers/{cid}/loyalty/enrolment"), &agent, json!({}))
        .await
        .expect(200);
    assert_eq!(
        w.app
            .get(&format!("/api/v1/customers/{cid}/loyalty"), &agent)
            .await
            .body["enrolled"],
        true
    );
}

#[actix_rt::test]
async fn concurrent_postings_keep_the_invariants() {
    let w = world().await;
    let (_, manager) = w.app.staff_token(&w.admin, "manager", &[]).await;
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
    assert_invariants(&w.app, &w.guest_id);
    // Each credit key applied exactly once, whatever the repeats answered.
    use concierge::db::schema::ledger_entries as le;
    use diesel::prelude::*;
    let keys: Vec<Option<String>> = le::table
        .filter(le::customer_id.eq(&w.guest_id))
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
    let balance = w.app.get("/api/v1/me/loyalty", &w.guest).await.body["balance"]
        .as_i64()
        .unwrap();
    assert_eq!(balance, 1000 + 16 * 100 - debits as i64 * 150);
    assert!(debits < 24, "some debits must have been refused");
}

#[actix_rt::test]
async fn concurrent_first_earnings_enrol_a_guest_once() {
    let w = world().await;
    // A guest the PMS knows but who never registered: enrolled at their first earning. Twelve
    // stays check out at once, so twelve transactions race to enrol them.
    let created = w
        .app
        .put(
            "/api/v1/customers/external/opera/P-2",
            &w.pms,
            json!({"given_name": "Li", "family_name": "Na", "email": "li.na@example.com"}),
        )
        .await;
    assert!(created.status.is_success(), "{}", created.raw);
    let guest = created.body["customer"]["id"].as_str().unwrap().to_string();
    let mut stays = Vec::new();
    for i in 0..12 {
        let cn = format!("RACE-{i}");
        let r = w
            .push(
                "/api/v1/stays",
                json!({"property_id": w.prop, "confirmation_number": cn, "customer_ref": {"system": "opera", "external_id": "P-2"},
                       "check_in": "2026-11-01", "check_out": "2026-11-02", "status": "in_house"}),
                &format!("race-stay-{i}"),
            )
            .await;
        r.expect(201);
        stays.push(r.body["id"].as_str().unwrap().to_string());
        w.push(
            "/api/v1/spend",
            json!({"property_id": w.prop, "external_id": format!("RACE-L{i}"), "confirmation_number": cn, "outlet": "room",
                   "amount": {"amount": "100.00", "currency": "CNY"}, "spent_on": "2026-11-01"}),
            &format!("race-spend-{i}"),
        )
        .await
        .expect(201);
    }
    let paths: Vec<String> = stays.iter().map(|id| format!("/api/v1/stays/{id}")).collect();
    let check_outs = paths
        .iter()
        .map(|p| w.app.patch(p, &w.pms, json!({"status": "checked_out"})));
    for r in futures_util::future::join_all(check_outs).await {
        r.expect(200);
    }
    let s = w.app.get(&format!("/api/v1/customers/{guest}/loyalty"), &w.admin).await;
    s.expect(200);
    assert_eq!(s.body["enrolled"], true);
    assert_eq!(s.body["balance"], 1200, "each stay earned once");
    assert_invariants(&w.app, &guest);
}

#[actix_rt::test]
async fn a_guest_redeems_a_free_night_and_a_cancelled_order_refunds() {
    let w = world().await;
    let r = w
        .app
        .post(
            "/api/v1/rewards",
            &w.admin,
            json!({"code": "free-night", "name": "Free night", "points_cost": 5000}),
        )
        .await;
    r.expect(201);
    let reward = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["code"], "FREE-NIGHT");
    w.app
        .post(
            "/api/v1/rewards",
            &w.admin,
            json!({"code": "FREE-NIGHT", "name": "Dup", "points_cost": 1}),
        )
        .await
        .problem(409);
    let hidden = w
        .app
        .post(
            "/api/v1/rewards",
            &w.admin,
            json!({"code": "OLD", "name": "Retired", "points_cost": 10, "active": false}),
        )
        .await;
    let hidden = hidden.body["id"].as_str().unwrap().to_string();
    let (_, agent) = w.app.staff_token(&w.admin, "agent", &[]).await;
    w.app
        .post(
            "/api/v1/rewards",
            &agent,
            json!({"code": "X", "name": "X", "points_cost": 1}),
        )
        .await
        .problem(403);
    assert_eq!(
        w.app
            .get("/api/v1/rewards", &w.guest)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1,
        "guests see active rewards"
    );
    assert_eq!(
        w.app
            .get("/api/v1/rewards", &agent)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let redeem = |key: &'static str, reward: String| {
        let w = &w;
        async move {
            w.app
                .send(
                    Method::POST,
                    "/api/v1/me/redemptions",
                    Auth::Bearer(&w.guest),
                    Some(json!({"reward_id": reward})),
                    &[("idempotency-key", key)],
                )
                .await
        }
    };
    redeem("too-early", reward.clone()).await.problem(409);
    let stay = w.stay("CNF-R", "in_house").await;
    w.spend("CNF-R", "R1", "room", "6000.00").await;
    w.app
        .patch(
            &format!("/api/v1/stays/{stay}"),
            &w.pms,
            json!({"status": "checked_out"}),
        )
        .await
        .expect(200);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &w.guest).await.body["balance"], 6000);

    w.app
        .post("/api/v1/me/redemptions", &w.guest, json!({"reward_id": reward}))
        .await
        .problem(428);
    redeem("r-hidden", hidden).await.problem(422);
    let order = redeem("r-1", reward.clone()).await;
    order.expect(201);
    assert_eq!(order.body["status"], "pending");
    let order_id = order.body["id"].as_str().unwrap().to_string();
    let again = redeem("r-1", reward.clone()).await;
    assert_eq!(
        again.body["id"],
        order_id.as_str(),
        "a retried redemption is the same order"
    );
    assert_eq!(w.app.get("/api/v1/me/loyalty", &w.guest).await.body["balance"], 1000);
    redeem("r-2", reward.clone()).await.problem(409);
    let entries = w.app.get("/api/v1/me/loyalty/entries", &w.guest).await;
    let redeem_entry = &entries.body["data"][0];
    assert_eq!(redeem_entry["kind"], "redeem");
    assert_eq!(redeem_entry["points"], -5000);
    assert_eq!(
        redeem_entry["lots"][0]["points"], 5000,
        "the redeem names the earn lot it consumed"
    );

    // The guest changes their mind: cancelling refunds, with the lot's expiry.
    let cancelled = w
        .app
        .post(
            &format!("/api/v1/redemptions/{order_id}/cancellation"),
            &w.guest,
            json!({}),
        )
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(w.app.get("/api/v1/me/loyalty", &w.guest).await.body["balance"], 6000);
    let entries = w.app.get("/api/v1/me/loyalty/entries", &w.guest).await;
    assert_eq!(entries.body["data"][0]["kind"], "reverse");
    assert_eq!(entries.body["data"][0]["reverses_id"], redeem_entry["id"]);
    let refund = &entries.body["data"][0];
    assert_eq!(refund["expires_at"], Value::Null, "a refund is not a new lot");
    assert_eq!(
        refund["lots"],
        json!([{"lot_id": entries.body["data"][2]["id"], "points": -5000}]),
        "it gives the points back to the earn lot"
    );
    w.app
        .post(
            &format!("/api/v1/redemptions/{order_id}/cancellation"),
            &w.guest,
            json!({}),
        )
        .await
        .expect(200);
    w.app
        .post(&format!("/api/v1/redemptions/{order_id}/fulfilment"), &agent, json!({}))
        .await
        .problem(409);

    // Redeem again and fulfil at the front desk; a fulfilled order cannot be cancelled.
    let order = redeem("r-3", reward.clone()).await;
    let order_id = order.body["id"].as_str().unwrap().to_string();
    w.app
        .post(
            &format!("/api/v1/redemptions/{order_id}/fulfilment"),
            &w.guest,
            json!({}),
        )
        .await
        .problem(403);
    let done = w
        .app
        .post(
            &format!("/api/v1/redemptions/{order_id}/fulfilment"),
            &agent,
            json!({"note": "room 1208"}),
        )
        .await;
    done.expect(200);
    assert_eq!(done.body["status"], "fulfilled");
    w.app
        .post(
            &format!("/api/v1/redemptions/{order_id}/cancellation"),
            &agent,
            json!({}),
        )
        .await
        .problem(409);
    let (other_id, other) = w.app.guest("other@example.com").await;
    w.app
        .post(
            &format!("/api/v1/redemptions/{order_id}/cancellation"),
            &other,
            json!({}),
        )
        .await
        .problem(404);
    w.app
        .get(&format!("/api/v1/customers/{}/redemptions", w.guest_id), &other)
        .await
        .problem(404);
    assert_eq!(
        w.app
            .get(&format!("/api/v1/customers/{other_id}/redemptions"), &other)
            .await
            .body["data"],
        json!([])
    );
    assert_eq!(
        w.app.get("/api/v1/me/redemptions", &w.guest).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        w.app
            .get(&format!("/api/v1/customers/{}/redemptions", w.guest_id), &agent)
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Finally the stay is voided: what the earn lot still holds is reversed, never below zero.
    w.app
        .patch(&format!("/api/v1/stays/{stay}"), &w.pms, json!({"status": "cancelled"}))
        .await
        .expect(200);
    let s = w.app.get("/api/v1/me/loyalty", &w.guest).await;
    assert_eq!(s.body["balance"], 0);
    let entries = w.app.get("/api/v1/me/loyalty/entries", &w.guest).await;
    let reverse = &entries.body["data"][0];
    assert_eq!(reverse["points"], -1000);
    assert!(reverse["reason"].as_str().unwrap().contains("already used"));
    assert_invariants(&w.app, &w.guest_id);
}

fn in_future(days: i64) -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc() + chrono::Duration::days(days)
}

#[actix_rt::test]
async fn expiry_job_expires_what_lots_still_hold_once() {
    let w = world().await;
    let (_, manager) = w.app.staff_token(&w.admin, "manager", &[]).await;
    let lot = w.adjust(&manager, 300, "lot").await;
    w.adjust(&manager, -100, "spend-some").await.expect(201);
    // Nothing is due today.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(0)).unwrap();
    assert_eq!(r.expired_entries, 0);
    // 25 months on, the lot's 200 remaining points expire.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(25 * 31)).unwrap();
    assert_eq!(r.expired_entries, 1);
    let s = w.app.get("/api/v1/me/loyalty", &w.guest).await;
    assert_eq!(s.body["balance"], 0);
    let e = w.app.get("/api/v1/me/loyalty/entries", &w.guest).await;
    let expire = &e.body["data"][0];
    assert_eq!(expire["kind"], "expire");
    assert_eq!(expire["points"], -200);
    assert_eq!(
        expire["lots"],
        json!([{"lot_id": lot.body["id"], "points": 200}]),
        "an expiry names its lot"
    );
    // Running again (or on a second instance) changes nothing.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(25 * 31)).unwrap();
    assert_eq!(r.expired_entries, 0);
    assert_eq!(
        w.app.get("/api/v1/me/loyalty/entries", &w.guest).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_invariants(&w.app, &w.guest_id);
}

#[actix_rt::test]
async fn expiry_months_are_data_and_the_summary_shows_what_expires_soon() {
    let w = world().await;
    {
        use concierge::db::schema::loyalty_settings as s;
        use diesel::prelude::*;
        diesel::update(s::table.find("expiry_months"))
            .set(s::value.eq("2"))
            .execute(&mut **w.app.conn())
            .unwrap();
    }
    let (_, manager) = w.app.staff_token(&w.admin, "manager", &[]).await;
    w.adjust(&manager, 50, "short-lived").await.expect(201);
    let s = w.app.get("/api/v1/me/loyalty", &w.guest).await;
    assert_eq!(s.body["expiring_in_90_days"], 50);
    assert_eq!(s.body["expiring_soon"].as_array().unwrap().len(), 1);
    assert_eq!(s.body["expiring_soon"][0]["points"], 50);
}

#[actix_rt::test]
async fn the_yearly_review_downgrades_and_only_then() {
    let w = world().await;
    let a = w.stay("CNF-T", "in_house").await;
    w.spend("CNF-T", "T1", "room", "5000.00").await;
    w.app
        .patch(&format!("/api/v1/stays/{a}"), &w.pms, json!({"status": "checked_out"}))
        .await
        .expect(200);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &w.guest).await.body["tier"], "silver");
    // Before the review date nothing changes, even far from the threshold.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(200)).unwrap();
    assert_eq!(r.tiers_downgraded, 0);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &w.guest).await.body["tier"], "silver");
    // A year on, with no qualifying points in the last 12 months: back to regular, recorded.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(370)).unwrap();
    assert_eq!(r.tiers_downgraded, 1);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &w.guest).await.body["tier"], "regular");
    use concierge::db::schema::tier_changes as t;
    use diesel::prelude::*;
    let changes: Vec<(String, String, String)> = t::table
        .filter(t::customer_id.eq(&w.guest_id))
        .select((t::from_tier, t::to_tier, t::reason))
        .order(t::id)
        .load(&mut **w.app.conn())
        .unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!((changes[0].0.as_str(), changes[0].1.as_str()), ("regular", "silver"));
    assert_eq!((changes[1].0.as_str(), changes[1].1.as_str()), ("silver", "regular"));
    assert!(changes[1].2.starts_with("yearly review"));
    // The next review is a year later: running again the same day does nothing.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(370)).unwrap();
    assert_eq!(r.tiers_reviewed, 0);
}

fn programme_body(points_per_unit: f64, silver: i64) -> Value {
    json!({
        "points_per_unit": points_per_unit,
        "expiry_months": 24,
        "outlet_weights": {"room": 1, "food_beverage": 1, "banquet": 1, "spa": 1, "fitness": 1, "other": 0},
        "tiers": [
            {"tier": "platinum", "threshold": 50000, "multiplier": 2.0},
            {"tier": "regular", "threshold": 0, "multiplier": 1.0},
            {"tier": "silver", "threshold": silver, "multiplier": 1.25},
            {"tier": "gold", "threshold": 20000, "multiplier": 1.5},
        ],
    })
}

#[actix_rt::test]
async fn programme_rules_are_data_admin_only_and_per_property() {
    let w = world().await;
    let g = w.app.get("/api/v1/loyalty/programme", &w.guest).await;
    g.expect(200);
    assert_eq!(g.body["points_per_unit"], 1.0, "{}", g.raw);
    assert_eq!(g.body["tiers"][1]["tier"], "silver");
    assert_eq!(g.body["tiers"][1]["threshold"], 5000);
    assert_eq!(g.body["tiers"][1]["multiplier"], 1.25);
    assert_eq!(g.body["outlet_weights"]["other"], 0.0);
    assert_eq!(g.body["property_rules"], json!([]));

    // Only admins change the rules.
    let (_, manager) = w.app.staff_token(&w.admin, "manager", &[]).await;
    for who in [&manager, &w.pms, &w.guest] {
        w.app
            .put("/api/v1/loyalty/programme", who, programme_body(3.0, 3000))
            .await
            .problem(403);
        w.app
            .put(
                &format!("/api/v1/properties/{}/loyalty-rules", w.prop),
                who,
                json!({"points_per_unit": 2}),
            )
            .await
            .problem(403);
    }

    // Bad rules: every field named, nothing changed.
    let bad = json!({
        "points_per_unit": 0,
        "expiry_months": 0,
        "outlet_weights": {"room": 1, "food_beverage": 1, "banquet": 1, "fitness": 1, "other": 11},
        "tiers": [
            {"tier": "regular", "threshold": 10, "multiplier": 1.0},
            {"tier": "silver", "threshold": 5, "multiplier": 0.0},
            {"tier": "gold", "threshold": 20000, "multiplier": 1.5},
            {"tier": "platinum", "threshold": 50000, "multiplier": 2.0},
        ],
    });
    let r = w.app.put("/api/v1/loyalty/programme", &w.admin, bad).await;
    r.problem(422);
    let fields = r.fields();
    for f in [
        "points_per_unit",
        "expiry_months",
        "outlet_weights.spa",
        "outlet_weights.other",
        "tiers.regular.threshold",
        "tiers.silver.threshold",
        "tiers.silver.multiplier",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing in {fields:?}");
    }
    let mut twice = programme_body(1.0, 5000);
    twice["tiers"][0]["tier"] = json!("gold");
    let r = w.app.put("/api/v1/loyalty/programme", &w.admin, twice).await;
    r.problem(422);
    assert_eq!(r.fields(), vec!["tiers".to_string()]);
    let again = w.app.get("/api/v1/loyalty/programme", &w.admin).await;
    assert_eq!(again.body, g.body, "a refused update changed nothing");

    // A property's own rules: twice the points, spa counted double.
    let set = w
        .app
        .put(
            &format!("/api/v1/properties/{}/loyalty-rules", w.prop),
            &w.admin,
            json!({"points_per_unit": 2, "outlet_weights": {"spa": 2}}),
        )
        .await;
    set.expect(200);
    assert_eq!(set.body["points_per_unit"], 2.0, "{}", set.raw);
    assert_eq!(set.body["outlet_weights"], json!({"spa": 2.0}));
    w.app
        .put(
            &format!("/api/v1/properties/{}/loyalty-rules", w.prop),
            &w.admin,
            json!({"points_per_unit": -1, "outlet_weights": {"spa": 2.00001}}),
        )
        .await
        .problem(422);
    w.stay("PR1", "in_house").await;
    w.spend("PR1", "PR1-room", "room", "100.00").await;
    w.spend("PR1", "PR1-spa", "spa", "50.00").await;
    w.stay("PR1", "checked_out").await;
    let s = w.app.get("/api/v1/me/loyalty", &w.guest).await;
    assert_eq!(s.body["balance"], 400, "(100 × 1 + 50 × 2) × 2: {}", s.raw);

    // The group changes and the property goes back to it: 3 points per unit from now on.
    let r = w
        .app
        .put("/api/v1/loyalty/programme", &w.admin, programme_body(3.0, 5000))
        .await;
    r.expect(200);
    assert_eq!(r.body["points_per_unit"], 3.0);
    assert_eq!(r.body["tiers"][0]["tier"], "regular", "tiers come back in order");
    let del = format!("/api/v1/properties/{}/loyalty-rules", w.prop);
    let gone = w.app.delete(&del, &w.admin).await;
    assert_eq!(gone.status.as_u16(), 204);
    w.app.delete(&del, &w.admin).await.problem(404);
    w.stay("PR2", "in_house").await;
    w.spend("PR2", "PR2-room", "room", "100.00").await;
    w.stay("PR2", "checked_out").await;
    let s = w.app.get("/api/v1/me/loyalty", &w.guest).await;
    assert_eq!(s.body["balance"], 700, "400 + 100 × 3: {}", s.raw);
    assert_invariants(&w.app, &w.guest_id);

    // Unknown property: 404; changes are audited.
    w.app
        .put(
            "/api/v1/properties/nope/loyalty-rules",
            &w.admin,
            json!({"points_per_unit": 2}),
        )
        .await
        .problem(404);
    let audit = w.app.get("/api/v1/audit-log?limit=200", &w.admin).await;
    let actions: Vec<&str> = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for a in [
        "loyalty.programme_updated",
        "loyalty.property_rules_set",
        "loyalty.property_rules_removed",
    ] {
        assert!(actions.contains(&a), "{a} not audited: {actions:?}");
    }
}
