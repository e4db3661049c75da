//! Compensation limits hold per ticket: the running total per unit, not each offer alone.

use serde_json::{json, Value};

use crate::world::World;

/// A ticket at A about the guest, opened by the agent; the default limits (agent 2,000 points,
/// manager 20,000). Returns the world and the ticket's id.
async fn case() -> (World, String) {
    let w = World::new().await;
    w.with(&["agent", "manager", "guest"]).await;
    let t = w
        .app
        .post(
            "/api/v1/tickets",
            &w.token("agent").await,
            json!({"property_id": w.a, "customer_id": w.id("guest").await, "kind": "complaint", "category": "noise",
                   "severity": "high", "channel": "phone", "subject": "Noise", "description": "All night."}),
        )
        .await;
    t.expect(201);
    let ticket = t.body["id"].as_str().unwrap().to_string();
    (w, ticket)
}

async fn offer(w: &World, ticket: &str, who: &str, points: i64) -> Value {
    let path = format!("/api/v1/tickets/{ticket}/compensations");
    let body = json!({"kind": "points", "points": points, "note": "sorry"});
    let r = w.app.post(&path, &w.token(who).await, body).await;
    r.expect(201);
    r.body.clone()
}

async fn approve(w: &World, who: &str, id: &Value) -> u16 {
    let path = format!("/api/v1/compensations/{}/approve", id.as_str().unwrap());
    let r = w.app.post(&path, &w.token(who).await, json!({})).await;
    r.status.as_u16()
}

async fn balance(w: &World) -> i64 {
    let r = w.app.get("/api/v1/me/loyalty", &w.token("guest").await).await;
    r.body["balance"].as_i64().unwrap()
}

#[actix_rt::test]
async fn a_second_offer_over_the_running_total_waits_for_approval() {
    let (w, t) = case().await;
    assert_eq!(offer(&w, &t, "agent", 1500).await["state"], "approved");
    assert_eq!(
        offer(&w, &t, "agent", 1500).await["state"],
        "pending_approval",
        "1,500 + 1,500 is above the agent's 2,000"
    );
    assert_eq!(balance(&w).await, 1500);
}

#[actix_rt::test]
async fn parallel_offers_cannot_all_slip_under_the_limit() {
    let (w, t) = case().await;
    let offers = (0..6).map(|_| offer(&w, &t, "agent", 1000));
    let answers = futures_util::future::join_all(offers).await;
    let approved: usize = answers.iter().filter(|a| a["state"] == "approved").count();
    assert_eq!(approved, 2, "at most 2,000 points approved at once: {answers:?}");
    assert_eq!(balance(&w).await, 2000);
}

#[actix_rt::test]
async fn approvers_are_bound_by_the_tickets_cumulative_total() {
    let (w, t) = case().await;
    let first = offer(&w, &t, "agent", 15000).await;
    assert_eq!(approve(&w, "manager", &first["id"]).await, 200);
    let second = offer(&w, &t, "agent", 5000).await;
    assert_eq!(second["state"], "pending_approval");
    assert_eq!(
        approve(&w, "manager", &second["id"]).await,
        200,
        "15,000 + 5,000 is the manager's 20,000"
    );
    let third = offer(&w, &t, "agent", 100).await;
    assert_eq!(third["state"], "pending_approval");
    assert_eq!(approve(&w, "manager", &third["id"]).await, 403, "20,100 is above it");
    assert_eq!(balance(&w).await, 20000);
    assert_eq!(approve(&w, "admin", &third["id"]).await, 200, "admins: no limit");
    assert_eq!(balance(&w).await, 20100);
}
