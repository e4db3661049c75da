//! Authentication without a database read per request, and its bound: a deactivation or a key
//! revocation made on one instance refuses the credential on that instance at once and on
//! another instance within the authentication cache's lifetime (1 s).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::TestApp;

/// How long until `path` answers 401 to `token` on `app`, polled every 50 ms (at most 3 s).
async fn refused_after(app: &TestApp, path: &str, token: &str) -> Duration {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        let r = app.get(path, token).await;
        if r.status.as_u16() == 401 {
            return start.elapsed();
        }
        assert_eq!(r.status.as_u16(), 200, "{}", r.raw);
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} still accepted the credential after 3 s");
}

#[actix_rt::test]
async fn a_deactivated_user_is_refused_here_at_once_and_on_another_instance_within_the_bound() {
    let a = TestApp::spawn().await;
    let b = a.second_instance().await;
    let admin = a.admin_token().await;
    let (id, agent) = a.staff_token(&admin, "agent", &[]).await;
    // Both instances have resolved (and remembered) the agent.
    a.get("/api/v1/properties", &agent).await.expect(200);
    b.get("/api/v1/properties", &agent).await.expect(200);
    a.patch(&format!("/api/v1/staff/{id}"), &admin, json!({"active": false}))
        .await
        .expect(200);
    a.get("/api/v1/properties", &agent).await.problem(401);
    let late = refused_after(&b, "/api/v1/properties", &agent).await;
    assert!(
        late < Duration::from_millis(1500),
        "refused on the other instance after {late:?}"
    );
}

#[actix_rt::test]
async fn a_revoked_key_is_refused_here_at_once_and_on_another_instance_within_the_bound() {
    let a = TestApp::spawn().await;
    let b = a.second_instance().await;
    let admin = a.admin_token().await;
    let created = a
        .post(
            "/api/v1/api-keys",
            &admin,
            json!({"name": "pms", "scopes": ["customers:read"]}),
        )
        .await;
    let (id, key) = (
        created.body["id"].as_str().unwrap().to_string(),
        created.body["key"].as_str().unwrap().to_string(),
    );
    a.get("/api/v1/customers", &key).await.expect(200);
    b.get("/api/v1/customers", &key).await.expect(200);
    a.delete(&format!("/api/v1/api-keys/{id}"), &admin).await.expect(204);
    a.get("/api/v1/customers", &key).await.problem(401);
    let late = refused_after(&b, "/api/v1/customers", &key).await;
    assert!(
        late < Duration::from_millis(1500),
        "refused on the other instance after {late:?}"
    );
}
