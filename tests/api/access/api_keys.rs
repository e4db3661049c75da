//! API keys: the `X-Api-Key` header answers exactly as the Bearer form does; revocation and
//! expiry work at once; unknown, scope-less and born-expired keys are refused.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::Auth;
use crate::world::World;

#[actix_rt::test]
async fn api_keys_answer_alike_in_either_header() {
    let w = World::new().await;
    let (prop_a, prop_b) = (
        format!("/api/v1/properties/{}", w.a),
        format!("/api/v1/properties/{}", w.b),
    );
    let probes: Vec<(&str, Method, &str, Option<Value>, u16)> = vec![
        ("key_read", Method::GET, "/api/v1/customers", None, 200),
        (
            "key_read",
            Method::POST,
            "/api/v1/customers",
            Some(json!({"given_name": "Hdr", "family_name": "Read"})),
            403,
        ),
        ("key_loyalty", Method::GET, "/api/v1/customers", None, 403),
        ("key_read", Method::GET, "/api/v1/staff", None, 403),
        ("key_read", Method::GET, "/api/v1/me", None, 403),
        ("key_read_a", Method::GET, &prop_b, None, 404),
        ("key_read_a", Method::GET, &prop_a, None, 200),
    ];
    for (i, (who, method, path, body, want)) in probes.into_iter().enumerate() {
        let key = w.token(who).await;
        let bearer = w
            .app
            .send(method.clone(), path, Auth::Bearer(&key), body.clone(), &[])
            .await;
        let header = w
            .app
            .send(method.clone(), path, Auth::ApiKeyHeader(&key), body, &[])
            .await;
        assert_eq!(
            bearer.status.as_u16(),
            want,
            "probe {i} {who} {method} {path}: {}",
            bearer.raw
        );
        assert_eq!(
            bearer.status, header.status,
            "probe {i} {method} {path}: bearer {} vs header {}",
            bearer.raw, header.raw
        );
    }
    let made = w
        .app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::ApiKeyHeader(&w.token("key_write").await),
            Some(json!({"given_name": "Hdr", "family_name": "Write", "email": "hdr.write@example.com"})),
            &[],
        )
        .await;
    made.expect(201);
}

#[actix_rt::test]
async fn revoked_and_unknown_keys_are_refused_in_either_header() {
    let w = World::new().await;
    let k = w
        .app
        .post(
            "/api/v1/api-keys",
            &w.admin,
            json!({"name": "to revoke", "scopes": ["customers:read"]}),
        )
        .await;
    k.expect(201);
    let id = k.body["id"].as_str().unwrap().to_string();
    let key = k.body["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ck_"), "{key}");
    let both = |key: String| {
        let app = &w.app;
        async move {
            let bearer = app.get("/api/v1/customers", &key).await;
            let header = app
                .send(Method::GET, "/api/v1/customers", Auth::ApiKeyHeader(&key), None, &[])
                .await;
            (bearer, header)
        }
    };
    let (bearer, header) = both(key.clone()).await;
    bearer.expect(200);
    header.expect(200);
    let listed = w.app.get(&format!("/api/v1/api-keys/{id}"), &w.admin).await;
    assert!(listed.body["last_used_at"].is_string(), "last use is stamped");

    // Revocation works at once, in both forms.
    w.app
        .delete(&format!("/api/v1/api-keys/{id}"), &w.admin)
        .await
        .expect(204);
    let (bearer, header) = both(key).await;
    bearer.problem(401);
    header.problem(401);

    // Unknown keys, well-formed or not.
    for unknown in ["ck_live_0123456789abcdef0123456789abcdef", "ck_live_deadbeef_0000"] {
        let (bearer, header) = both(unknown.to_string()).await;
        bearer.problem(401);
        header.problem(401);
    }
}

#[actix_rt::test]
async fn keys_cannot_be_born_expired_scope_less_or_with_unknown_scopes() {
    let w = World::new().await;
    let before = w.app.count("api_keys");
    let r = w
        .app
        .post(
            "/api/v1/api-keys",
            &w.admin,
            json!({"name": "expired", "scopes": ["customers:read"], "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    r.problem(422);
    assert!(r.fields().iter().any(|f| f == "expires_at"), "{}", r.raw);
    w.app
        .post("/api/v1/api-keys", &w.admin, json!({"name": "no scopes", "scopes": []}))
        .await
        .problem(422);
    w.app
        .post(
            "/api/v1/api-keys",
            &w.admin,
            json!({"name": "bad scope", "scopes": ["everything"]}),
        )
        .await
        .problem(422);
    assert_eq!(w.app.count("api_keys"), before, "nothing stored");
}

#[actix_rt::test]
async fn an_expired_api_key_is_refused() {
    let w = World::new().await;
    let key = w.token("key_read").await;
    let id = w.id("key_read").await;
    w.app.get("/api/v1/customers", &key).await.expect(200);
    use concierge::db::schema::api_keys;
    use diesel::prelude::*;
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
    diesel::update(api_keys::table.find(&id))
        .set(api_keys::expires_at.eq(Some(past)))
        .execute(&mut **w.app.conn())
        .unwrap();
    // Changed behind the server's back: seen once the authentication cache's entry (1 s) ages.
    actix_rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.app.get("/api/v1/customers", &key).await.problem(401);
}
