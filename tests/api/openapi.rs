use awc::http::Method;

use crate::support::{Auth, TestApp};

#[actix_rt::test]
async fn served_spec_equals_the_committed_file() {
    let app = TestApp::spawn().await;
    let r = app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await;
    r.expect(200);
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    assert!(
        r.body == committed,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
    assert_eq!(r.body["openapi"], "3.1.0");
}

#[actix_rt::test]
async fn spec_declares_security_and_problem_responses() {
    let app = TestApp::spawn().await;
    let spec = app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await
        .body
        .clone();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["name"], "X-Api-Key");
    let mut ops = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops += 1;
            let public = path.starts_with("/health")
                || path.starts_with("/api/v1/auth/")
                || path.starts_with("/api/v1/survey-links/");
            let security = op["security"].as_array().cloned().unwrap_or_default();
            let secured = security.iter().any(|s| s.as_object().is_some_and(|o| !o.is_empty()));
            assert_eq!(secured, !public, "{method} {path}: security requirement");
            if secured {
                assert!(
                    op["responses"]["401"].is_object() && op["responses"]["403"].is_object(),
                    "{method} {path}"
                );
                assert_eq!(
                    op["responses"]["401"]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(op["responses"]["422"].is_object(), "{method} {path}: 422");
            }
        }
    }
    assert!(ops >= 35, "only {ops} operations documented");
}

#[actix_rt::test]
async fn swagger_ui_is_served_offline() {
    let app = TestApp::spawn().await;
    let r = app.send(Method::GET, "/docs/", Auth::None, None, &[]).await;
    r.expect(200);
    assert!(r.raw.contains("swagger"), "not the Swagger UI page");
    let r = app
        .send(Method::GET, "/docs/swagger-ui-bundle.js", Auth::None, None, &[])
        .await;
    r.expect(200);
    assert!(r.raw.len() > 100_000, "bundle not vendored");
    // `/docs` redirects to `/docs/` (the client follows it).
    let r = app.send(Method::GET, "/docs", Auth::None, None, &[]).await;
    r.expect(200);
    assert!(r.raw.contains("swagger"));
}

/// Every documented operation, driven from the served spec (so a new route cannot skip it):
/// without credentials → 401; with a guest's token, anything outside the guest's own surface
/// is refused (never a 2xx) and nothing is written.
#[actix_rt::test]
async fn every_documented_operation_refuses_anonymous_callers_and_guests() {
    let app = TestApp::spawn().await;
    let spec = app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await
        .body
        .clone();
    let (_, guest) = app.guest("matrix.guest@example.com").await;
    // The guest's own surface: their profile, loyalty and redemptions, and what the app shows.
    let guest_may = |method: &str, path: &str| {
        path.starts_with("/api/v1/me")
            || (method == "get"
                && (path == "/api/v1/rewards"
                    || path == "/api/v1/loyalty/programme"
                    || path == "/api/v1/ticket-categories"))
    };
    let audit_before = app.count("audit_log");
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s.as_object().is_some_and(|o| !o.is_empty())));
            if !secured {
                continue;
            }
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        "0190aaaa-0000-7000-8000-000000000000"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m != Method::GET && m != Method::DELETE).then(|| serde_json::json!({}));
            let key = [("idempotency-key", "matrix-key")];
            let anon = app.send(m.clone(), &concrete, Auth::None, body.clone(), &key).await;
            assert_eq!(
                anon.status.as_u16(),
                401,
                "{method} {path} without credentials: {}",
                anon.raw
            );
            if !guest_may(method, path) {
                let g = app.send(m.clone(), &concrete, Auth::Bearer(&guest), body, &key).await;
                let s = g.status.as_u16();
                assert!(
                    [403, 404, 422, 428].contains(&s),
                    "{method} {path} as a guest answered {s}: {}",
                    g.raw
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} secured operations");
    assert_eq!(app.count("audit_log"), audit_before, "refused calls wrote nothing");
}
