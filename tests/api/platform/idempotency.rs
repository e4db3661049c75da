use awc::http::Method;
use serde_json::json;

use crate::support::{Auth, Resp, TestApp};

#[actix_rt::test]
async fn same_key_and_body_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let body = json!({"given_name": "Wei", "family_name": "Zhang", "email": "wei@example.com"});
    let first = app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::Bearer(&admin),
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
        .await;
    first.expect(201);
    assert_eq!(first.header("idempotent-replayed").as_deref(), Some("false"));
    let again = app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::Bearer(&admin),
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
        .await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body, first.body, "the very same answer");
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(app.count("customers"), 1);
    // Without the header the duplicate is a plain 409.
    app.post("/api/v1/customers", &admin, body).await.problem(409);
}

#[actix_rt::test]
async fn same_key_with_another_body_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let h = [("idempotency-key", "k-2")];
    app.send(
        Method::POST,
        "/api/v1/customers",
        Auth::Bearer(&admin),
        Some(json!({"given_name": "A", "family_name": "B"})),
        &h,
    )
    .await
    .expect(201);
    let r = app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::Bearer(&admin),
            Some(json!({"given_name": "C", "family_name": "D"})),
            &h,
        )
        .await;
    r.problem(422);
    assert_eq!(r.fields(), vec!["Idempotency-Key"]);
    assert_eq!(app.count("customers"), 1);
}

#[actix_rt::test]
async fn a_key_still_in_flight_answers_409() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let body = json!({"given_name": "A", "family_name": "B"});
    // Simulate a first request that is still running: claim the key, answer not stored yet.
    let first = app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::Bearer(&admin),
            Some(body.clone()),
            &[("idempotency-key", "k-3")],
        )
        .await;
    first.expect(201);
    {
        use concierge::db::schema::idempotency_keys as t;
        use diesel::prelude::*;
        let future = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(30);
        diesel::update(t::table.filter(t::idem_key.eq("k-3")))
            .set((
                t::status.eq(None::<i32>),
                t::response_body.eq(None::<String>),
                t::locked_until.eq(future),
            ))
            .execute(&mut **app.conn())
            .unwrap();
    }
    let r = app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::Bearer(&admin),
            Some(body),
            &[("idempotency-key", "k-3")],
        )
        .await;
    r.problem(409);
    assert_eq!(app.count("customers"), 1);
}

#[actix_rt::test]
async fn keys_are_per_caller_and_answers_are_encrypted_at_rest() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let key = app.api_key(&admin, &["customers:write"], &[]).await;
    let h = [("idempotency-key", "shared-key")];
    app.send(
        Method::POST,
        "/api/v1/customers",
        Auth::Bearer(&admin),
        Some(json!({"given_name": "A", "family_name": "B", "email": "secret.person@example.com"})),
        &h,
    )
    .await
    .expect(201);
    // The integration's key is its own: its request runs (and here conflicts on the email).
    let r = app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::ApiKeyHeader(&key),
            Some(json!({"given_name": "C", "family_name": "D", "email": "c@example.com"})),
            &h,
        )
        .await;
    r.expect(201);
    assert_eq!(app.count("customers"), 2);
    // Stored answers hold personal data: encrypted.
    use concierge::db::schema::idempotency_keys as t;
    use diesel::prelude::*;
    let bodies: Vec<Option<String>> = t::table.select(t::response_body).load(&mut **app.conn()).unwrap();
    assert_eq!(bodies.len(), 2);
    for b in bodies {
        let b = b.unwrap();
        assert!(
            !b.contains("secret.person") && !b.contains("given_name"),
            "stored in clear: {b}"
        );
    }
}

#[actix_rt::test]
async fn api_key_secrets_replay_but_are_never_stored_in_clear() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let h = [("idempotency-key", "create-key-1")];
    let body = json!({"name": "pms", "scopes": ["customers:read"]});
    let first = app
        .send(
            Method::POST,
            "/api/v1/api-keys",
            Auth::Bearer(&admin),
            Some(body.clone()),
            &h,
        )
        .await;
    first.expect(201);
    let again = app
        .send(Method::POST, "/api/v1/api-keys", Auth::Bearer(&admin), Some(body), &h)
        .await;
    assert_eq!(again.body["key"], first.body["key"]);
    let secret = first.body["key"].as_str().unwrap();
    use concierge::db::schema::idempotency_keys as t;
    use diesel::prelude::*;
    let stored: Option<String> = t::table.select(t::response_body).first(&mut **app.conn()).unwrap();
    assert!(!stored.unwrap().contains(secret));
    assert_eq!(
        app.get("/api/v1/api-keys", &admin).await.body.as_array().unwrap().len(),
        1
    );
}

#[actix_rt::test]
async fn bad_keys_and_public_endpoints() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let long = "x".repeat(300);
    app.send(
        Method::POST,
        "/api/v1/customers",
        Auth::Bearer(&admin),
        Some(json!({"given_name": "A", "family_name": "B"})),
        &[("idempotency-key", long.as_str())],
    )
    .await
    .problem(400);
    assert_eq!(app.count("customers"), 0);
    // Logins ignore the header: two logins, two different token pairs, nothing stored.
    let body = json!({"email": crate::support::ADMIN_EMAIL, "password": crate::support::ADMIN_PASSWORD});
    let a = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(body.clone()),
            &[("idempotency-key", "login")],
        )
        .await;
    let b = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(body),
            &[("idempotency-key", "login")],
        )
        .await;
    assert_ne!(a.body["refresh_token"], b.body["refresh_token"]);
    assert_eq!(app.count("idempotency_keys"), 0);
    // An invalid token with a key is still a plain 401.
    app.send(
        Method::POST,
        "/api/v1/customers",
        Auth::Bearer("nope"),
        Some(json!({})),
        &[("idempotency-key", "x")],
    )
    .await
    .problem(401);
}

#[actix_rt::test]
async fn validation_failures_replay_too() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let h = [("idempotency-key", "bad-1")];
    let r1 = app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::Bearer(&admin),
            Some(json!({"given_name": "", "family_name": "B"})),
            &h,
        )
        .await;
    r1.problem(422);
    let r2 = app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::Bearer(&admin),
            Some(json!({"given_name": "", "family_name": "B"})),
            &h,
        )
        .await;
    r2.problem(422);
    assert_eq!(r2.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(r2.header("content-type").as_deref(), Some("application/problem+json"));
}

async fn post_with_key(app: &TestApp, path: &str, auth: Auth<'_>, body: serde_json::Value, key: &str) -> Resp {
    app.send(Method::POST, path, auth, Some(body), &[("idempotency-key", key)])
        .await
}

#[actix_rt::test]
async fn a_deactivated_user_or_a_revoked_key_gets_no_stored_answer_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (other_id, other) = app.staff_token(&admin, "admin", &[]).await;
    let body = json!({"name": "pms", "scopes": ["customers:write"]});
    let first = post_with_key(&app, "/api/v1/api-keys", Auth::Bearer(&other), body.clone(), "K").await;
    first.expect(201);
    let secret = first.body["key"].as_str().unwrap().to_string();
    app.patch(&format!("/api/v1/staff/{other_id}"), &admin, json!({"active": false}))
        .await
        .expect(200);
    let replay = post_with_key(&app, "/api/v1/api-keys", Auth::Bearer(&other), body, "K").await;
    replay.problem(401);
    assert!(!replay.raw.contains(&secret), "the secret came back: {}", replay.raw);

    // The same for an integration whose key was revoked.
    let guest = json!({"given_name": "A", "family_name": "B"});
    let created = post_with_key(
        &app,
        "/api/v1/customers",
        Auth::ApiKeyHeader(&secret),
        guest.clone(),
        "K2",
    )
    .await;
    created.expect(201);
    let key_id = first.body["id"].as_str().unwrap();
    app.delete(&format!("/api/v1/api-keys/{key_id}"), &admin)
        .await
        .expect(204);
    let replay = post_with_key(&app, "/api/v1/customers", Auth::ApiKeyHeader(&secret), guest, "K2").await;
    replay.problem(401);
    assert!(replay.header("idempotent-replayed").is_none());
}

#[actix_rt::test]
async fn unknown_api_keys_write_no_idempotency_rows() {
    let app = TestApp::spawn().await;
    let before = app.count("idempotency_keys");
    for (i, key) in ["ck_live_0000000000000000000000000000", "ck_anything"]
        .iter()
        .enumerate()
    {
        for auth in [Auth::ApiKeyHeader(key), Auth::Bearer(key)] {
            let r = post_with_key(
                &app,
                "/api/v1/customers",
                auth,
                json!({"given_name": "A", "family_name": "B"}),
                &format!("k-{i}"),
            )
            .await;
            r.problem(401);
        }
    }
    assert_eq!(app.count("idempotency_keys"), before);
    assert_eq!(app.count("customers"), 0);
}

#[actix_rt::test]
async fn another_caller_with_the_same_key_runs_its_own_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, other) = app.staff_token(&admin, "admin", &[]).await;
    let body = json!({"given_name": "A", "family_name": "B"});
    let a = post_with_key(&app, "/api/v1/customers", Auth::Bearer(&admin), body.clone(), "same").await;
    a.expect(201);
    // Same key and body from another staff user: a new customer, not A's answer.
    let b = post_with_key(&app, "/api/v1/customers", Auth::Bearer(&other), body, "same").await;
    b.expect(201);
    assert_eq!(b.header("idempotent-replayed").as_deref(), Some("false"));
    assert_ne!(a.body["id"], b.body["id"]);
    // Another body under that key is B's own first use of it, not a mismatch with A's.
    let other_body = json!({"given_name": "C", "family_name": "D"});
    let (_, third) = app.staff_token(&admin, "manager", &[]).await;
    post_with_key(&app, "/api/v1/customers", Auth::Bearer(&third), other_body, "same")
        .await
        .expect(201);
    assert_eq!(app.count("customers"), 3);
    // A's own retry still replays A's answer.
    let again = post_with_key(
        &app,
        "/api/v1/customers",
        Auth::Bearer(&admin),
        json!({"given_name": "A", "family_name": "B"}),
        "same",
    )
    .await;
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body["id"], a.body["id"]);
}
