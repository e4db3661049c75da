//! Delivery through a receiver outage: the retry schedule walked with an injected clock, order
//! per aggregate, each `webhook-id` processed once, 410 and five days of failure disabling,
//! and `recover` after a day-long outage.

use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Value};

use super::receiver::Receiver;
use crate::support::TestApp;

/// One dispatcher round at `at` (off the test's runtime: it blocks on HTTP to the receiver).
async fn dispatch(app: &TestApp, at: NaiveDateTime) -> concierge::features::events::DispatchReport {
    super::settle(app).await;
    let (pool, cipher) = (app.state.pool.clone(), app.state.cipher.clone());
    actix_web::rt::task::spawn_blocking(move || {
        let agent = concierge::features::events::sender::agent();
        concierge::features::events::dispatch_once(&pool, &cipher, &agent, at).unwrap()
    })
    .await
    .unwrap()
}

async fn deliveries(app: &TestApp, token: &str, endpoint: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/v1/webhook-endpoints/{endpoint}/deliveries?limit=200"),
            token,
        )
        .await;
    r.expect(200);
    r.body["data"].as_array().unwrap().clone()
}

async fn endpoint(app: &TestApp, admin: &str, url: &str) -> (String, String) {
    let r = app
        .post(
            "/api/v1/webhook-endpoints",
            admin,
            json!({"url": url, "types": ["customer.*"]}),
        )
        .await;
    r.expect(201);
    (
        r.body["id"].as_str().unwrap().into(),
        r.body["secret"].as_str().unwrap().into(),
    )
}

/// Two guests, each created then changed twice: six events on two aggregates.
async fn six_events(app: &TestApp, admin: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for name in ["Ola", "Per"] {
        let c = app
            .create_customer(admin, json!({"given_name": name, "family_name": "Hook"}))
            .await;
        let id = c["id"].as_str().unwrap().to_string();
        for (i, title) in ["Chef", "Sommelier"].iter().enumerate() {
            let etag = format!("\"{}\"", i + 1);
            let r = app
                .send(
                    awc::http::Method::PATCH,
                    &format!("/api/v1/customers/{id}"),
                    crate::support::Auth::Bearer(admin),
                    Some(json!({"job_title": title})),
                    &[("if-match", etag.as_str())],
                )
                .await;
            r.expect(200);
        }
        ids.push(id);
    }
    ids
}

fn secs(v: &Value) -> NaiveDateTime {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .naive_utc()
}

#[actix_rt::test]
async fn an_outage_is_retried_on_schedule_and_every_event_arrives_once_in_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let rx = Receiver::start();
    let (ep, secret) = endpoint(&app, &admin, &rx.url).await;
    let guests = six_events(&app, &admin).await;
    rx.answer(500);
    let t0 = chrono::Utc::now().naive_utc();
    let r = dispatch(&app, t0).await;
    assert_eq!(
        (r.queued, r.sent, r.failed),
        (6, 2, 2),
        "one at a time per aggregate: {r:?}"
    );
    let ds = deliveries(&app, &admin, &ep).await;
    let tried: Vec<&Value> = ds.iter().filter(|d| d["attempts"] == 1).collect();
    assert_eq!(tried.len(), 2);
    for d in &tried {
        assert_eq!(
            (d["state"].clone(), d["last_status"].clone(), d["sequence"].clone()),
            (json!("pending"), json!(500), json!(1))
        );
        assert_eq!(d["last_response"], "answered 500");
        let wait = secs(&d["next_attempt_at"]) - t0;
        assert!(
            wait >= Duration::milliseconds(4_000) && wait <= Duration::milliseconds(6_000),
            "{wait}"
        );
    }
    assert_eq!(dispatch(&app, t0 + Duration::seconds(3)).await.sent, 0, "not due yet");
    let r = dispatch(&app, t0 + Duration::seconds(6)).await;
    assert_eq!(r.sent, 2);
    let ds = deliveries(&app, &admin, &ep).await;
    let second = ds.iter().find(|d| d["attempts"] == 2).unwrap();
    let wait = secs(&second["next_attempt_at"]) - (t0 + Duration::seconds(6));
    assert!(
        wait >= Duration::seconds(270) && wait <= Duration::seconds(330),
        "5 min ± 10 %: {wait}"
    );
    rx.answer(200);
    let r = dispatch(&app, t0 + Duration::minutes(6)).await;
    assert_eq!((r.sent, r.succeeded), (6, 6));
    let got = rx.processed();
    assert_eq!(got.len(), 6, "each webhook-id processed once");
    for g in &guests {
        let seqs: Vec<i64> = got
            .iter()
            .map(|r| r.json())
            .filter(|e| e["aggregate"]["id"] == g.as_str())
            .map(|e| e["sequence"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, [1, 2, 3], "in aggregate order");
    }
    for r in rx.received() {
        let ts: i64 = r.timestamp.parse().unwrap();
        assert_eq!(
            r.signature,
            concierge::features::events::rules::sign(&secret, &r.id, ts, &r.body).unwrap()
        );
        assert_eq!(r.json()["id"], r.id.as_str(), "webhook-id is the event id");
    }
    let ids: Vec<&str> = rx.received().iter().filter(|r| r.answered == 500).map(|_| "").collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(
        dispatch(&app, t0 + Duration::hours(1)).await,
        Default::default(),
        "nothing left"
    );
    let ep_now = app.get(&format!("/api/v1/webhook-endpoints/{ep}"), &admin).await;
    assert!(ep_now.body["failing_since"].is_null());
}

#[actix_rt::test]
async fn gone_disables_at_once_and_five_days_of_failure_disable_with_an_event() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let rx = Receiver::start();
    let (gone, _) = endpoint(&app, &admin, &rx.url).await;
    rx.answer(410);
    app.create_customer(&admin, json!({"given_name": "Gus", "family_name": "Gone"}))
        .await;
    let t0 = chrono::Utc::now().naive_utc();
    let r = dispatch(&app, t0).await;
    assert_eq!(r.endpoints_disabled, 1);
    let e = app.get(&format!("/api/v1/webhook-endpoints/{gone}"), &admin).await;
    assert_eq!(
        (e.body["enabled"].clone(), e.body["disabled_reason"].clone()),
        (json!(false), json!("gone"))
    );
    assert_eq!(app.events_of("webhook_endpoint.disabled").len(), 1);
    app.delete(&format!("/api/v1/webhook-endpoints/{gone}"), &admin)
        .await
        .expect(204);

    let (failing, _) = endpoint(&app, &admin, &rx.url).await;
    rx.answer(503);
    rx.retry_after(60);
    app.create_customer(&admin, json!({"given_name": "Fay", "family_name": "Fail"}))
        .await;
    dispatch(&app, t0).await;
    let d = &deliveries(&app, &admin, &failing).await[0];
    assert!(
        secs(&d["next_attempt_at"]) - t0 >= Duration::seconds(59),
        "Retry-After honoured: {d}"
    );
    // Still failing five days later, with a new event: disabled, and the feed says so.
    app.create_customer(&admin, json!({"given_name": "Fox", "family_name": "Fail"}))
        .await;
    let r = dispatch(&app, t0 + Duration::days(5) + Duration::seconds(1)).await;
    assert_eq!(r.endpoints_disabled, 1, "{r:?}");
    let e = app.get(&format!("/api/v1/webhook-endpoints/{failing}"), &admin).await;
    assert_eq!(e.body["disabled_reason"], "failing");
    let disabled = app.events_of("webhook_endpoint.disabled");
    assert_eq!(disabled.last().unwrap().data["reason"], "failing");
    let before = rx.received().len();
    dispatch(&app, t0 + Duration::days(6)).await;
    assert_eq!(rx.received().len(), before, "nothing goes to a disabled endpoint");
}

#[actix_rt::test]
async fn recover_after_a_day_long_outage_sends_what_was_missed_with_the_same_ids() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let rx = Receiver::start();
    let (ep, _) = endpoint(&app, &admin, &rx.url).await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    app.create_customer(&admin, json!({"given_name": "Una", "family_name": "Out"}))
        .await;
    rx.answer(503);
    let t0 = chrono::Utc::now().naive_utc();
    dispatch(&app, t0).await;
    let failed_id = rx.received()[0].id.clone();
    // The admin switches it off during the outage; changes go on meanwhile.
    app.patch(
        &format!("/api/v1/webhook-endpoints/{ep}"),
        &admin,
        json!({"enabled": false}),
    )
    .await
    .expect(200);
    app.create_customer(&admin, json!({"given_name": "Vic", "family_name": "Out"}))
        .await;
    rx.answer(200);
    app.patch(
        &format!("/api/v1/webhook-endpoints/{ep}"),
        &admin,
        json!({"enabled": true}),
    )
    .await
    .expect(200);
    dispatch(&app, t0 + Duration::days(1)).await;
    let got = rx.processed();
    assert_eq!(
        got.len(),
        1,
        "re-enabled: the pending retry goes, the missed event waits for recover"
    );
    assert_eq!(got[0].id, failed_id, "the same webhook-id as the failed attempt");
    let r = app
        .post(
            &format!("/api/v1/webhook-endpoints/{ep}/recover"),
            &admin,
            json!({"since": since}),
        )
        .await;
    r.expect(202);
    assert_eq!(
        (r.body["queued"].clone(), r.body["already_delivered"].clone()),
        (json!(1), json!(1))
    );
    dispatch(&app, t0 + Duration::days(1)).await;
    let got = rx.processed();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json()["type"], "customer.created");
    let again = app
        .post(
            &format!("/api/v1/webhook-endpoints/{ep}/recover"),
            &admin,
            json!({"since": since}),
        )
        .await;
    assert_eq!(
        (again.body["queued"].clone(), again.body["already_delivered"].clone()),
        (json!(0), json!(2))
    );
    let ds = deliveries(&app, &admin, &ep).await;
    assert!(ds.iter().all(|d| d["state"] == "succeeded"));
    assert_eq!(
        ds.iter().filter(|d| d["replay"] == true).count(),
        1,
        "only the recovered one is a replay"
    );
    let one = ds[0]["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/webhook-endpoints/{ep}/deliveries/{one}/retry"),
            &admin,
            json!({}),
        )
        .await;
    r.expect(202);
    assert_eq!(r.body["state"], "pending");
    dispatch(&app, t0 + Duration::days(1)).await;
    assert_eq!(
        rx.received().len(),
        4,
        "the retried delivery went once more (1 failed + 2 + 1)"
    );
    app.post(
        &format!("/api/v1/webhook-endpoints/{ep}/recover"),
        &admin,
        json!({"since": chrono::Utc::now() + chrono::Duration::hours(1)}),
    )
    .await
    .problem(422);
}

#[actix_rt::test]
async fn two_dispatchers_at_once_send_each_event_once() {
    let app = TestApp::spawn_with(8, |_| {}).await;
    let other = app.second_instance().await;
    let admin = app.admin_token().await;
    let rx = Receiver::start();
    endpoint(&app, &admin, &rx.url).await;
    for i in 0..12 {
        app.create_customer(&admin, json!({"given_name": format!("Twin{i}"), "family_name": "Hook"}))
            .await;
    }
    super::settle(&app).await;
    let at = chrono::Utc::now().naive_utc();
    let (a, b) = futures_util::future::join(dispatch(&app, at), dispatch(&other, at)).await;
    assert_eq!(
        a.queued + b.queued,
        12,
        "each event queued by one instance: {a:?} {b:?}"
    );
    assert_eq!(
        a.sent + b.sent,
        12,
        "each delivery claimed by one instance: {a:?} {b:?}"
    );
    let got = rx.received();
    assert_eq!(got.len(), 12, "no event sent twice");
    let ids: std::collections::HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 12);
}
