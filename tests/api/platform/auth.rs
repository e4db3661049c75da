use awc::http::Method;
use serde_json::json;

use crate::support::{Auth, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

#[actix_rt::test]
async fn staff_login_issues_bearer_tokens() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert!(r.body["refresh_token"].as_str().unwrap().starts_with("crt_"));
    let token = r.body["access_token"].as_str().unwrap();
    app.get("/api/v1/staff", token).await.expect(200);
}

#[actix_rt::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let wrong = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": ADMIN_EMAIL, "password": "not-the-password"})),
            &[],
        )
        .await;
    let unknown = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": "nobody@test.local", "password": "whatever-123"})),
            &[],
        )
        .await;
    assert_eq!(wrong.problem(401)["detail"], unknown.problem(401)["detail"]);
    // A guest account cannot log in to the staff console and vice versa.
    app.guest("visitor@example.com").await;
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        Auth::None,
        Some(json!({"email": "visitor@example.com", "password": "guest-password-1"})),
        &[],
    )
    .await
    .problem(401);
    app.send(
        Method::POST,
        "/api/v1/auth/customer/login",
        Auth::None,
        Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        &[],
    )
    .await
    .problem(401);
}

#[actix_rt::test]
async fn repeated_failed_logins_are_rate_limited() {
    let app = TestApp::spawn().await;
    for _ in 0..10 {
        app.send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": ADMIN_EMAIL, "password": "wrong-password"})),
            &[],
        )
        .await
        .problem(401);
    }
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            &[],
        )
        .await;
    r.problem(429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));
}

#[actix_rt::test]
async fn guest_registers_logs_in_and_reads_own_profile() {
    let app = TestApp::spawn().await;
    let (id, token) = app.guest("Wei.Zhang@Example.com").await;
    let me = app.get("/api/v1/me", &token).await;
    me.expect(200);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["email"], "wei.zhang@example.com");
    assert_eq!(me.body["source_channel"], "app");
    assert_eq!(me.body["personal_data"], "full");
    let login = app
        .send(
            Method::POST,
            "/api/v1/auth/customer/login",
            Auth::None,
            Some(json!({"email": "wei.zhang@example.com", "password": "guest-password-1"})),
            &[],
        )
        .await;
    login.expect(200);
    // Registering the same email again is refused.
    let again = app
        .send(
            Method::POST,
            "/api/v1/auth/customer/register",
            Auth::None,
            Some(json!({"email": "WEI.ZHANG@example.com", "password": "guest-password-2", "given_name": "A", "family_name": "B"})),
            &[],
        )
        .await;
    again.problem(409);
    assert_eq!(app.count("customers"), 1);
}

#[actix_rt::test]
async fn registration_validates_every_field() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/customer/register",
            Auth::None,
            Some(json!({"email": "not-an-email", "password": "short", "given_name": "", "family_name": "B"})),
            &[],
        )
        .await;
    r.problem(422);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, vec!["email", "given_name", "password"]);
    assert_eq!(app.count("customers"), 0);
    assert_eq!(app.count("customer_accounts"), 0);
}

#[actix_rt::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            &[],
        )
        .await;
    let first = r.body["refresh_token"].as_str().unwrap().to_string();
    let r2 = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            Auth::None,
            Some(json!({"refresh_token": first})),
            &[],
        )
        .await;
    r2.expect(200);
    let second = r2.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    app.get("/api/v1/staff", r2.body["access_token"].as_str().unwrap())
        .await
        .expect(200);
    // Presenting the rotated token again looks like theft: the whole session dies.
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        Auth::None,
        Some(json!({"refresh_token": first})),
        &[],
    )
    .await
    .problem(401);
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        Auth::None,
        Some(json!({"refresh_token": second})),
        &[],
    )
    .await
    .problem(401);
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        Auth::None,
        Some(json!({"refresh_token": "crt_unknown"})),
        &[],
    )
    .await
    .problem(401);
}

#[actix_rt::test]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn().await;
    app.guest("g@example.com").await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/customer/login",
            Auth::None,
            Some(json!({"email": "g@example.com", "password": "guest-password-1"})),
            &[],
        )
        .await;
    let refresh = r.body["refresh_token"].as_str().unwrap().to_string();
    app.send(
        Method::POST,
        "/api/v1/auth/logout",
        Auth::None,
        Some(json!({"refresh_token": refresh})),
        &[],
    )
    .await
    .expect(204);
    app.send(
        Method::POST,
        "/api/v1/auth/logout",
        Auth::None,
        Some(json!({"refresh_token": refresh})),
        &[],
    )
    .await
    .expect(204);
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        Auth::None,
        Some(json!({"refresh_token": refresh})),
        &[],
    )
    .await
    .problem(401);
}

#[actix_rt::test]
async fn refresh_stops_working_for_a_deactivated_user() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let r = app
        .post(
            "/api/v1/staff",
            &admin,
            json!({"email": "temp@test.local", "display_name": "Temp", "role": "agent", "password": "staff-password-1"}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let login = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": "temp@test.local", "password": "staff-password-1"})),
            &[],
        )
        .await;
    let refresh = login.body["refresh_token"].as_str().unwrap().to_string();
    app.patch(&format!("/api/v1/staff/{id}"), &admin, json!({"active": false}))
        .await
        .expect(200);
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        Auth::None,
        Some(json!({"refresh_token": refresh})),
        &[],
    )
    .await
    .problem(401);
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        Auth::None,
        Some(json!({"email": "temp@test.local", "password": "staff-password-1"})),
        &[],
    )
    .await
    .problem(401);
}

#[actix_rt::test]
async fn admin_cannot_lock_themself_out() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let staff = app.get("/api/v1/staff", &admin).await;
    let me = staff
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == ADMIN_EMAIL)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.patch(&format!("/api/v1/staff/{me}"), &admin, json!({"active": false}))
        .await
        .problem(409);
    app.patch(&format!("/api/v1/staff/{me}"), &admin, json!({"role": "agent"}))
        .await
        .problem(409);
    app.get("/api/v1/staff", &admin).await.expect(200);
}

#[actix_rt::test]
async fn staff_and_api_key_changes_are_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "SHA-01").await;
    let (agent_id, _) = app.staff_token(&admin, "agent", &[&prop]).await;
    app.patch(&format!("/api/v1/staff/{agent_id}"), &admin, json!({"role": "manager"}))
        .await
        .expect(200);
    let key = app
        .post(
            "/api/v1/api-keys",
            &admin,
            json!({"name": "pms", "scopes": ["customers:read"]}),
        )
        .await;
    key.expect(201);
    let key_id = key.body["id"].as_str().unwrap();
    assert!(key.body["key"]
        .as_str()
        .unwrap()
        .starts_with(key.body["prefix"].as_str().unwrap()));
    app.delete(&format!("/api/v1/api-keys/{key_id}"), &admin)
        .await
        .expect(204);
    let listed = app.get("/api/v1/api-keys", &admin).await;
    assert!(listed.body[0].get("key").is_none(), "the secret is shown once only");
    assert!(listed.body[0]["revoked_at"].is_string());
    let log = app.get("/api/v1/audit-log?limit=200", &admin).await;
    log.expect(200);
    let actions: Vec<&str> = log.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "staff.created",
        "staff.updated",
        "api_key.created",
        "api_key.revoked",
        "property.created",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let role_change = log.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "staff.updated")
        .unwrap();
    assert_eq!(role_change["details"]["role"]["from"], "agent");
    assert_eq!(role_change["details"]["role"]["to"], "manager");
    // The log is append-only in the database itself.
    use diesel::connection::SimpleConnection;
    let mut conn = app.conn();
    assert!(conn.batch_execute("UPDATE audit_log SET action = 'x'").is_err());
    assert!(conn.batch_execute("DELETE FROM audit_log").is_err());
}
