//! Ticket events (SPEC §8) through HTTP: each committed change has its event, in order per
//! ticket, without personal data; a refused request leaves none.

use serde_json::json;

use crate::world::World;

/// The World with its agent at A and the guest; returns (world, A, agent token, guest id).
async fn setup() -> (World, String, String, String) {
    let w = World::new().await;
    let (agent, guest) = (w.token("agent").await, w.id("guest").await);
    let prop = w.a.clone();
    (w, prop, agent, guest)
}

fn open_body(prop: &str, guest: &str) -> serde_json::Value {
    json!({"property_id": prop, "customer_id": guest, "kind": "complaint", "category": "cleanliness",
           "severity": "medium", "channel": "phone", "subject": "Noisy room Zhang",
           "description": "Secret description text"})
}

#[actix_rt::test]
async fn a_ticket_has_its_events_in_order_without_personal_data() {
    let (w, prop, agent, guest) = setup().await;
    let app = &w.app;
    let t = app.post("/api/v1/tickets", &agent, open_body(&prop, &guest)).await;
    t.expect(201);
    let id = t.body["id"].as_str().unwrap().to_string();
    app.patch(
        &format!("/api/v1/tickets/{id}"),
        &agent,
        json!({"subject": "Noisy room"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/tickets/{id}/comments"),
        &agent,
        json!({"body": "Private comment body", "visibility": "customer_visible"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/tickets/{id}/transitions"),
        &agent,
        json!({"to": "acknowledged"}),
    )
    .await
    .expect(200);
    let mine: Vec<_> = app.events().into_iter().filter(|e| e.aggregate_id == id).collect();
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ticket.created",
            "ticket.updated",
            "ticket.commented",
            "ticket.state_changed"
        ]
    );
    assert!(mine.iter().all(|e| e.aggregate_type == "ticket"));
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(mine[0].property_id.as_deref(), Some(prop.as_str()));
    assert_eq!(mine[1].data["fields"], json!(["subject"]));
    assert_eq!(mine[2].data["visibility"], "customer_visible");
    let raw = serde_json::to_string(&mine.iter().map(|e| &e.data).collect::<Vec<_>>()).unwrap();
    for secret in ["Zhang", "Secret", "Private", w.email("guest")] {
        assert!(!raw.contains(secret), "no personal data in events: {raw}");
    }
}

#[actix_rt::test]
async fn refused_ticket_requests_leave_no_event() {
    let (w, prop, agent, guest) = setup().await;
    let app = &w.app;
    let before = app.events().len();
    let mut bad = open_body(&prop, &guest);
    bad["subject"] = json!("");
    app.post("/api/v1/tickets", &agent, bad).await.expect(422);
    assert_eq!(app.events().len(), before, "a refused create leaves no event");
    let t = app.post("/api/v1/tickets", &agent, open_body(&prop, &guest)).await;
    t.expect(201);
    let id = t.body["id"].as_str().unwrap().to_string();
    let n = app.events_of("ticket.created").len();
    assert_eq!(n, 1);
    let after_create = app.events().len();
    app.post(
        &format!("/api/v1/tickets/{id}/transitions"),
        &agent,
        json!({"to": "closed"}),
    )
    .await
    .expect(409);
    app.put("/api/v1/ticket-categories/vip", &agent, json!({"name": "VIP"}))
        .await
        .expect(403);
    assert_eq!(app.events().len(), after_create, "refused changes leave no event");
}
