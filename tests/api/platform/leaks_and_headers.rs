//! Issue 10: registration and a guest's own changes never reveal another guest; security
//! headers on every answer, and no caching of tokens or personal data.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, Resp, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

async fn register(app: &TestApp, email: &str) -> Resp {
    let body = json!({"email": email, "password": "tea-garden-9", "given_name": "Min", "family_name": "Zhang"});
    app.send(
        Method::POST,
        "/api/v1/auth/customer/register",
        Auth::None,
        Some(body),
        &[],
    )
    .await
}

fn audit_actions(log: &Value) -> Vec<(String, String, Value)> {
    log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let target = e["target_id"].as_str().unwrap_or_default().to_string();
            (e["action"].as_str().unwrap().to_string(), target, e["details"].clone())
        })
        .collect()
}

#[actix_rt::test]
async fn registering_an_email_a_staff_profile_holds_answers_as_for_a_new_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let staff_made = app
        .create_customer(
            &admin,
            json!({"given_name": "Min", "family_name": "Zhang", "email": "zhang.min@example.com"}),
        )
        .await;
    let r = register(&app, "Zhang.Min@example.com").await;
    r.expect(201);
    assert!(r.body["access_token"].is_string() && r.body["refresh_token"].is_string());
    let token = r.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/me", token).await;
    me.expect(200);
    assert_ne!(
        me.body["id"], staff_made["id"],
        "the staff-made profile is not handed over"
    );
    assert_eq!(me.body["email"], "zhang.min@example.com");
    assert_eq!(app.count("customers"), 2);
    // Staff keep their duplicate detection, naming the existing guest.
    let again = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"given_name": "M", "family_name": "Z", "email": "zhang.min@example.com"}),
        )
        .await;
    assert!(again.problem(409)["existing_id"].is_string());
}

#[actix_rt::test]
async fn registering_an_email_with_an_app_login_is_a_generic_409_noted_for_the_owner() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.guest("li.wei@example.com").await;
    let r = register(&app, "LI.WEI@example.com").await;
    let p = r.problem(409);
    assert!(p.get("existing_id").is_none(), "{}", r.raw);
    assert!(!r.raw.contains(&owner), "{}", r.raw);
    assert_eq!(
        p["detail"],
        "this email cannot be registered; log in or reset your password"
    );
    assert_eq!(app.count("customers"), 1);
    let admin = app.admin_token().await;
    let log = app.get("/api/v1/audit-log?limit=200", &admin).await;
    log.expect(200);
    let attempt = audit_actions(&log.body)
        .into_iter()
        .find(|(a, _, _)| a == "customer.registration_attempt")
        .expect("the attempt is audited");
    assert_eq!(attempt.1, owner);
    assert_eq!(attempt.2, json!({}), "no personal values in the entry");
}

#[actix_rt::test]
async fn a_guest_may_take_a_phone_another_guest_holds_without_learning_of_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let other = app
        .create_customer(
            &admin,
            json!({"given_name": "Fang", "family_name": "Li", "phone": "+8613812345678"}),
        )
        .await;
    let (me, token) = app.guest("wei@example.com").await;
    let r = app
        .patch("/api/v1/me", &token, json!({"phone": "+8613812345678"}))
        .await;
    r.expect(200);
    assert_eq!(r.body["phone"], "+8613812345678");
    assert!(!r.raw.contains(other["id"].as_str().unwrap()));
    // Staff setting that phone on yet another profile are told whose it is.
    let third = app
        .create_customer(&admin, json!({"given_name": "Lei", "family_name": "Wang"}))
        .await;
    let clash = app
        .patch(
            &format!("/api/v1/customers/{}", third["id"].as_str().unwrap()),
            &admin,
            json!({"phone": "+8613812345678"}),
        )
        .await;
    let id = clash.problem(409)["existing_id"].as_str().unwrap().to_string();
    assert!(id == me || id == other["id"].as_str().unwrap());
    // Staff editing another field of a duplicate are not blocked by it.
    app.patch(&format!("/api/v1/customers/{me}"), &admin, json!({"job_title": "CTO"}))
        .await
        .expect(200);
}

fn assert_security_headers(r: &Resp, what: &str) {
    assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"), "{what}");
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"), "{what}");
    assert_eq!(r.header("referrer-policy").as_deref(), Some("no-referrer"), "{what}");
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
}

#[actix_rt::test]
async fn security_headers_on_every_answer_and_no_caching_of_api_answers() {
    let app = TestApp::spawn().await;
    let login = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    let tokens = app
        .send(Method::POST, "/api/v1/auth/login", Auth::None, Some(login), &[])
        .await;
    tokens.expect(200);
    let admin = tokens.body["access_token"].as_str().unwrap();
    let refresh = json!({"refresh_token": tokens.body["refresh_token"]});
    let refreshed = app
        .send(Method::POST, "/api/v1/auth/refresh", Auth::None, Some(refresh), &[])
        .await;
    refreshed.expect(200);
    let registered = register(&app, "headers@example.com").await;
    registered.expect(201);
    let ok = app.get("/api/v1/staff", admin).await;
    ok.expect(200);
    let missing = app.get("/api/v1/no-such-thing", admin).await;
    missing.problem(404);
    let anonymous = app.send(Method::GET, "/api/v1/staff", Auth::None, None, &[]).await;
    anonymous.problem(401);
    for (what, r) in [
        ("login", &tokens),
        ("refresh", &refreshed),
        ("register", &registered),
        ("200", &ok),
        ("404", &missing),
        ("401", &anonymous),
    ] {
        assert_security_headers(r, what);
        assert_eq!(
            r.header("content-security-policy").as_deref(),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{what}"
        );
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"), "{what}");
    }
    // Swagger UI still loads: its page uses only script files of this origin, which its CSP allows.
    let docs = app.send(Method::GET, "/docs/", Auth::None, None, &[]).await;
    docs.expect(200);
    assert_security_headers(&docs, "docs");
    let csp = docs.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("style-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    assert!(!docs.raw.contains("<script>"), "no inline script in {}", docs.raw);
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-initializer.js",
        "swagger-ui.css",
    ] {
        assert!(docs.raw.contains(asset), "{asset} referenced");
        let r = app
            .send(Method::GET, &format!("/docs/{asset}"), Auth::None, None, &[])
            .await;
        r.expect(200);
    }
    let spec = app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await;
    spec.expect(200);
    assert_security_headers(&spec, "spec");
}
