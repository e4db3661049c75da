//! Tickets by role, property scope and ownership: who may open, read, work on, hand over and
//! configure tickets, and what a guest reaches through `/me/tickets`.

use awc::http::Method;
use chrono::Duration;
use serde_json::json;

use super::table;
use crate::support::Auth;
use crate::tickets::{desk, ts};
use crate::world::World;

/// The callers of the ticket table, in the order of its status arrays.
const NINE: [&str; 9] = [
    "admin",
    "manager",
    "agent",
    "analyst",
    "guest",
    "key_read",
    "key_write",
    "key_loyalty",
    "none",
];

#[actix_rt::test]
async fn ticket_endpoints_by_role_and_scope() {
    let w = World::new().await;
    let rows = |method: Method, path: &str, body: Option<serde_json::Value>, want: [u16; 9]| {
        let cases: Vec<(&'static str, u16)> = NINE.into_iter().zip(want).collect();
        table(method, path, body, &cases)
    };
    let body = json!({"property_id": w.a, "kind": "complaint", "category": "noise", "severity": "low",
                      "channel": "phone", "subject": "Matrix", "description": "Matrix ticket"});
    //                                                  admin manager agent analyst guest key:r key:w key:l none
    let mut all = rows(
        Method::POST,
        "/api/v1/tickets",
        Some(body.clone()),
        [201, 201, 201, 403, 403, 403, 403, 403, 401],
    );
    all.extend(rows(
        Method::GET,
        "/api/v1/tickets",
        None,
        [200, 200, 200, 403, 403, 403, 403, 403, 401],
    ));
    w.run(all).await;
    let t = w.app.post("/api/v1/tickets", &w.admin, body).await;
    t.expect(201);
    let id = t.body["id"].as_str().unwrap().to_string();
    let one = format!("/api/v1/tickets/{id}");
    let mut all = rows(Method::GET, &one, None, [200, 200, 200, 403, 403, 403, 403, 403, 401]);
    all.extend(rows(
        Method::GET,
        &format!("{one}/timeline"),
        None,
        [200, 200, 200, 403, 403, 403, 403, 403, 401],
    ));
    all.extend(rows(
        Method::POST,
        &format!("{one}/comments"),
        Some(json!({"body": "note"})),
        [201, 201, 201, 403, 403, 403, 403, 403, 401],
    ));
    all.extend(rows(
        Method::PUT,
        "/api/v1/sla-policies/low",
        Some(json!({"first_response_minutes": 1440, "resolution_minutes": 4320})),
        [200, 403, 403, 403, 403, 403, 403, 403, 401],
    ));
    all.extend(rows(
        Method::PUT,
        "/api/v1/ticket-categories/matrix",
        Some(json!({"name": "Matrix"})),
        [201, 403, 403, 403, 403, 403, 403, 403, 401],
    ));
    all.extend(rows(
        Method::GET,
        "/api/v1/ticket-categories",
        None,
        [200, 200, 200, 200, 200, 200, 200, 200, 401],
    ));
    all.extend(rows(
        Method::GET,
        "/api/v1/sla-policies",
        None,
        [200, 200, 200, 403, 403, 403, 403, 403, 401],
    ));
    all.extend(rows(
        Method::GET,
        "/api/v1/me/tickets",
        None,
        [403, 403, 403, 403, 200, 403, 403, 403, 401],
    ));
    // The guest's path to a ticket that is not theirs: 404, as if it did not exist.
    all.extend(rows(
        Method::GET,
        &format!("/api/v1/me/tickets/{id}"),
        None,
        [403, 403, 403, 403, 404, 403, 403, 403, 401],
    ));
    w.run(all).await;
}

#[actix_rt::test]
async fn ticket_access_rules() {
    let w = desk().await;
    let agent_id = w.id("agent").await;
    let agent = w.token("agent").await;
    let guest = w.token("guest").await;
    let t = w.open("agent", "medium", "phone").await;
    let id = t["id"].as_str().unwrap();
    // An agent of another property neither sees nor touches it.
    let other = w.b.clone();
    let stranger = w.token("agent_b").await;
    w.app.get(&format!("/api/v1/tickets/{id}"), &stranger).await.expect(404);
    w.move_to(&stranger, id, json!({"to": "acknowledged"}))
        .await
        .expect(404);
    let q = w.app.get("/api/v1/tickets", &stranger).await;
    assert_eq!(q.body["data"].as_array().unwrap().len(), 0);
    let r = w
        .app
        .post("/api/v1/tickets", &stranger, json!({"property_id": w.a, "kind": "inquiry", "category": "other", "severity": "low", "channel": "phone", "subject": "x", "description": "y"}))
        .await;
    assert_eq!(r.fields(), vec!["property_id"]);
    // Another agent of the same property may work on it but not take it from its owner.
    let (colleague_id, colleague) = w.app.staff_token(&w.admin, "agent", &[&w.a]).await;
    w.app
        .get(&format!("/api/v1/tickets/{id}"), &colleague)
        .await
        .expect(200);
    w.app
        .post(
            &format!("/api/v1/tickets/{id}/handover"),
            &colleague,
            json!({"to_staff_id": colleague_id}),
        )
        .await
        .expect(403);
    // The owner hands over; the stranger cannot receive it (not at this property).
    let h = w
        .app
        .post(
            &format!("/api/v1/tickets/{id}/handover"),
            &agent,
            json!({"to_staff_id": colleague_id, "note": "end of shift"}),
        )
        .await;
    h.expect(200);
    assert_eq!(h.body["owner_id"], colleague_id);
    // Analysts get reports, not case files; agents do not configure.
    let analyst = w.token("analyst_all").await;
    w.app.get(&format!("/api/v1/tickets/{id}"), &analyst).await.expect(403);
    w.app.get("/api/v1/tickets", &analyst).await.expect(403);
    w.app
        .put("/api/v1/ticket-categories/vip", &agent, json!({"name": "VIP"}))
        .await
        .expect(403);
    // A guest reads only their own tickets.
    let other_guest = w.token("guest2").await;
    w.app
        .get(&format!("/api/v1/me/tickets/{id}"), &other_guest)
        .await
        .expect(404);
    w.app
        .get(&format!("/api/v1/me/tickets/{id}/timeline"), &other_guest)
        .await
        .expect(404);
    w.app
        .post(
            &format!("/api/v1/me/tickets/{id}/comments"),
            &other_guest,
            json!({"body": "hi"}),
        )
        .await
        .expect(404);
    w.app.get(&format!("/api/v1/tickets/{id}"), &guest).await.expect(403);
    assert_eq!(
        w.app.get("/api/v1/me/tickets", &other_guest).await.body["data"],
        json!([])
    );
    assert_eq!(w.app.get("/api/v1/me/tickets", &guest).await.body["data"][0]["id"], id);
    // Integrations: tickets:write opens tickets at its properties, with an Idempotency-Key.
    let ota = w.token("key_tickets_a").await;
    let review = json!({"property_id": w.a, "kind": "complaint", "category": "noise", "severity": "medium",
                        "channel": "ota_review", "subject": "2-star review", "description": "Noisy at night", "source_kind": "ota_review", "source_id": "BK-991"});
    w.app.post("/api/v1/tickets", &ota, review.clone()).await.expect(428);
    let opened = w
        .app
        .send(
            Method::POST,
            "/api/v1/tickets",
            Auth::Bearer(&ota),
            Some(review.clone()),
            &[("idempotency-key", "bk-991")],
        )
        .await;
    opened.expect(201);
    assert!(opened.body["owner_id"].is_null());
    assert_eq!(
        ts(&opened.body["sla"]["first_response_due_at"]) - ts(&opened.body["created_at"]),
        Duration::hours(4),
        "medium 4 h < 24 h cap"
    );
    let again = w
        .app
        .send(
            Method::POST,
            "/api/v1/tickets",
            Auth::Bearer(&ota),
            Some(review),
            &[("idempotency-key", "bk-991")],
        )
        .await;
    assert_eq!(again.body["id"], opened.body["id"], "replayed, not opened twice");
    let elsewhere = w
        .app
        .send(
            Method::POST,
            "/api/v1/tickets",
            Auth::Bearer(&ota),
            Some(json!({"property_id": other, "kind": "complaint", "category": "noise", "severity": "low", "channel": "ota_review", "subject": "x", "description": "y"})),
            &[("idempotency-key", "bk-992")],
        )
        .await;
    assert_eq!(elsewhere.fields(), vec!["property_id"]);
    w.app
        .post(
            &format!("/api/v1/tickets/{id}/handover"),
            &ota,
            json!({"to_staff_id": agent_id}),
        )
        .await
        .expect(403);
    let reader = w.token("key_read").await;
    w.app.get("/api/v1/tickets", &reader).await.expect(403);
}
