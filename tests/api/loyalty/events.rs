//! Loyalty's domain events (SPEC §8) through HTTP: a committed change has its event (type,
//! aggregate, per-aggregate sequence, no personal data); a refused one leaves none.

use serde_json::{json, Value};

use crate::support::{Auth, Event, Resp};
use crate::world::World;

async fn adjust(w: &World, token: &str, points: i64, key: &str) -> Resp {
    let path = format!("/api/v1/customers/{}/loyalty/adjustments", w.id("guest").await);
    let body = json!({"points": points, "reason": "Goodwill for Mr Secret"});
    w.app
        .send(
            awc::http::Method::POST,
            &path,
            Auth::Bearer(token),
            Some(body),
            &[("Idempotency-Key", key)],
        )
        .await
}

/// The events of one aggregate, oldest first.
fn of(w: &World, aggregate_type: &str, id: &str) -> Vec<Event> {
    let evs = w.app.events().into_iter();
    evs.filter(|e| e.aggregate_type == aggregate_type && e.aggregate_id == id)
        .collect()
}

fn no_personal_data(evs: &[Event], words: &[&str]) {
    let raw = serde_json::to_string(&evs.iter().map(|e| &e.data).collect::<Vec<&Value>>()).unwrap();
    for w in words {
        assert!(!raw.contains(w), "{w} in events: {raw}");
    }
}
#[actix_rt::test]
async fn an_adjustment_posts_an_entry_event_and_a_refused_one_none() {
    let w = World::new().await;
    w.with(&["guest"]).await;
    let guest_id = w.id("guest").await;
    let agent = w.token("agent_all").await;
    let before = w.app.events().len();
    adjust(&w, &agent, 500, "evt-403").await.problem(403);
    adjust(&w, &w.admin, -500, "evt-409").await.problem(409);
    adjust(&w, &w.admin, 0, "evt-422").await.problem(422);
    assert_eq!(w.app.events().len(), before, "refused requests leave no event");

    let r = adjust(&w, &w.admin, 700, "evt-1").await;
    r.expect(201);
    adjust(&w, &w.admin, -200, "evt-2").await.expect(201);
    adjust(&w, &w.admin, -200, "evt-2").await.expect(201);
    let mine = of(&w, "loyalty_account", &guest_id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "loyalty.account_enrolled",
            "loyalty.entry_posted",
            "loyalty.entry_posted"
        ],
        "a replay posts nothing"
    );
    let seqs: Vec<i64> = mine.iter().map(|e| e.sequence).collect();
    let first = seqs[0];
    assert_eq!(seqs, [first, first + 1, first + 2]);
    assert_eq!(mine[1].data["entry_id"], r.body["id"]);
    assert_eq!(mine[1].data["kind"], "adjust");
    assert_eq!(mine[1].data["points"], 700);
    assert_eq!(mine[2].data["points"], -200);
    assert_eq!(mine[2].data["balance_after"], 500);
    no_personal_data(&mine, &["Secret", "Goodwill", "evt-"]);
}

#[actix_rt::test]
async fn a_redemption_writes_created_and_cancelled_and_a_refused_change_none() {
    let w = World::new().await;
    w.with(&["guest"]).await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let reward = w
        .app
        .post(
            "/api/v1/rewards",
            &w.admin,
            json!({"code": "EVT-NIGHT", "name": "Secret night", "points_cost": 300}),
        )
        .await;
    reward.expect(201);
    let reward_id = reward.body["id"].as_str().unwrap().to_string();
    adjust(&w, &w.admin, 1000, "evt-r1").await.expect(201);
    let order = w
        .app
        .send(
            awc::http::Method::POST,
            "/api/v1/me/redemptions",
            Auth::Bearer(&guest),
            Some(json!({"reward_id": reward_id})),
            &[("Idempotency-Key", "evt-red-1")],
        )
        .await;
    order.expect(201);
    let id = order.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/redemptions/{id}/cancellation");
    w.app
        .post(&path, &guest, json!({"note": "Call Mr Secret"}))
        .await
        .expect(200);
    let before = w.app.events().len();
    let fulfil = format!("/api/v1/redemptions/{id}/fulfilment");
    w.app.post(&fulfil, &w.admin, json!({})).await.problem(409);
    assert_eq!(w.app.events().len(), before, "a refused change leaves no event");

    let mine = of(&w, "redemption", &id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["redemption.created", "redemption.cancelled"]);
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[0].data["status"], "pending");
    assert_eq!(mine[1].data["status"], "cancelled");
    assert_eq!(mine[1].data["points"], 300);
    let entries = w.app.events_of("loyalty.entry_posted");
    let kinds: Vec<&Value> = entries
        .iter()
        .filter(|e| e.aggregate_id == guest_id)
        .map(|e| &e.data["kind"])
        .collect();
    assert_eq!(kinds, [&json!("adjust"), &json!("redeem"), &json!("reverse")]);
    no_personal_data(&mine, &["Secret", "Call"]);
}

#[actix_rt::test]
async fn a_fulfilment_writes_its_event() {
    let w = World::new().await;
    w.with(&["guest"]).await;
    let guest = w.token("guest").await;
    let r = json!({"code": "EVT-SPA", "name": "Spa", "points_cost": 100});
    let reward = w.app.post("/api/v1/rewards", &w.admin, r).await;
    let reward_id = reward.body["id"].as_str().unwrap().to_string();
    adjust(&w, &w.admin, 100, "evt-f1").await.expect(201);
    let order = w
        .app
        .send(
            awc::http::Method::POST,
            "/api/v1/me/redemptions",
            Auth::Bearer(&guest),
            Some(json!({"reward_id": reward_id})),
            &[("Idempotency-Key", "evt-red-2")],
        )
        .await;
    order.expect(201);
    let id = order.body["id"].as_str().unwrap().to_string();
    let fulfil = format!("/api/v1/redemptions/{id}/fulfilment");
    w.app
        .post(&fulfil, &w.admin, json!({"note": "Handed to Mr Secret"}))
        .await
        .expect(200);
    w.app.post(&fulfil, &w.admin, json!({})).await.expect(200);
    let mine = of(&w, "redemption", &id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["redemption.created", "redemption.fulfilled"],
        "idempotent repeat: no event"
    );
    assert_eq!(mine[1].sequence, 2);
    assert_eq!(mine[1].data["status"], "fulfilled");
    no_personal_data(&mine, &["Secret", "Handed"]);
}

#[actix_rt::test]
async fn rewards_write_created_and_updated_and_a_taken_code_none() {
    let w = World::new().await;
    w.with(&["guest"]).await;
    let body = json!({"code": "EVT-GIFT", "name": "Secret gift", "description": "Hidden text", "points_cost": 50});
    let r = w.app.post("/api/v1/rewards", &w.admin, body.clone()).await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let manager = w.token("manager_all").await;
    let before = w.app.events().len();
    w.app.post("/api/v1/rewards", &w.admin, body).await.problem(409);
    let patch = json!({"points_cost": 80});
    w.app
        .patch(&format!("/api/v1/rewards/{id}"), &manager, patch.clone())
        .await
        .problem(403);
    assert_eq!(w.app.events().len(), before, "refused requests leave no event");
    let p = json!({"points_cost": 80, "name": "Another secret"});
    w.app
        .patch(&format!("/api/v1/rewards/{id}"), &w.admin, p)
        .await
        .expect(200);
    let mine = of(&w, "reward", &id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["reward.created", "reward.updated"]);
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[0].data["points_cost"], 50);
    assert_eq!(mine[1].data["changed"], json!(["name", "points_cost"]));
    assert_eq!(mine[1].data["points_cost"], 80);
    no_personal_data(&mine, &["ecret", "Hidden"]);
}

fn programme(ppu: f64) -> Value {
    let weights = json!({"room": 1, "food_beverage": 1, "banquet": 1, "spa": 1, "fitness": 1, "other": 0});
    json!({"points_per_unit": ppu, "expiry_months": 24, "outlet_weights": weights, "tiers": [
        {"tier": "regular", "threshold": 0, "multiplier": 1.0},
        {"tier": "silver", "threshold": 5000, "multiplier": 1.25},
        {"tier": "gold", "threshold": 20000, "multiplier": 1.5},
        {"tier": "platinum", "threshold": 50000, "multiplier": 2.0},
    ]})
}

#[actix_rt::test]
async fn the_programme_writes_updated_with_changed_field_names_and_a_bad_one_none() {
    let w = World::new().await;
    w.with(&["guest"]).await;
    let guest = w.token("guest").await;
    let before = w.app.events().len();
    let r = w.app.put("/api/v1/loyalty/programme", &w.admin, programme(0.0)).await;
    r.problem(422);
    w.app
        .put("/api/v1/loyalty/programme", &guest, programme(2.0))
        .await
        .problem(403);
    assert_eq!(w.app.events().len(), before, "refused requests leave no event");
    w.app
        .put("/api/v1/loyalty/programme", &w.admin, programme(2.0))
        .await
        .expect(200);
    w.app
        .put("/api/v1/loyalty/programme", &w.admin, programme(3.0))
        .await
        .expect(200);
    let mine = of(&w, "loyalty_programme", "group");
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["loyalty_programme.updated", "loyalty_programme.updated"]);
    assert_eq!(mine[1].sequence, mine[0].sequence + 1);
    assert!(mine[1].data["changed"]
        .as_array()
        .unwrap()
        .contains(&json!("points_per_unit")));
    assert!(!mine[1].data["changed"].as_array().unwrap().contains(&json!("tiers")));
}

#[actix_rt::test]
async fn property_rules_write_updated_and_removed_and_a_refused_removal_none() {
    let w = World::new().await;
    w.with(&["guest"]).await;
    let prop = w.a.clone();
    let path = format!("/api/v1/properties/{prop}/loyalty-rules");
    let before = w.app.events().len();
    w.app.delete(&path, &w.admin).await.problem(404);
    w.app
        .put(&path, &w.admin, json!({"points_per_unit": 0}))
        .await
        .problem(422);
    assert_eq!(w.app.events().len(), before, "refused requests leave no event");
    let body = json!({"points_per_unit": 2, "outlet_weights": {"spa": 2}});
    w.app.put(&path, &w.admin, body).await.expect(200);
    w.app.delete(&path, &w.admin).await.expect(204);
    let mine = of(&w, "loyalty_property_rules", &prop);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["loyalty_property_rules.updated", "loyalty_property_rules.removed"]
    );
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[0].property_id.as_deref(), Some(prop.as_str()));
    assert_eq!(mine[0].data["outlets"], json!(["spa"]));
}

#[actix_rt::test]
async fn a_check_out_earns_with_an_entry_and_a_tier_change_event() {
    let w = World::new().await;
    w.with(&["guest"]).await;
    let guest_id = w.id("guest").await;
    let prop = w.a.clone();
    let stay = |status: &str| {
        json!({"property_id": prop, "confirmation_number": "EVT-T1", "customer_id": guest_id,
               "check_in": "2026-11-20", "check_out": "2026-11-22", "status": status})
    };
    w.app
        .post("/api/v1/stays", &w.admin, stay("in_house"))
        .await
        .expect(201);
    let spend = json!({"property_id": prop, "external_id": "EVT-POS-1", "confirmation_number": "EVT-T1",
        "outlet": "room", "amount": {"amount": "6000.00", "currency": "CNY"}, "spent_on": "2026-11-21",
        "description": "Secret dinner"});
    w.app.post("/api/v1/spend", &w.admin, spend).await.expect(201);
    let before = w.app.events().len();
    w.app
        .post("/api/v1/stays", &w.admin, stay("reserved"))
        .await
        .problem(409);
    assert_eq!(w.app.events().len(), before, "a refused push leaves no event");
    w.app
        .post("/api/v1/stays", &w.admin, stay("checked_out"))
        .await
        .expect(200);
    let mine = of(&w, "loyalty_account", &guest_id);
    let posted: Vec<&Event> = mine.iter().filter(|e| e.kind == "loyalty.entry_posted").collect();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].data["kind"], "earn");
    assert_eq!(posted[0].data["points"], 6000);
    assert_eq!(posted[0].data["source_kind"], "stay");
    assert_eq!(posted[0].property_id.as_deref(), Some(prop.as_str()));
    let tier: Vec<&Event> = mine.iter().filter(|e| e.kind == "loyalty.tier_changed").collect();
    assert_eq!(tier.len(), 1);
    assert_eq!(
        (&tier[0].data["from"], &tier[0].data["to"]),
        (&json!("regular"), &json!("silver"))
    );
    assert_eq!(tier[0].sequence, posted[0].sequence + 1);
    no_personal_data(&mine, &["Secret", "Guest", "EVT-T1"]);
}
