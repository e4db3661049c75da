//! Webhook endpoints: registration with a secret shown once, validation, access within the
//! caller's properties, rotation, and the ping.

use awc::http::Method;
use serde_json::json;

use super::receiver::Receiver;
use crate::world::World;

#[actix_rt::test]
async fn an_endpoint_shows_its_secret_once_and_refuses_bad_input() {
    let w = World::new().await;
    let admin = w.token("admin").await;
    let r = w
        .app
        .post(
            "/api/v1/webhook-endpoints",
            &admin,
            json!({"url": "https://pms.example.com/hook", "types": ["ticket.*", "loyalty.entry_posted"]}),
        )
        .await;
    r.expect(201);
    let secret = r.body["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() >= 6 + 40);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["enabled"], true);
    assert_eq!(r.body["types"], json!(["ticket.*", "loyalty.entry_posted"]));
    let again = w.app.get(&format!("/api/v1/webhook-endpoints/{id}"), &admin).await;
    again.expect(200);
    assert!(again.body.get("secret").is_none() && !again.raw.contains(secret));
    let listed = w.app.get("/api/v1/webhook-endpoints", &admin).await;
    assert!(!listed.raw.contains("whsec_"));
    assert_eq!(w.app.count("audit_log WHERE action = 'webhook_endpoint.created'"), 1);
    let before = w.app.count("webhook_endpoints");
    for (body, field) in [
        (json!({"url": "http://pms.example.com/hook"}), "url"),
        (json!({"url": "ftp://pms.example.com/"}), "url"),
        (json!({"url": "https://u:p@pms.example.com/"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "https://x.example.com", "types": ["Bad Type"]}), "types"),
        (
            json!({"url": "https://x.example.com", "property_ids": ["nope"]}),
            "property_ids",
        ),
    ] {
        let r = w.app.post("/api/v1/webhook-endpoints", &admin, body.clone()).await;
        r.problem(422);
        assert_eq!(r.fields(), [field], "{body}");
    }
    w.app
        .post(
            "/api/v1/webhook-endpoints",
            &admin,
            json!({"url": "https://x.example.com", "secret": "mine"}),
        )
        .await
        .problem(422);
    assert_eq!(
        w.app.count("webhook_endpoints"),
        before,
        "a refused request changes nothing"
    );
    let p = w
        .app
        .patch(
            &format!("/api/v1/webhook-endpoints/{id}"),
            &admin,
            json!({"enabled": false}),
        )
        .await;
    p.expect(200);
    assert_eq!(
        (p.body["enabled"].clone(), p.body["disabled_reason"].clone()),
        (json!(false), json!("manual"))
    );
    w.app
        .delete(&format!("/api/v1/webhook-endpoints/{id}"), &admin)
        .await
        .expect(204);
    w.app
        .get(&format!("/api/v1/webhook-endpoints/{id}"), &admin)
        .await
        .problem(404);
}

#[actix_rt::test]
async fn callers_manage_endpoints_only_within_their_properties() {
    let w = World::new().await;
    let admin = w.token("admin").await;
    let key_a = w.app.api_key(&admin, &["webhooks:manage"], &[&w.a]).await;
    let url = "https://hooks.example.com/a";
    // A key restricted to A may not receive every property's events, nor B's.
    w.app
        .post("/api/v1/webhook-endpoints", &key_a, json!({"url": url}))
        .await
        .problem(403);
    w.app
        .post(
            "/api/v1/webhook-endpoints",
            &key_a,
            json!({"url": url, "property_ids": [w.b]}),
        )
        .await
        .problem(403);
    let mine = w
        .app
        .post(
            "/api/v1/webhook-endpoints",
            &key_a,
            json!({"url": url, "property_ids": [w.a]}),
        )
        .await;
    mine.expect(201);
    let group = w
        .app
        .post("/api/v1/webhook-endpoints", &admin, json!({"url": url}))
        .await;
    group.expect(201);
    let gid = group.body["id"].as_str().unwrap();
    // The group-wide endpoint is not the key's: 404 on every path, absent from its list.
    for (m, path) in [
        (Method::GET, format!("/api/v1/webhook-endpoints/{gid}")),
        (Method::DELETE, format!("/api/v1/webhook-endpoints/{gid}")),
        (Method::POST, format!("/api/v1/webhook-endpoints/{gid}/rotate-secret")),
        (Method::GET, format!("/api/v1/webhook-endpoints/{gid}/deliveries")),
    ] {
        let r = w
            .app
            .send(m, &path, crate::support::Auth::Bearer(&key_a), None, &[])
            .await;
        r.problem(404);
    }
    let list = w.app.get("/api/v1/webhook-endpoints", &key_a).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    let mid = mine.body["id"].as_str().unwrap();
    w.app
        .patch(
            &format!("/api/v1/webhook-endpoints/{mid}"),
            &key_a,
            json!({"property_ids": []}),
        )
        .await
        .problem(403);
    for who in ["manager_all", "agent", "analyst_all", "guest", "key_read"] {
        w.call(who, Method::GET, "/api/v1/webhook-endpoints", None)
            .await
            .problem(403);
        w.call(
            who,
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(json!({"url": url})),
        )
        .await
        .problem(403);
    }
}

#[actix_rt::test]
async fn a_rotation_signs_with_both_secrets_and_the_ping_reports_the_answer() {
    let w = World::new().await;
    let admin = w.token("admin").await;
    let rx = Receiver::start();
    let r = w
        .app
        .post("/api/v1/webhook-endpoints", &admin, json!({"url": rx.url}))
        .await;
    r.expect(201);
    let (id, old) = (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["secret"].as_str().unwrap().to_string(),
    );
    let ping = w
        .app
        .post(&format!("/api/v1/webhook-endpoints/{id}/test"), &admin, json!({}))
        .await;
    ping.expect(200);
    assert_eq!(
        (ping.body["ok"].clone(), ping.body["status"].clone()),
        (json!(true), json!(200))
    );
    let got = rx.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["type"], "ping");
    let ts: i64 = got[0].timestamp.parse().unwrap();
    let sig = |secret: &str| concierge::features::events::rules::sign(secret, &got[0].id, ts, &got[0].body).unwrap();
    assert_eq!(got[0].signature, sig(&old));

    let rot = w
        .app
        .post(
            &format!("/api/v1/webhook-endpoints/{id}/rotate-secret"),
            &admin,
            json!({}),
        )
        .await;
    rot.expect(200);
    let new = rot.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(rot.body["previous_secret_expires_at"].is_string());
    rx.answer(503);
    let ping = w
        .app
        .post(&format!("/api/v1/webhook-endpoints/{id}/test"), &admin, json!({}))
        .await;
    assert_eq!(
        (ping.body["ok"].clone(), ping.body["status"].clone()),
        (json!(false), json!(503))
    );
    assert_eq!(ping.body["response"], "answered 503");
    let got = rx.received();
    let last = &got[1];
    let ts: i64 = last.timestamp.parse().unwrap();
    let sign = |s: &str| concierge::features::events::rules::sign(s, &last.id, ts, &last.body).unwrap();
    assert_eq!(last.signature, format!("{} {}", sign(&new), sign(&old)));
}
