//! Who reads and changes loyalty: guests their own account only, staff by role, keys by scope.

use serde_json::json;

use super::hotel;

#[actix_rt::test]
async fn loyalty_access_rules() {
    let w = hotel().await;
    let pms = w.token("pms").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let (other_id, other) = (w.id("guest2").await, w.token("guest2").await);
    let analyst = w.token("analyst_all").await;
    let agent = w.token("agent_all").await;
    let path = format!("/api/v1/customers/{}/loyalty", guest_id);
    w.app.get(&path, &other).await.problem(404);
    w.app
        .get(&format!("/api/v1/customers/{other_id}/loyalty"), &other)
        .await
        .expect(200);
    w.app.get(&path, &analyst).await.problem(403);
    w.app.get(&path, &agent).await.expect(200);
    w.app.get(&path, &pms).await.expect(200);
    let reader = w.token("key_read").await;
    w.app.get(&path, &reader).await.problem(403);
    w.app.get("/api/v1/me/loyalty", &agent).await.problem(403);
    // A guest cannot give themself points through any door.
    w.app
        .patch("/api/v1/me", &guest, json!({"points": 1000}))
        .await
        .problem(422);
    w.adjust(&guest, 1000, "self").await.problem(403);
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
