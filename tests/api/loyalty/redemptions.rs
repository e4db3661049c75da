//! Rewards and redemptions: a free night redeemed, cancelled (refunded to its lot), fulfilled.

use awc::http::Method;
use serde_json::{json, Value};

use super::{assert_invariants, hotel};
use crate::support::Auth;

#[actix_rt::test]
async fn a_guest_redeems_a_free_night_and_a_cancelled_order_refunds() {
    let w = hotel().await;
    let pms = w.token("pms").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
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
    let agent = w.token("agent_all").await;
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
            .get("/api/v1/rewards", &guest)
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
        let (w, guest) = (&w, &guest);
        async move {
            w.app
                .send(
                    Method::POST,
                    "/api/v1/me/redemptions",
                    Auth::Bearer(guest),
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
        .patch(&format!("/api/v1/stays/{stay}"), &pms, json!({"status": "checked_out"}))
        .await
        .expect(200);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"], 6000);

    w.app
        .post("/api/v1/me/redemptions", &guest, json!({"reward_id": reward}))
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
    assert_eq!(w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"], 1000);
    redeem("r-2", reward.clone()).await.problem(409);
    let entries = w.app.get("/api/v1/me/loyalty/entries", &guest).await;
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
            &guest,
            json!({}),
        )
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"], 6000);
    let entries = w.app.get("/api/v1/me/loyalty/entries", &guest).await;
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
            &guest,
            json!({}),
        )
        .await
        .expect(200);
    // A note is checked even on a repeated cancellation (found by schemathesis).
    let long = w
        .app
        .post(
            &format!("/api/v1/redemptions/{order_id}/cancellation"),
            &guest,
            json!({"note": "x".repeat(501)}),
        )
        .await;
    assert_eq!(long.problem(422)["errors"][0]["field"], "note");
    w.app
        .post(&format!("/api/v1/redemptions/{order_id}/fulfilment"), &agent, json!({}))
        .await
        .problem(409);

    // Redeem again and fulfil at the front desk; a fulfilled order cannot be cancelled.
    let order = redeem("r-3", reward.clone()).await;
    let order_id = order.body["id"].as_str().unwrap().to_string();
    w.app
        .post(&format!("/api/v1/redemptions/{order_id}/fulfilment"), &guest, json!({}))
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
    let (other_id, other) = (w.id("guest2").await, w.token("guest2").await);
    w.app
        .post(
            &format!("/api/v1/redemptions/{order_id}/cancellation"),
            &other,
            json!({}),
        )
        .await
        .problem(404);
    w.app
        .get(&format!("/api/v1/customers/{}/redemptions", guest_id), &other)
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
        w.app.get("/api/v1/me/redemptions", &guest).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        w.app
            .get(&format!("/api/v1/customers/{}/redemptions", guest_id), &agent)
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Finally the stay is voided: what the earn lot still holds is reversed, never below zero.
    w.app
        .patch(&format!("/api/v1/stays/{stay}"), &pms, json!({"status": "cancelled"}))
        .await
        .expect(200);
    let s = w.app.get("/api/v1/me/loyalty", &guest).await;
    assert_eq!(s.body["balance"], 0);
    let entries = w.app.get("/api/v1/me/loyalty/entries", &guest).await;
    let reverse = &entries.body["data"][0];
    assert_eq!(reverse["points"], -1000);
    assert!(reverse["reason"].as_str().unwrap().contains("already used"));
    assert_invariants(&w.app, &guest_id);
}
