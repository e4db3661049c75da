//! The feed over HTTP: cursor walks, type filters, property restriction, bad input.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, TestApp};
use crate::world::World;

/// Follows the feed from `cursor` until it has caught up; the events and the last cursor.
pub async fn drain(app: &TestApp, token: &str, query: &str, cursor: &str) -> (Vec<Value>, String) {
    super::settle(app).await;
    drain_now(app, token, query, cursor).await
}

/// Like `drain`, without waiting for the horizon first (what a consumer polling sees).
pub async fn drain_now(app: &TestApp, token: &str, query: &str, cursor: &str) -> (Vec<Value>, String) {
    let (mut out, mut cursor) = (Vec::new(), cursor.to_string());
    loop {
        let r = app.get(&format!("/api/v1/events?after={cursor}&{query}"), token).await;
        r.expect(200);
        out.extend(r.body["data"].as_array().unwrap().iter().cloned());
        cursor = r.body["next_cursor"].as_str().unwrap().to_string();
        if r.body["has_more"] == false {
            return (out, cursor);
        }
    }
}

fn ids(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

#[actix_rt::test]
async fn the_feed_walks_every_event_once_and_filters_by_type() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for name in ["Ana", "Bo", "Cy"] {
        app.create_customer(&admin, json!({"given_name": name, "family_name": "Feed"}))
            .await;
    }
    let (all, cursor) = drain(&app, &admin, "limit=2", "").await;
    let stored: Vec<String> = {
        use concierge::db::schema::events as e;
        use diesel::prelude::*;
        let mut conn = app.conn();
        let c: &mut concierge::db::DbConnection = &mut conn;
        e::table
            .order((e::commit_order, e::position))
            .select(e::id)
            .load(c)
            .unwrap()
    };
    assert_eq!(ids(&all), stored, "every event once, in feed order");
    let created: Vec<&Value> = all.iter().filter(|e| e["type"] == "customer.created").collect();
    assert_eq!(created.len(), 3);
    let e = created[0];
    assert_eq!(e["aggregate"]["type"], "customer");
    assert_eq!(e["sequence"], 1);
    assert!(e["occurred_at"].is_string() && e["data"].is_object());
    assert!(
        !serde_json::to_string(&all).unwrap().contains("Ana"),
        "no personal data"
    );

    let (only, _) = drain(&app, &admin, "types=customer.*", "").await;
    assert!(
        !only.is_empty()
            && only
                .iter()
                .all(|e| e["type"].as_str().unwrap().starts_with("customer."))
    );
    let (none, _) = drain(&app, &admin, "types=ticket.*,loyalty.entry_posted", "").await;
    assert!(none.is_empty());

    // Caught up: the same cursor later brings what happened since, and nothing before.
    let r = app.get(&format!("/api/v1/events?after={cursor}"), &admin).await;
    assert_eq!(r.body["data"], json!([]));
    assert_eq!(r.body["next_cursor"], cursor.as_str());
    app.create_customer(&admin, json!({"given_name": "Di", "family_name": "Feed"}))
        .await;
    let (new, _) = drain(&app, &admin, "", &cursor).await;
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["type"], "customer.created");
}

#[actix_rt::test]
async fn bad_cursors_types_and_limits_are_422_problems() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (query, field) in [
        ("after=not-a-cursor", "after"),
        ("types=Ticket.*", "types"),
        ("types=a%3Bdrop", "types"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ] {
        let r = app.get(&format!("/api/v1/events?{query}"), &admin).await;
        r.problem(422);
        assert_eq!(r.fields(), [field], "{query}");
    }
}

#[actix_rt::test]
async fn a_restricted_key_reads_only_its_properties_events() {
    let w = World::new().await;
    let admin = w.token("admin").await;
    let guest = w.customer(json!({"given_name": "Eve", "family_name": "Scope"})).await;
    let (a, b) = (w.a.clone(), w.b.clone());
    for (prop, conf) in [(&a, "FA-1"), (&b, "FB-1")] {
        let stay = json!({"property_id": prop, "confirmation_number": conf, "customer_id": guest,
            "check_in": "2026-11-20", "check_out": "2026-11-22", "status": "reserved"});
        let r = w
            .app
            .send(
                Method::POST,
                "/api/v1/stays",
                Auth::Bearer(&admin),
                Some(stay),
                &[("Idempotency-Key", conf)],
            )
            .await;
        assert!(r.status.is_success(), "{}", r.raw);
    }
    let key_a = w.app.api_key(&admin, &["events:read"], &[&a]).await;
    let (seen, _) = drain(&w.app, &key_a, "", "").await;
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|e| e["property_id"] == a.as_str()), "{seen:?}");
    let (everything, _) = drain(&w.app, &admin, "", "").await;
    assert!(everything.iter().any(|e| e["property_id"] == b.as_str()));
    assert!(everything.iter().any(|e| e["property_id"].is_null()));
    for who in ["agent", "manager_all", "analyst_all", "key_read", "guest"] {
        w.call(who, Method::GET, "/api/v1/events", None).await.problem(403);
    }
    w.call("none", Method::GET, "/api/v1/events", None).await.problem(401);
}

#[actix_rt::test]
async fn retention_is_data_and_the_job_prunes_older_events() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.create_customer(&admin, json!({"given_name": "Old", "family_name": "Event"}))
        .await;
    let r = app.get("/api/v1/event-settings", &admin).await;
    assert_eq!(r.body["retention_days"], 90);
    app.put("/api/v1/event-settings", &admin, json!({"retention_days": 3}))
        .await
        .problem(422);
    app.put("/api/v1/event-settings", &admin, json!({"retention_days": 30, "x": 1}))
        .await
        .problem(422);
    app.put("/api/v1/event-settings", &admin, json!({"retention_days": 30}))
        .await
        .expect(200);
    let before = app.count("events");
    let now = chrono::Utc::now().naive_utc();
    let r = concierge::app::jobs::run_once(&app.state.pool, now + chrono::Duration::days(29)).unwrap();
    assert_eq!(r.events_pruned, 0);
    assert_eq!(app.count("events"), before);
    let r = concierge::app::jobs::run_once(&app.state.pool, now + chrono::Duration::days(31)).unwrap();
    assert_eq!(r.events_pruned as i64, before);
    assert_eq!(app.count("events"), 0);
    let (left, _) = drain(&app, &admin, "", "").await;
    assert!(left.is_empty());
}

#[actix_rt::test]
async fn the_spec_describes_every_event_type_as_a_webhook_payload() {
    let app = TestApp::spawn().await;
    let r = app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await;
    let hooks = r.body["webhooks"].as_object().unwrap();
    let types = concierge::db::event_types::EVENT_TYPES;
    assert_eq!(hooks.len(), types.len() + 1, "every type, and the ping");
    for t in types {
        let op = &hooks[t.name]["post"];
        let headers: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(headers, ["webhook-id", "webhook-timestamp", "webhook-signature"]);
        let reference = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap();
        let schema = &r.body["components"]["schemas"][reference.rsplit('/').next().unwrap()];
        assert_eq!(schema["allOf"][1]["properties"]["type"]["const"], t.name);
        assert!(schema["allOf"][0]["$ref"] == "#/components/schemas/Event");
    }
}
