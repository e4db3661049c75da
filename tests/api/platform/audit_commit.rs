//! Unmasked reads share audit commits (group commit): every read answered 200 has exactly one
//! audit row with its request id, however many run at once, and the rows of concurrent reads
//! share commits (fewer batches than reads, counted by `/metrics`).

use awc::http::Method;
use diesel::prelude::*;
use serde_json::json;

use crate::support::{Auth, TestApp};
use concierge::db::schema::audit_log;
use concierge::db::DbConnection;

#[actix_rt::test]
async fn every_concurrent_unmasked_read_has_its_audit_row() {
    let app = TestApp::spawn_with(8, |_| {}).await;
    let admin = app.admin_token().await;
    let c = app
        .create_customer(
            &admin,
            json!({"given_name": "Ada", "family_name": "Lo", "email": "ada@example.com"}),
        )
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/customers/{id}");
    let reads = (0..48).map(|i| {
        let (app, admin, path) = (&app, &admin, &path);
        let rid = format!("audit-commit-{i:02}");
        async move {
            let headers = [("x-request-id", rid.as_str())];
            let r = app.send(Method::GET, path, Auth::Bearer(admin), None, &headers).await;
            (rid, r)
        }
    });
    let answers = futures_util::future::join_all(reads).await;
    for (rid, r) in &answers {
        assert_eq!(r.status.as_u16(), 200, "{rid}: {}", r.raw);
        assert_eq!(r.body["email"], "ada@example.com", "unmasked for an admin");
    }
    let mut conn = app.conn();
    let c: &mut DbConnection = &mut conn;
    let mut rows: Vec<Option<String>> = audit_log::table
        .filter(audit_log::action.eq("customer.read_unmasked"))
        .filter(audit_log::target_id.eq(&id))
        .select(audit_log::request_id)
        .load(c)
        .unwrap();
    rows.sort();
    let expected: Vec<Option<String>> = answers.iter().map(|(rid, _)| Some(rid.clone())).collect();
    assert_eq!(rows, expected, "one row per acknowledged read, with its request id");
}

#[actix_rt::test]
async fn masked_reads_write_no_audit_row() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, agent) = app.staff_token(&admin, "agent", &[]).await;
    let c = app
        .create_customer(
            &admin,
            json!({"given_name": "Ada", "family_name": "Lo", "email": "ada@example.com"}),
        )
        .await;
    let before = app.count("audit_log");
    let r = app
        .get(&format!("/api/v1/customers/{}", c["id"].as_str().unwrap()), &agent)
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert_ne!(r.body["email"], "ada@example.com", "masked for an agent");
    assert_eq!(app.count("audit_log"), before, "a masked read is not audited");
}
