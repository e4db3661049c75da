//! Forged and malformed access tokens are refused with 401.

use awc::http::Method;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::support::{Auth, TestApp, ADMIN_EMAIL, JWT_SECRET};

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn sign(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[actix_rt::test]
async fn forged_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let staff = app.get("/api/v1/staff", &admin).await;
    let admin_id = staff
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == ADMIN_EMAIL)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let now = chrono::Utc::now().timestamp();
    let good = json!({"sub": admin_id, "role": "admin", "iss": "concierge", "aud": "concierge-api", "iat": now, "exp": now + 600, "jti": "t"});
    // The well-formed token is accepted, so every refusal below is about what was changed.
    app.get("/api/v1/customers", &sign(Algorithm::HS256, JWT_SECRET, &good))
        .await
        .expect(200);

    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let unsigned = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&good));
    let rs256_header = {
        let head = b64(&json!({"alg": "RS256", "typ": "JWT"}));
        let body = b64(&good);
        let valid = sign(Algorithm::HS256, JWT_SECRET, &good);
        format!("{head}.{body}.{}", valid.rsplit('.').next().unwrap())
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "expired",
            sign(Algorithm::HS256, JWT_SECRET, &with("exp", json!(now - 3600))),
        ),
        ("alg none", unsigned),
        (
            "other key",
            sign(Algorithm::HS256, b"another-secret-another-secret-another", &good),
        ),
        ("other algorithm HS512", sign(Algorithm::HS512, JWT_SECRET, &good)),
        ("RS256 header", rs256_header),
        ("missing aud", sign(Algorithm::HS256, JWT_SECRET, &without("aud"))),
        ("missing iss", sign(Algorithm::HS256, JWT_SECRET, &without("iss"))),
        ("missing exp", sign(Algorithm::HS256, JWT_SECRET, &without("exp"))),
        ("missing iat", sign(Algorithm::HS256, JWT_SECRET, &without("iat"))),
        ("missing sub", sign(Algorithm::HS256, JWT_SECRET, &without("sub"))),
        (
            "wrong aud",
            sign(Algorithm::HS256, JWT_SECRET, &with("aud", json!("someone-else"))),
        ),
        (
            "wrong iss",
            sign(Algorithm::HS256, JWT_SECRET, &with("iss", json!("evil"))),
        ),
        (
            "unknown user",
            sign(
                Algorithm::HS256,
                JWT_SECRET,
                &with("sub", json!("01890000-0000-7000-8000-000000000000")),
            ),
        ),
        ("garbage", "abc.def.ghi".to_string()),
    ];
    for (name, token) in cases {
        let r = app.get("/api/v1/customers", &token).await;
        assert_eq!(r.status.as_u16(), 401, "{name}: {}", r.raw);
        r.problem(401);
    }
    for header in ["Bearer ", "Basic YWRtaW46YWRtaW4=", "Token abc"] {
        let r = app
            .send(
                Method::GET,
                "/api/v1/customers",
                Auth::None,
                None,
                &[("authorization", header)],
            )
            .await;
        assert_eq!(r.status.as_u16(), 401, "{header}");
    }
}

#[actix_rt::test]
async fn role_claims_cannot_be_escalated() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (agent_id, _) = app.staff_token(&admin, "agent", &[]).await;
    let (guest_id, _) = app.guest("g@example.com").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |sub: &str, role: &str| json!({"sub": sub, "role": role, "iss": "concierge", "aud": "concierge-api", "iat": now, "exp": now + 600, "jti": "x"});
    // An agent's id with an admin role claim: the database role wins, the token is refused.
    app.get(
        "/api/v1/staff",
        &sign(Algorithm::HS256, JWT_SECRET, &claims(&agent_id, "admin")),
    )
    .await
    .problem(401);
    // A guest id with a staff role: no such staff user.
    app.get(
        "/api/v1/customers",
        &sign(Algorithm::HS256, JWT_SECRET, &claims(&guest_id, "admin")),
    )
    .await
    .problem(401);
    // A customer token for a customer without an account.
    app.get(
        "/api/v1/me",
        &sign(
            Algorithm::HS256,
            JWT_SECRET,
            &claims("01890000-0000-7000-8000-000000000000", "customer"),
        ),
    )
    .await
    .problem(401);
}
