//! A chunk's new guests are created together, with everything one by one would give them
//! (tags, references, consents, events, audit rows), and lines that share a contact still apply
//! as if in file order.

use serde_json::json;

use super::imports::{completed, upload};
use crate::support::TestApp;

#[actix_rt::test]
async fn new_guests_are_created_together_and_lines_sharing_a_contact_apply_in_file_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let file = [
        r#"{"given_name":"Ann","family_name":"Batch","email":"ann@example.com","tags":["vip","spa"],"external_refs":[{"system":"pms","external_id":"A1"}],"consents":[{"purpose":"marketing_email","granted":true}]}"#,
        r#"{"given_name":"Ben","family_name":"Batch","phone":"+8613800000077"}"#,
        r#"{"given_name":"Cat","family_name":"First","email":"dup@example.com"}"#,
        r#"{"given_name":"Cat","family_name":"Second","email":"dup@example.com","company":"Acme"}"#,
        r#"{"given_name":"Dan","family_name":"Batch","email":"dan@example.com","grade_override":{"grade":"vip","reason":"owner's friend"}}"#,
        r#"{"given_name":"Bad"}"#,
    ]
    .join("\n");
    let r = upload(&app, &admin, "application/x-ndjson", &file, None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.raw);
    let job = completed(&app, &admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(
        (&job["created"], &job["updated"], &job["failed"]),
        (&json!(4), &json!(1), &json!(1)),
        "{job}"
    );
    assert_eq!(job["errors"][0]["line"], 6, "{job}");
    // Line 4 found the guest line 3 created, by email, and updated it.
    let dup = app.get("/api/v1/customers?email=dup@example.com", &admin).await;
    assert_eq!(dup.body["data"].as_array().unwrap().len(), 1, "{}", dup.raw);
    assert_eq!(dup.body["data"][0]["family_name"], "Second");
    // Everything a one-by-one creation gives.
    let ann = app.get("/api/v1/customers?email=ann@example.com", &admin).await;
    let ann = &ann.body["data"][0];
    assert_eq!(ann["tags"], json!(["spa", "vip"]));
    let ann_id = ann["id"].as_str().unwrap();
    let full = app.get(&format!("/api/v1/customers/{ann_id}"), &admin).await;
    assert_eq!(full.body["external_refs"][0]["external_id"], "A1", "{}", full.raw);
    let consents = full.body["consents"].to_string();
    assert!(consents.contains("marketing_email"), "{consents}");
    let created = app.events_of("customer.created");
    assert_eq!(created.len(), 4);
    assert!(created.iter().all(|e| e.sequence == 1), "each guest's first event");
    assert_eq!(app.events_of("customer.updated").len(), 1);
    let consent = app.events_of("consent.changed");
    assert_eq!(consent.len(), 1);
    assert_eq!(
        (consent[0].aggregate_id.as_str(), consent[0].sequence),
        (ann_id, 2),
        "after the guest's own event"
    );
    assert_eq!(app.count("consent_events"), 1, "the decision's history");
    assert_eq!(app.count("audit_log WHERE action = 'customer.created'"), 4);
    let dan = app.get("/api/v1/customers?email=dan@example.com", &admin).await;
    assert_eq!(dan.body["data"][0]["grade"], "vip", "{}", dan.raw);
    // A re-import of the same file creates nothing more: the lines with a reference or an email
    // meet their guest; Ben (a phone only, which does not match) meets his phone's owner.
    let again = upload(&app, &admin, "application/x-ndjson", &file, None).await;
    let job = completed(&app, &admin, again.body["id"].as_str().unwrap()).await;
    assert_eq!(
        (&job["created"], &job["updated"], &job["failed"]),
        (&json!(0), &json!(4), &json!(2)),
        "{job}"
    );
    assert_eq!(job["errors"][0]["message"], "a guest with this phone number exists");
    assert_eq!(app.count("customers"), 4);
}
