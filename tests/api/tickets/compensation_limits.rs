//! Compensation limits hold per ticket: the running total per unit, not each offer alone.

use serde_json::{json, Value};

use crate::support::TestApp;

struct Case {
    app: TestApp,
    admin: String,
    agent: String,
    manager: String,
    ticket: String,
    guest: String,
}

/// A ticket at a hotel, with a guest; the default limits (agent 2,000 points, manager 20,000).
async fn case() -> Case {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "SHA").await;
    let (_, agent) = app.staff_token(&admin, "agent", &[&prop]).await;
    let (_, manager) = app.staff_token(&admin, "manager", &[&prop]).await;
    let (guest_id, guest) = app.guest("split.offers@example.com").await;
    let t = app
        .post(
            "/api/v1/tickets",
            &agent,
            json!({"property_id": prop, "customer_id": guest_id, "kind": "complaint", "category": "noise",
                   "severity": "high", "channel": "phone", "subject": "Noise", "description": "All night."}),
        )
        .await;
    t.expect(201);
    let ticket = t.body["id"].as_str().unwrap().to_string();
    Case {
        app,
        admin,
        agent,
        manager,
        ticket,
        guest,
    }
}

impl Case {
    async fn offer(&self, token: &str, points: i64) -> Value {
        let path = format!("/api/v1/tickets/{}/compensations", self.ticket);
        let r = self
            .app
            .post(
                &path,
                token,
                json!({"kind": "points", "points": points, "note": "sorry"}),
            )
            .await;
        r.expect(201);
        r.body.clone()
    }
    async fn approve(&self, token: &str, id: &Value) -> u16 {
        let path = format!("/api/v1/compensations/{}/approve", id.as_str().unwrap());
        self.app.post(&path, token, json!({})).await.status.as_u16()
    }
    async fn balance(&self) -> i64 {
        let r = self.app.get("/api/v1/me/loyalty", &self.guest).await;
        r.body["balance"].as_i64().unwrap()
    }
}

#[actix_rt::test]
async fn a_second_offer_over_the_running_total_waits_for_approval() {
    let c = case().await;
    assert_eq!(c.offer(&c.agent, 1500).await["state"], "approved");
    assert_eq!(
        c.offer(&c.agent, 1500).await["state"],
        "pending_approval",
        "1,500 + 1,500 is above the agent's 2,000"
    );
    assert_eq!(c.balance().await, 1500);
}

#[actix_rt::test]
async fn parallel_offers_cannot_all_slip_under_the_limit() {
    let c = case().await;
    let offers = (0..6).map(|_| c.offer(&c.agent, 1000));
    let answers = futures_util::future::join_all(offers).await;
    let approved: usize = answers.iter().filter(|a| a["state"] == "approved").count();
    assert_eq!(approved, 2, "at most 2,000 points approved at once: {answers:?}");
    assert_eq!(c.balance().await, 2000);
}

#[actix_rt::test]
async fn approvers_are_bound_by_the_tickets_cumulative_total() {
    let c = case().await;
    let first = c.offer(&c.agent, 15000).await;
    assert_eq!(c.approve(&c.manager, &first["id"]).await, 200);
    let second = c.offer(&c.agent, 5000).await;
    assert_eq!(second["state"], "pending_approval");
    assert_eq!(
        c.approve(&c.manager, &second["id"]).await,
        200,
        "15,000 + 5,000 is the manager's 20,000"
    );
    let third = c.offer(&c.agent, 100).await;
    assert_eq!(third["state"], "pending_approval");
    assert_eq!(c.approve(&c.manager, &third["id"]).await, 403, "20,100 is above it");
    assert_eq!(c.balance().await, 20000);
    assert_eq!(c.approve(&c.admin, &third["id"]).await, 200, "admins: no limit");
    assert_eq!(c.balance().await, 20100);
}
