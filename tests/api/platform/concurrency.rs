//! Concurrent writers of one record: each applies on the state the other left (no lost update),
//! one If-Match applies once, and the record's events get consecutive sequence numbers.

use awc::http::Method;
use serde_json::json;

use crate::support::{Auth, Resp, TestApp};

/// `n` PATCHes of `path` at once, each with its body and the given If-Match (if any).
async fn patches(
    app: &TestApp,
    token: &str,
    path: &str,
    bodies: Vec<serde_json::Value>,
    if_match: Option<&str>,
) -> Vec<Resp> {
    let headers: Vec<(&str, &str)> = if_match.map(|v| ("if-match", v)).into_iter().collect();
    let calls = bodies
        .into_iter()
        .map(|b| app.send(Method::PATCH, path, Auth::Bearer(token), Some(b), &headers));
    futures_util::future::join_all(calls).await
}

fn statuses(answers: &[Resp]) -> (usize, usize) {
    let ok = answers.iter().filter(|a| a.status.as_u16() == 200).count();
    let stale = answers.iter().filter(|a| a.status.as_u16() == 412).count();
    (ok, stale)
}

#[actix_rt::test]
async fn concurrent_changes_of_one_guest_get_consecutive_sequences() {
    let app = TestApp::spawn_with(16, |_| {}).await;
    let admin = app.admin_token().await;
    let c = app
        .create_customer(&admin, json!({"given_name": "Ada", "family_name": "Lo"}))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let purposes = ["marketing_email", "marketing_sms", "surveys", "profiling"];
    let calls = (0..16).map(|i| {
        let path = format!("/api/v1/customers/{id}/consents/{}", purposes[i % purposes.len()]);
        let (app, admin) = (&app, &admin);
        async move { app.put(&path, admin, json!({"granted": i % 2 == 0})).await }
    });
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(
            r.status.as_u16(),
            200,
            "every concurrent consent change succeeds: {}",
            r.raw
        );
    }
    let mut seqs: Vec<i64> = app
        .events()
        .into_iter()
        .filter(|e| e.aggregate_type == "customer" && e.aggregate_id == id)
        .map(|e| e.sequence)
        .collect();
    seqs.sort_unstable();
    let n = seqs.len() as i64;
    assert!(n >= 17, "the creation and sixteen consent changes: {seqs:?}");
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "consecutive from 1, none twice");
    let g = app.get(&format!("/api/v1/customers/{id}"), &admin).await;
    assert_eq!(
        g.body["version"], 17,
        "each of the sixteen changes moved the version on"
    );
}

#[actix_rt::test]
async fn concurrent_guest_edits_lose_nothing_and_one_etag_applies_once() {
    let app = TestApp::spawn_with(16, |_| {}).await;
    let admin = app.admin_token().await;
    let c = app
        .create_customer(&admin, json!({"given_name": "Ada", "family_name": "Lo"}))
        .await;
    let path = format!("/api/v1/customers/{}", c["id"].as_str().unwrap());
    let names = |n: usize| (0..n).map(|i| json!({"given_name": format!("Ada{i}")})).collect();
    let answers = patches(&app, &admin, &path, names(8), Some("\"1\"")).await;
    assert_eq!(
        statuses(&answers),
        (1, 7),
        "one edit wins, the others see they were stale"
    );
    let answers = patches(&app, &admin, &path, names(8), None).await;
    assert_eq!(
        statuses(&answers),
        (8, 0),
        "{:?}",
        answers.iter().map(|a| &a.raw).collect::<Vec<_>>()
    );
    let g = app.get(&path, &admin).await;
    assert_eq!(
        g.body["version"], 10,
        "1 + one If-Match edit + eight unconditional ones"
    );
}

#[actix_rt::test]
async fn concurrent_stay_corrections_with_one_etag_apply_once() {
    let app = TestApp::spawn_with(16, |_| {}).await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "CONC-1").await;
    let c = app
        .create_customer(&admin, json!({"given_name": "Ada", "family_name": "Lo"}))
        .await;
    let stay = json!({"property_id": prop, "confirmation_number": "CONC-STAY-1", "customer_id": c["id"],
        "check_in": "2026-11-20", "check_out": "2026-11-22", "status": "in_house"});
    let r = app
        .send(
            Method::POST,
            "/api/v1/stays",
            Auth::Bearer(&admin),
            Some(stay),
            &[("Idempotency-Key", "conc-stay-1")],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let stay_id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/stays/{stay_id}");
    let rooms = (0..8).map(|i| json!({"room_number": format!("10{i}")})).collect();
    let answers = patches(&app, &admin, &path, rooms, Some("\"1\"")).await;
    assert_eq!(
        statuses(&answers),
        (1, 7),
        "one correction wins, the others see they were stale"
    );
    let s = app.get(&path, &admin).await;
    assert_eq!(s.body["version"], 2);
}
