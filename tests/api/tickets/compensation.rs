//! Compensation: approval above the offerer's limit, points posted once, rejections.

use serde_json::{json, Value};

use super::desk;

#[actix_rt::test]
async fn compensation_needs_approval_above_the_offerers_limit_and_posts_points_once() {
    let w = desk().await;
    let agent = w.token("agent").await;
    let manager = w.token("manager").await;
    let guest = w.token("guest").await;
    let t = w.open("agent", "high", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();
    let offer = |body: Value| {
        let (app, agent, path) = (&w.app, agent.clone(), format!("/api/v1/tickets/{id}/compensations"));
        async move { app.post(&path, &agent, body).await }
    };
    let balance = || async {
        w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"]
            .as_i64()
            .unwrap()
    };

    // Within the agent's limit (500 units): approved at once.
    let r =
        offer(json!({"kind": "refund", "amount": {"amount": "300.00", "currency": "CNY"}, "note": "Minibar refunded"}))
            .await;
    r.expect(201);
    assert_eq!(r.body["state"], "approved");
    // Bad offers change nothing.
    let before = w.app.count("ticket_compensations");
    assert_eq!(
        offer(json!({"kind": "points", "note": "x"})).await.fields(),
        vec!["points"]
    );
    assert_eq!(
        offer(json!({"kind": "refund", "amount": {"amount": "10.00", "currency": "EUR"}, "note": "x"}))
            .await
            .fields(),
        vec!["amount.currency"]
    );
    assert_eq!(
        offer(json!({"kind": "apology", "points": 5, "note": "x"}))
            .await
            .fields(),
        vec!["points"]
    );
    assert_eq!(w.app.count("ticket_compensations"), before);

    // 3,000 points is above the agent's 2,000: it waits for a manager.
    let p = offer(json!({"kind": "points", "points": 3000, "note": "Goodwill points"})).await;
    p.expect(201);
    assert_eq!(p.body["state"], "pending_approval");
    let cid = p.body["id"].as_str().unwrap().to_string();
    assert_eq!(balance().await, 0, "nothing posted before approval");
    let queue = w
        .app
        .get("/api/v1/compensations?state=pending_approval", &manager)
        .await;
    assert_eq!(queue.body["data"][0]["id"], cid);
    w.app
        .post(&format!("/api/v1/compensations/{cid}/approve"), &agent, json!({}))
        .await
        .expect(403);
    // The manager's approval is retried eight times at once: the points post once.
    let path = format!("/api/v1/compensations/{cid}/approve");
    let tries = (0..8).map(|_| w.app.post(&path, &manager, json!({"note": "ok"})));
    let answers = futures_util::future::join_all(tries).await;
    for a in &answers {
        a.expect(200);
        assert_eq!(a.body["state"], "approved");
    }
    let entry = answers[0].body["ledger_entry_id"].as_str().unwrap().to_string();
    assert!(answers.iter().all(|a| a.body["ledger_entry_id"] == entry.as_str()));
    assert_eq!(balance().await, 3000);
    let statement = w.app.get("/api/v1/me/loyalty/entries", &guest).await;
    let data = statement.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["kind"], "compensation");
    assert_eq!(data[0]["id"], entry.as_str());
    w.app
        .post(&format!("/api/v1/compensations/{cid}/reject"), &manager, json!({}))
        .await
        .expect(409);

    // Above the manager's 20,000 only an admin may approve.
    let big = w
        .app
        .post(
            &format!("/api/v1/tickets/{id}/compensations"),
            &manager,
            json!({"kind": "points", "points": 25000, "note": "Ruined honeymoon"}),
        )
        .await;
    assert_eq!(big.body["state"], "pending_approval");
    let bid = big.body["id"].as_str().unwrap();
    let (_, other_manager) = w.app.staff_token(&w.admin, "manager", &[&w.a]).await;
    w.app
        .post(
            &format!("/api/v1/compensations/{bid}/approve"),
            &other_manager,
            json!({}),
        )
        .await
        .expect(403);
    w.app
        .post(&format!("/api/v1/compensations/{bid}/approve"), &w.admin, json!({}))
        .await
        .expect(200);
    assert_eq!(balance().await, 28000);

    // A rejected voucher posts nothing and cannot be approved afterwards.
    let v =
        offer(json!({"kind": "voucher", "amount": {"amount": "800.00", "currency": "CNY"}, "note": "Dinner voucher"}))
            .await;
    let vid = v.body["id"].as_str().unwrap();
    w.app
        .post(
            &format!("/api/v1/compensations/{vid}/reject"),
            &manager,
            json!({"note": "refund given already"}),
        )
        .await
        .expect(200);
    w.app
        .post(&format!("/api/v1/compensations/{vid}/approve"), &w.admin, json!({}))
        .await
        .expect(409);

    // The guest sees the approved compensation on their ticket, not the pending or rejected.
    let seen = w
        .timeline(&guest, &format!("/api/v1/me/tickets/{id}/timeline?kind=compensation"))
        .await;
    let events: Vec<&str> = seen.iter().map(|e| e["data"]["event"].as_str().unwrap()).collect();
    assert_eq!(events, vec!["approved", "approved", "approved"]);
    let all = w.app.get(&format!("/api/v1/tickets/{id}/compensations"), &agent).await;
    assert_eq!(all.body.as_array().unwrap().len(), 4);
    // Points need a guest on the ticket.
    let anon = w
        .app
        .post(
            "/api/v1/tickets",
            &agent,
            json!({"property_id": w.a, "kind": "complaint", "category": "noise", "severity": "low", "channel": "phone", "subject": "s", "description": "anonymous"}),
        )
        .await;
    let aid = anon.body["id"].as_str().unwrap();
    let r = w
        .app
        .post(
            &format!("/api/v1/tickets/{aid}/compensations"),
            &agent,
            json!({"kind": "points", "points": 10, "note": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["kind"]);
}
