use awc::http::Method;
use serde_json::json;

use crate::support::{Auth, TestApp};

#[actix_rt::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/customers",
            Some(&admin),
            "application/json",
            b"{\"given_name\": ".to_vec(),
        )
        .await;
    r.problem(400);
    assert_eq!(app.count("customers"), 0);
}

#[actix_rt::test]
async fn wrong_content_type_is_a_415_problem() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/customers",
            Some(&admin),
            "text/plain",
            b"given_name=Wei".to_vec(),
        )
        .await;
    r.problem(415);
}

#[actix_rt::test]
async fn wrong_types_and_missing_fields_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let r = app
        .post("/api/v1/customers", &admin, json!({"given_name": "Wei"}))
        .await;
    r.problem(422);
    assert_eq!(r.fields(), vec!["family_name"]);
    let r = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"given_name": "Wei", "family_name": 5}),
        )
        .await;
    r.problem(422);
    let r = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"given_name": "Wei", "family_name": "Z", "gender": "robot"}),
        )
        .await;
    r.problem(422);
}

#[actix_rt::test]
async fn oversized_body_is_a_413_problem() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let big = "x".repeat(300 * 1024);
    let r = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"given_name": big, "family_name": "Z"}),
        )
        .await;
    r.problem(413);
}

#[actix_rt::test]
async fn unknown_route_is_404_and_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.get("/api/v1/nothing-here", &admin).await.problem(404);
    app.send(Method::GET, "/definitely/not", Auth::None, None, &[])
        .await
        .problem(404);
    let r = app.delete("/api/v1/customers", &admin).await;
    r.problem(405);
    assert_eq!(r.header("allow").unwrap(), "GET, POST");
    let r = app.send(Method::PUT, "/api/v1/auth/login", Auth::None, None, &[]).await;
    r.problem(405);
    assert_eq!(r.header("allow").unwrap(), "POST");
}

#[actix_rt::test]
async fn bad_query_parameters_are_422() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.get("/api/v1/customers?limit=abc", &admin).await.problem(422);
    let r = app.get("/api/v1/customers?limit=500", &admin).await;
    r.problem(422);
    assert_eq!(r.fields(), vec!["limit"]);
    app.get("/api/v1/customers?cursor=not-a-cursor", &admin)
        .await
        .problem(422);
    app.get("/api/v1/customers?grade=emperor", &admin).await.problem(422);
    app.get("/api/v1/customers?sort=name", &admin).await.problem(422);
}

#[actix_rt::test]
async fn missing_credentials_are_401_with_www_authenticate() {
    let app = TestApp::spawn().await;
    let r = app.send(Method::GET, "/api/v1/customers", Auth::None, None, &[]).await;
    r.problem(401);
    assert_eq!(r.header("www-authenticate").unwrap(), "Bearer");
}

#[actix_rt::test]
async fn unknown_ids_are_404_problems() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.get("/api/v1/customers/01890000-0000-7000-8000-000000000000", &admin)
        .await
        .problem(404);
    app.get("/api/v1/properties/nope", &admin).await.problem(404);
    app.get("/api/v1/staff/nope", &admin).await.problem(404);
    app.get("/api/v1/api-keys/nope", &admin).await.problem(404);
    app.patch("/api/v1/customers/nope", &admin, json!({"given_name": "A"}))
        .await
        .problem(404);
}

#[actix_rt::test]
async fn every_answer_carries_a_request_id_and_echoes_a_sane_one() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            Method::GET,
            "/health/live",
            Auth::None,
            None,
            &[("x-request-id", "abc-123")],
        )
        .await;
    r.expect(200);
    assert_eq!(r.header("x-request-id").unwrap(), "abc-123");
    let r = app
        .send(
            Method::GET,
            "/health/live",
            Auth::None,
            None,
            &[("x-request-id", "bad id with spaces")],
        )
        .await;
    assert_ne!(r.header("x-request-id").unwrap(), "bad id with spaces");
}

#[actix_rt::test]
async fn health_endpoints() {
    let app = TestApp::spawn().await;
    let live = app.send(Method::GET, "/health/live", Auth::None, None, &[]).await;
    live.expect(200);
    assert_eq!(live.body["status"], "ok");
    app.send(Method::GET, "/health/ready", Auth::None, None, &[])
        .await
        .expect(200);
}

#[actix_rt::test]
async fn ready_fails_with_503_when_the_database_is_unreachable() {
    // A pool pointed at a PostgreSQL port where nothing listens: ready must say 503, not 500.
    use concierge::db::DbTarget;
    use concierge::server::config::Config;
    let app = TestApp::spawn().await;
    let target = DbTarget::Postgres("postgres://nobody@127.0.0.1:1/none?connect_timeout=1".into());
    let pool = r2d2::Pool::builder()
        .max_size(1)
        .min_idle(Some(0))
        .connection_timeout(std::time::Duration::from_millis(500))
        .build_unchecked(concierge::db::ConnectionManager::new(target.clone()));
    let state = concierge::AppState::new(Config::for_database(target), pool);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = actix_web::HttpServer::new(move || concierge::build_app(state.clone()))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
    actix_rt::spawn(server);
    let client = awc::Client::default();
    let mut res = client
        .get(format!("http://127.0.0.1:{port}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], 503);
    let res = client
        .get(format!("http://127.0.0.1:{port}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    drop(app);
}

#[actix_rt::test]
async fn pool_exhaustion_answers_503_with_retry_after() {
    let app = TestApp::spawn_with(1, |_| {}).await;
    let admin = app.admin_token().await;
    // Hold the only connection: the next request waits ~1 s for the pool, then answers 503.
    let held = app.conn();
    let r = app.get("/api/v1/customers", &admin).await;
    r.problem(503);
    let secs: u32 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3).contains(&secs), "a jittered Retry-After of 1–3 s, got {secs}");
    assert!(!r.raw.contains("pool"), "no internals in the body: {}", r.raw);
    drop(held);
    app.get("/api/v1/customers", &admin).await.expect(200);
}

#[actix_rt::test]
async fn callers_over_their_rate_limit_get_429() {
    let app = TestApp::spawn_with(4, |c| c.rate_limit_per_minute = 3).await;
    let admin = app.admin_token().await;
    for _ in 0..3 {
        app.get("/api/v1/properties", &admin).await.expect(200);
    }
    let r = app.get("/api/v1/properties", &admin).await;
    r.problem(429);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // Another caller has their own budget.
    let (_, guest) = app.guest("g@example.com").await;
    app.get("/api/v1/me", &guest).await.expect(200);
}

#[actix_rt::test]
async fn a_json_array_is_not_taken_for_an_object() {
    // serde accepts `[a, b]` as positional struct fields; the API must not.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let c = app
        .create_customer(
            &admin,
            json!({"given_name": "A", "family_name": "B", "job_title": "CTO"}),
        )
        .await;
    let id = c["id"].as_str().unwrap();
    let r = app
        .send_raw(
            Method::PATCH,
            &format!("/api/v1/customers/{id}"),
            Some(&admin),
            "application/json",
            b"[\"X\", null]".to_vec(),
        )
        .await;
    r.problem(422);
    assert_eq!(r.fields(), vec!["body"]);
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/customers",
            Some(&admin),
            "application/json",
            b"   ".to_vec(),
        )
        .await;
    r.problem(400);
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/customers",
            Some(&admin),
            "application/json",
            b"null".to_vec(),
        )
        .await;
    r.problem(422);
    let after = app.get(&format!("/api/v1/customers/{id}"), &admin).await;
    assert_eq!(after.body["given_name"], "A");
    assert_eq!(after.body["version"], 1);
    // `application/merge-patch+json` and charset parameters are JSON too.
    let r = app
        .send_raw(
            Method::PATCH,
            &format!("/api/v1/customers/{id}"),
            Some(&admin),
            "application/merge-patch+json; charset=utf-8",
            b"{\"job_title\":\"CEO\"}".to_vec(),
        )
        .await;
    r.expect(200);
}

/// Racing duplicates pass the service's own "already exists" check together and meet the
/// database's unique index: the 409 must not show the index, constraint or duplicate value.
#[actix_rt::test]
async fn racing_duplicates_are_409_without_database_internals() {
    let app = TestApp::spawn_with(8, |_| {}).await;
    let admin = app.admin_token().await;
    let leaks = [
        "_key",
        "constraint",
        "unique",
        "idx",
        "duplicate key",
        "violates",
        "properties",
        "staff_users",
    ];
    for round in 0..3 {
        let code = format!("RACE{round}");
        let email = format!("race-{round}@test.local");
        let mut tries = Vec::new();
        for i in 0..8 {
            let body = if i % 2 == 0 {
                (
                    "/api/v1/properties",
                    json!({"code": code, "name": "Race", "timezone": "UTC", "currency": "CNY"}),
                )
            } else {
                (
                    "/api/v1/staff",
                    json!({"email": email, "display_name": "Race", "role": "agent", "password": "staff-password-1"}),
                )
            };
            tries.push(app.post(body.0, &admin, body.1));
        }
        let mut created = 0;
        for r in futures_util::future::join_all(tries).await {
            match r.status.as_u16() {
                201 => created += 1,
                409 => {
                    r.problem(409);
                    let raw = r.raw.to_lowercase();
                    for word in leaks {
                        assert!(!raw.contains(word), "409 shows `{word}`: {}", r.raw);
                    }
                }
                other => panic!("unexpected {other}: {}", r.raw),
            }
        }
        assert_eq!(created, 2, "one property and one staff user per round");
    }
}
