//! Forged, tampered and malformed access tokens: each answers 401 problem+json, while the same
//! claims correctly signed answer 200 (so every refusal is about the one thing changed).

use awc::http::Method;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::support::{Auth, TestApp, ADMIN_EMAIL, JWT_SECRET};

const PROBE: &str = "/api/v1/customers";

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn sign(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).expect("sign")
}

fn hs256(claims: &Value) -> String {
    sign(Algorithm::HS256, JWT_SECRET, claims)
}

/// A token with a hand-written header, signed the HS256 way with the real secret.
fn hand_signed(header: &Value, claims: &Value) -> String {
    let signing_input = format!("{}.{}", b64(header), b64(claims));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(JWT_SECRET).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn claims(sub: &str, role: &str, iat: i64, exp: i64) -> Value {
    json!({
        "sub": sub, "role": role, "iss": "concierge", "aud": "concierge-api",
        "iat": iat, "exp": exp, "jti": uuid::Uuid::now_v7().to_string(),
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn bootstrap_admin_id(app: &TestApp) -> String {
    let admin = app.admin_token().await;
    let staff = app.get("/api/v1/staff", &admin).await;
    staff.expect(200);
    staff
        .body
        .as_array()
        .expect("staff list")
        .iter()
        .find(|s| s["email"] == ADMIN_EMAIL)
        .expect("bootstrap admin listed")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[track_caller]
fn refused(name: &str, r: &crate::support::Resp) {
    assert_eq!(r.status.as_u16(), 401, "{name}: {}", r.raw);
    assert!(
        r.content_type().starts_with("application/problem+json"),
        "{name}: content type {}",
        r.content_type()
    );
    assert_eq!(r.body["status"], 401, "{name}: {}", r.raw);
    assert!(
        r.body["type"].is_string() && r.body["title"].is_string(),
        "{name}: {}",
        r.raw
    );
}

#[actix_rt::test]
async fn forged_and_malformed_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let admin_id = bootstrap_admin_id(&app).await;
    let t = now();
    let good = claims(&admin_id, "admin", t, t + 600);

    // The control: the real claims, correctly signed, by hand and by the library.
    app.get(PROBE, &hs256(&good)).await.expect(200);
    app.get(PROBE, &hand_signed(&json!({"alg": "HS256", "typ": "JWT"}), &good))
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
    let mut expired = good.clone();
    expired["exp"] = json!(t - 3600);
    expired["iat"] = json!(t - 7200);

    let cases: Vec<(&str, String)> = vec![
        ("expired", hs256(&expired)),
        (
            "alg none",
            format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&good)),
        ),
        (
            "signed with another secret",
            sign(Algorithm::HS256, b"another-secret-another-secret-another!", &good),
        ),
        ("HS512 with the right secret", sign(Algorithm::HS512, JWT_SECRET, &good)),
        (
            "RS256 header, HMAC signature",
            hand_signed(&json!({"alg": "RS256", "typ": "JWT"}), &good),
        ),
        ("missing aud", hs256(&without("aud"))),
        ("missing iss", hs256(&without("iss"))),
        ("wrong aud", hs256(&with("aud", json!("someone-else")))),
        ("wrong iss", hs256(&with("iss", json!("evil-issuer")))),
        ("missing exp", hs256(&without("exp"))),
        ("missing sub", hs256(&without("sub"))),
        ("garbage", "abc.def.ghi".to_string()),
    ];
    for (name, token) in &cases {
        let r = app.get(PROBE, token).await;
        refused(name, &r);
    }

    // Malformed Authorization headers.
    for (name, value) in [("empty bearer", "Bearer "), ("basic", "Basic xyz")] {
        let r = app
            .send(Method::GET, PROBE, Auth::None, None, &[("authorization", value)])
            .await;
        refused(name, &r);
    }
    // And no credentials at all.
    refused("none", &app.send(Method::GET, PROBE, Auth::None, None, &[]).await);

    // The refusals did not disturb the good token.
    app.get(PROBE, &hs256(&good)).await.expect(200);
}

#[actix_rt::test]
async fn role_and_subject_claims_must_match_the_database() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (agent_id, agent) = app.staff_token(&admin, "agent", &[]).await;
    let t = now();

    // A customer token for a customer that does not exist.
    let ghost = claims(&uuid::Uuid::now_v7().to_string(), "customer", t, t + 600);
    refused(
        "customer token, no such customer",
        &app.get(PROBE, &hs256(&ghost)).await,
    );
    refused("customer token on /me", &app.get("/api/v1/me", &hs256(&ghost)).await);

    // A properly signed token claiming admin for a user whose role is agent.
    let escalated = claims(&agent_id, "admin", t, t + 600);
    refused("agent claiming admin", &app.get(PROBE, &hs256(&escalated)).await);
    refused(
        "agent claiming admin on /staff",
        &app.get("/api/v1/staff", &hs256(&escalated)).await,
    );

    // The same user with their true role is accepted: the refusal was about the role claim.
    app.get(PROBE, &hs256(&claims(&agent_id, "agent", t, t + 600)))
        .await
        .expect(200);
    app.get(PROBE, &agent).await.expect(200);
}
