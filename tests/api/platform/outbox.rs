//! The outbox (SPEC §8): a committed change has its events, a refused one has none; sequences
//! count per aggregate; reactions run in the same transaction.

use serde_json::json;

use crate::support::{Auth, TestApp};

#[actix_rt::test]
async fn a_check_out_writes_its_events_and_a_refused_push_writes_none() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "EVT-1").await;
    let guest = app
        .create_customer(&admin, json!({"given_name": "Ada", "family_name": "Lo"}))
        .await;
    let key = app.api_key(&admin, &["stays:write"], &[&prop]).await;
    let before = app.events().len();
    let stay = json!({"property_id": prop, "confirmation_number": "C-1", "customer_id": guest["id"],
        "check_in": "2026-11-20", "check_out": "2026-11-22", "status": "checked_out"});
    let bad = json!({"property_id": prop, "confirmation_number": "C-2", "customer_id": guest["id"],
        "check_in": "2026-11-22", "check_out": "2026-11-20"});
    app.send(
        awc::http::Method::POST,
        "/api/v1/stays",
        Auth::Bearer(&key),
        Some(bad),
        &[("Idempotency-Key", "evt-bad")],
    )
    .await
    .expect(422);
    assert_eq!(app.events().len(), before, "a refused request leaves no event");
    let r = app
        .send(
            awc::http::Method::POST,
            "/api/v1/stays",
            Auth::Bearer(&key),
            Some(stay),
            &[("Idempotency-Key", "evt-1")],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let id = r.body["id"].as_str().unwrap().to_string();
    let mine: Vec<_> = app.events().into_iter().filter(|e| e.aggregate_id == id).collect();
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["stay.upserted", "stay.checked_out"]);
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[1].property_id.as_deref(), Some(prop.as_str()));
    assert_eq!(mine[1].data["customer_id"], guest["id"]);
    let raw = serde_json::to_string(&mine.iter().map(|e| &e.data).collect::<Vec<_>>()).unwrap();
    assert!(
        !raw.contains("Ada") && !raw.contains("C-1"),
        "no personal data in events: {raw}"
    );
}
