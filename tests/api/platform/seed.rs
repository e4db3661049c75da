//! `concierge seed-demo` on the real database: the printed logins work, the demo guest has
//! earned points through the stay pipeline, and the reward catalogue is there.

use awc::http::Method;
use serde_json::json;

use concierge::app::seed::DEMO_STAFF_PASSWORD;

use crate::support::{Auth, TestApp};

#[actix_rt::test]
async fn seed_demo_loads_a_usable_demo_group() {
    let app = TestApp::spawn().await;
    let printed = {
        let mut conn = app.conn();
        concierge::app::seed::seed_demo(&mut conn, &app.state.cipher).expect("seed-demo")
    };
    let guest_email = printed
        .lines()
        .find_map(|l| l.strip_prefix("Guest app login: "))
        .and_then(|l| l.split(" / ").next())
        .expect("the guest login is printed")
        .to_string();

    // Each printed staff login works.
    for (email, password) in [
        ("admin@demo.concierge", DEMO_STAFF_PASSWORD),
        ("manager@demo.concierge", DEMO_STAFF_PASSWORD),
        ("agent@demo.concierge", DEMO_STAFF_PASSWORD),
        ("analyst@demo.concierge", DEMO_STAFF_PASSWORD),
    ] {
        assert!(printed.contains(email), "{email} is printed");
        app.login(email, password).await;
    }
    let manager = app.login("manager@demo.concierge", DEMO_STAFF_PASSWORD).await;
    let page = app.get("/api/v1/customers?limit=100", &manager).await;
    page.expect(200);
    assert_eq!(page.body["data"].as_array().unwrap().len(), 50, "50 demo guests");

    // The demo guest logs in to the app and has points from a checked-out stay.
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/customer/login",
            Auth::None,
            Some(json!({"email": guest_email, "password": "demo-guest-password"})),
            &[],
        )
        .await;
    r.expect(200);
    let guest = r.body["access_token"].as_str().unwrap().to_string();
    let summary = app.get("/api/v1/me/loyalty", &guest).await;
    summary.expect(200);
    assert!(summary.body["balance"].as_i64().unwrap() > 0, "{}", summary.raw);
    let entries = app.get("/api/v1/me/loyalty/entries", &guest).await;
    entries.expect(200);
    assert_eq!(entries.body["data"][0]["kind"], "earn", "{}", entries.raw);

    let rewards = app.get("/api/v1/rewards", &guest).await;
    rewards.expect(200);
    let codes: Vec<&str> = rewards
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"FREE-NIGHT"), "{codes:?}");
    assert_eq!(codes.len(), 4);
    // The demo guest follows their tickets in the app; the Shanghai agent owns them.
    let mine = app.get("/api/v1/me/tickets", &guest).await;
    mine.expect(200);
    let states: Vec<&str> = mine.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["resolved", "investigating", "new"]);
    let agent = app.login("agent@demo.concierge", DEMO_STAFF_PASSWORD).await;
    let queue = app.get("/api/v1/tickets", &agent).await;
    let kinds: Vec<&str> = queue.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "complaint").count(), 3);
    assert_eq!(
        kinds.iter().filter(|k| **k == "feedback").count(),
        2,
        "two detractors opened feedback tickets"
    );
    // Survey answers: twelve at Shanghai, NPS (7 promoters − 2 detractors) / 12.
    let scores = app.get("/api/v1/survey-scores", &manager).await;
    scores.expect(200);
    assert_eq!(scores.body["responses"], 12);
    assert_eq!(scores.body["nps"], 41.7);
    // The ledger invariant holds across the whole seeded group.
    assert_eq!(app.count("ledger_entries"), 50);
}
