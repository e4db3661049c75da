//! Earning: a check-out earns once at the tier's multiplier, POS corrections settle the stay
//! again, a cancellation reverses it; a threshold upgrades at once; racing first earnings enrol once.

use serde_json::{json, Value};

use super::{assert_invariants, hotel};

#[actix_rt::test]
async fn check_out_earns_once_and_cancellation_reverses() {
    let w = hotel().await;
    let pms = w.token("pms").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let me = w.app.get("/api/v1/me/loyalty", &guest).await;
    me.expect(200);
    assert_eq!(me.body["enrolled"], true, "app registrations are enrolled at once");
    assert_eq!(me.body["balance"], 0);

    let stay = w.stay("CNF-1", "in_house").await;
    w.spend("CNF-1", "L1", "room", "3840.00").await;
    w.spend("CNF-1", "L2", "food_beverage", "388.50").await;
    w.spend("CNF-1", "L3", "other", "999.00").await; // weight 0: does not qualify
    assert_eq!(
        w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"],
        0,
        "nothing before check-out"
    );

    w.app
        .patch(&format!("/api/v1/stays/{stay}"), &pms, json!({"status": "checked_out"}))
        .await
        .expect(200);
    let s = w.app.get("/api/v1/me/loyalty", &guest).await;
    assert_eq!(s.body["balance"], 4228);
    assert_eq!(s.body["tier"], "regular");
    assert_eq!(s.body["qualifying_points_12m"], 4228);
    assert_eq!(s.body["next_tier"], "silver");
    assert_eq!(s.body["points_to_next_tier"], 772);
    assert_eq!(s.body["expiring_in_90_days"], 0);
    // Re-pushing the checked-out stay does not earn twice.
    w.stay("CNF-1", "checked_out").await;
    w.app
        .patch(&format!("/api/v1/stays/{stay}"), &pms, json!({"status": "checked_out"}))
        .await
        .expect(200);
    let entries = w.app.get("/api/v1/me/loyalty/entries", &guest).await;
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
    assert_eq!(w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"], 4328);
    assert_invariants(&w.app, &guest_id);

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
    let entries = w.app.get("/api/v1/me/loyalty/entries", &guest).await;
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
    assert_invariants(&w.app, &guest_id);

    // The stay is voided: every point it earned comes back out.
    w.app
        .patch(&format!("/api/v1/stays/{stay}"), &pms, json!({"status": "cancelled"}))
        .await
        .expect(200);
    let s = w
        .app
        .get(&format!("/api/v1/customers/{}/loyalty", guest_id), &pms)
        .await;
    assert_eq!(s.body["balance"], 0);
    let entries = w
        .app
        .get(&format!("/api/v1/customers/{}/loyalty/entries", guest_id), &w.admin)
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
    assert_invariants(&w.app, &guest_id);
}

#[actix_rt::test]
async fn reaching_a_threshold_upgrades_at_once_and_multiplies_later_earnings() {
    let w = hotel().await;
    let pms = w.token("pms").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let a = w.stay("CNF-A", "in_house").await;
    w.spend("CNF-A", "A1", "room", "5000.00").await;
    w.app
        .patch(&format!("/api/v1/stays/{a}"), &pms, json!({"status": "checked_out"}))
        .await
        .expect(200);
    let s = w.app.get("/api/v1/me/loyalty", &guest).await;
    assert_eq!(s.body["tier"], "silver");
    assert_eq!(s.body["next_tier"], "gold");
    assert_eq!(s.body["points_to_next_tier"], 15000);
    let b = w.stay("CNF-B", "in_house").await;
    w.spend("CNF-B", "B1", "room", "1000.00").await;
    w.app
        .patch(&format!("/api/v1/stays/{b}"), &pms, json!({"status": "checked_out"}))
        .await
        .expect(200);
    let s = w.app.get("/api/v1/me/loyalty", &guest).await;
    assert_eq!(s.body["balance"], 5000 + 1250, "silver earns ×1.25");
    assert_invariants(&w.app, &guest_id);
}

#[actix_rt::test]
async fn concurrent_first_earnings_enrol_a_guest_once() {
    let w = hotel().await;
    let pms = w.token("pms").await;
    // A guest the PMS knows but who never registered: enrolled at their first earning. Twelve
    // stays check out at once, so twelve transactions race to enrol them.
    let created = w
        .app
        .put(
            "/api/v1/customers/external/opera/P-2",
            &pms,
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
                json!({"property_id": w.a, "confirmation_number": cn, "customer_ref": {"system": "opera", "external_id": "P-2"},
                       "check_in": "2026-11-01", "check_out": "2026-11-02", "status": "in_house"}),
                &format!("race-stay-{i}"),
            )
            .await;
        r.expect(201);
        stays.push(r.body["id"].as_str().unwrap().to_string());
        w.push(
            "/api/v1/spend",
            json!({"property_id": w.a, "external_id": format!("RACE-L{i}"), "confirmation_number": cn, "outlet": "room",
                   "amount": {"amount": "100.00", "currency": "CNY"}, "spent_on": "2026-11-01"}),
            &format!("race-spend-{i}"),
        )
        .await
        .expect(201);
    }
    let paths: Vec<String> = stays.iter().map(|id| format!("/api/v1/stays/{id}")).collect();
    let check_outs = paths
        .iter()
        .map(|p| w.app.patch(p, &pms, json!({"status": "checked_out"})));
    for r in futures_util::future::join_all(check_outs).await {
        r.expect(200);
    }
    let s = w.app.get(&format!("/api/v1/customers/{guest}/loyalty"), &w.admin).await;
    s.expect(200);
    assert_eq!(s.body["enrolled"], true);
    assert_eq!(s.body["balance"], 1200, "each stay earned once");
    assert_invariants(&w.app, &guest);
}
