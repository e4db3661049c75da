//! The programme's rules are data: admin-only, validated whole, overridable per property.

use serde_json::json;

use super::{assert_invariants, hotel, programme_body};

#[actix_rt::test]
async fn programme_rules_are_data_admin_only_and_per_property() {
    let w = hotel().await;
    let pms = w.token("pms").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let g = w.app.get("/api/v1/loyalty/programme", &guest).await;
    g.expect(200);
    assert_eq!(g.body["points_per_unit"], 1.0, "{}", g.raw);
    assert_eq!(g.body["tiers"][1]["tier"], "silver");
    assert_eq!(g.body["tiers"][1]["threshold"], 5000);
    assert_eq!(g.body["tiers"][1]["multiplier"], 1.25);
    assert_eq!(g.body["outlet_weights"]["other"], 0.0);
    assert_eq!(g.body["property_rules"], json!([]));

    // Only admins change the rules.
    let manager = w.token("manager_all").await;
    for who in [&manager, &pms, &guest] {
        w.app
            .put("/api/v1/loyalty/programme", who, programme_body(3.0, 3000))
            .await
            .problem(403);
        w.app
            .put(
                &format!("/api/v1/properties/{}/loyalty-rules", w.a),
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
            &format!("/api/v1/properties/{}/loyalty-rules", w.a),
            &w.admin,
            json!({"points_per_unit": 2, "outlet_weights": {"spa": 2}}),
        )
        .await;
    set.expect(200);
    assert_eq!(set.body["points_per_unit"], 2.0, "{}", set.raw);
    assert_eq!(set.body["outlet_weights"], json!({"spa": 2.0}));
    w.app
        .put(
            &format!("/api/v1/properties/{}/loyalty-rules", w.a),
            &w.admin,
            json!({"points_per_unit": -1, "outlet_weights": {"spa": 2.00001}}),
        )
        .await
        .problem(422);
    w.stay("PR1", "in_house").await;
    w.spend("PR1", "PR1-room", "room", "100.00").await;
    w.spend("PR1", "PR1-spa", "spa", "50.00").await;
    w.stay("PR1", "checked_out").await;
    let s = w.app.get("/api/v1/me/loyalty", &guest).await;
    assert_eq!(s.body["balance"], 400, "(100 × 1 + 50 × 2) × 2: {}", s.raw);

    // The group changes and the property goes back to it: 3 points per unit from now on.
    let r = w
        .app
        .put("/api/v1/loyalty/programme", &w.admin, programme_body(3.0, 5000))
        .await;
    r.expect(200);
    assert_eq!(r.body["points_per_unit"], 3.0);
    assert_eq!(r.body["tiers"][0]["tier"], "regular", "tiers come back in order");
    let del = format!("/api/v1/properties/{}/loyalty-rules", w.a);
    let gone = w.app.delete(&del, &w.admin).await;
    assert_eq!(gone.status.as_u16(), 204);
    w.app.delete(&del, &w.admin).await.problem(404);
    w.stay("PR2", "in_house").await;
    w.spend("PR2", "PR2-room", "room", "100.00").await;
    w.stay("PR2", "checked_out").await;
    let s = w.app.get("/api/v1/me/loyalty", &guest).await;
    assert_eq!(s.body["balance"], 700, "400 + 100 × 3: {}", s.raw);
    assert_invariants(&w.app, &guest_id);

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
