//! Stays and spend pushed by a PMS: the lifecycle, Idempotency-Keys, validation, property
//! restriction, batches and their body limit, spend lines in minor units.

use awc::http::Method;
use serde_json::{json, Value};

use super::{pms_guest, push, stay};
use crate::support::Auth;
#[actix_rt::test]
async fn a_pms_pushes_a_stay_through_its_lifecycle() {
    let (w, guest) = pms_guest().await;
    let pms = w.token("pms_a").await;
    let r = push(&w, "/api/v1/stays", stay(&w, "CNF-1", "reserved"), "s-1").await;
    r.expect(201);
    assert_eq!(r.body["customer_id"], guest.as_str());
    assert_eq!(r.body["nights"], 3);
    assert_eq!(r.body["rate"], json!({"amount": "1280.00", "currency": "CNY"}));
    let id = r.body["id"].as_str().unwrap().to_string();
    // The same stay pushed again (a new push, new key) updates it.
    let again = push(&w, "/api/v1/stays", stay(&w, "CNF-1", "in_house"), "s-2").await;
    again.expect(200);
    assert_eq!(again.body["id"], id.as_str());
    assert_eq!(again.body["status"], "in_house");
    assert_eq!(again.header("etag").unwrap(), "\"2\"");
    // PATCH with If-Match to check out; a stale version is refused.
    let out = w
        .app
        .send(
            Method::PATCH,
            &format!("/api/v1/stays/{id}"),
            Auth::Bearer(&pms),
            Some(json!({"status": "checked_out"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    out.expect(200);
    assert_eq!(out.body["status"], "checked_out");
    w.app
        .send(
            Method::PATCH,
            &format!("/api/v1/stays/{id}"),
            Auth::Bearer(&pms),
            Some(json!({"room_number": "1"})),
            &[("if-match", "\"2\"")],
        )
        .await
        .problem(412);
    // Illegal transitions name the allowed ones and change nothing.
    let back = w
        .app
        .patch(&format!("/api/v1/stays/{id}"), &pms, json!({"status": "in_house"}))
        .await;
    back.problem(409);
    assert!(back.body["detail"].as_str().unwrap().contains("allowed: cancelled"));
    let cancelled = w
        .app
        .patch(&format!("/api/v1/stays/{id}"), &pms, json!({"status": "cancelled"}))
        .await;
    cancelled.expect(200);
    w.app
        .patch(&format!("/api/v1/stays/{id}"), &pms, json!({"status": "reserved"}))
        .await
        .problem(409);
    let detail = w.app.get(&format!("/api/v1/stays/{id}"), &w.admin).await;
    assert_eq!(detail.body["status"], "cancelled");
    assert_eq!(detail.body["version"], 4);
    // The guest's 360° view and stay list show it.
    let c = w.app.get(&format!("/api/v1/customers/{}", guest), &w.admin).await;
    assert_eq!(c.body["recent_stays"][0]["confirmation_number"], "CNF-1");
    let list = w
        .app
        .get(&format!("/api/v1/customers/{}/stays?status=cancelled", guest), &w.admin)
        .await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
}

#[actix_rt::test]
async fn integration_pushes_need_an_idempotency_key_and_replay_with_it() {
    let (w, _) = pms_guest().await;
    let pms = w.token("pms_a").await;
    w.app
        .post("/api/v1/stays", &pms, stay(&w, "CNF-2", "reserved"))
        .await
        .problem(428);
    assert_eq!(w.app.count("stays"), 0);
    let a = push(&w, "/api/v1/stays", stay(&w, "CNF-2", "reserved"), "retry-me").await;
    let b = push(&w, "/api/v1/stays", stay(&w, "CNF-2", "reserved"), "retry-me").await;
    a.expect(201);
    b.expect(201);
    assert_eq!(b.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(a.body, b.body);
    assert_eq!(w.app.count("stays"), 1);
    // Staff corrections do not need the key.
    w.app
        .post("/api/v1/stays", &w.admin, stay(&w, "CNF-3", "reserved"))
        .await
        .expect(201);
}

#[actix_rt::test]
async fn bad_stays_are_refused_whole() {
    let (w, guest) = pms_guest().await;
    let mut bad = stay(&w, "CNF-4", "reserved");
    bad["check_out"] = json!("2026-10-01");
    bad["rate"] = json!({"amount": "10.00", "currency": "EUR"});
    bad["confirmation_number"] = json!("");
    let r = push(&w, "/api/v1/stays", bad, "b-1").await;
    r.problem(422);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, vec!["check_out", "confirmation_number", "rate.currency"]);
    let mut unknown = stay(&w, "CNF-5", "reserved");
    unknown["customer_ref"] = json!({"system": "opera", "external_id": "NOPE"});
    assert_eq!(
        push(&w, "/api/v1/stays", unknown, "b-2").await.fields(),
        vec!["customer_ref"]
    );
    let mut both = stay(&w, "CNF-6", "reserved");
    both["customer_id"] = json!(guest);
    push(&w, "/api/v1/stays", both, "b-3").await.problem(422);
    // Another guest's confirmation number is a conflict, not a silent reassignment.
    push(&w, "/api/v1/stays", stay(&w, "CNF-7", "reserved"), "b-4")
        .await
        .expect(201);
    let other = w
        .app
        .create_customer(&w.admin, json!({"given_name": "O", "family_name": "P"}))
        .await;
    let mut stolen = stay(&w, "CNF-7", "reserved");
    stolen.as_object_mut().unwrap().remove("customer_ref");
    stolen["customer_id"] = other["id"].clone();
    push(&w, "/api/v1/stays", stolen, "b-5").await.problem(409);
    assert_eq!(w.app.count("stays"), 1);
}

#[actix_rt::test]
async fn property_restricted_keys_and_roles() {
    let (w, guest) = pms_guest().await;
    let pms = w.token("pms_a").await;
    let mut elsewhere = stay(&w, "CNF-8", "reserved");
    elsewhere["property_id"] = json!(w.b);
    push(&w, "/api/v1/stays", elsewhere.clone(), "p-1").await.problem(404);
    let admin_push = w
        .app
        .post("/api/v1/stays", &w.admin, {
            let mut e = elsewhere.clone();
            e["rate"] = json!({"amount": "200.00", "currency": "EUR"});
            e
        })
        .await;
    admin_push.expect(201);
    let paris_stay = admin_push.body["id"].as_str().unwrap().to_string();
    w.app
        .get(&format!("/api/v1/stays/{paris_stay}"), &pms)
        .await
        .problem(404);
    let agent_sha = w.token("agent").await;
    let analyst = w.token("analyst_all").await;
    w.app
        .get(&format!("/api/v1/stays/{paris_stay}"), &agent_sha)
        .await
        .problem(404);
    w.app
        .post("/api/v1/stays", &agent_sha, stay(&w, "CNF-9", "reserved"))
        .await
        .problem(403);
    w.app
        .get(&format!("/api/v1/stays/{paris_stay}"), &analyst)
        .await
        .problem(403);
    let reader = w.token("key_read").await;
    w.app
        .get(&format!("/api/v1/stays/{paris_stay}"), &reader)
        .await
        .expect(200);
    w.app
        .send(
            Method::POST,
            "/api/v1/stays",
            Auth::Bearer(&reader),
            Some(stay(&w, "CNF-10", "reserved")),
            &[("idempotency-key", "r")],
        )
        .await
        .problem(403);
    let list = w
        .app
        .get(&format!("/api/v1/customers/{}/stays", guest), &agent_sha)
        .await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        0,
        "the Paris stay is outside the agent's hotel"
    );
}

#[actix_rt::test]
async fn batch_pushes_report_each_item() {
    let (w, _) = pms_guest().await;
    let mut bad = stay(&w, "CNF-B2", "reserved");
    bad["check_out"] = json!("2020-01-01");
    let body = json!({"items": [stay(&w, "CNF-B1", "reserved"), bad, stay(&w, "CNF-B3", "checked_out"), stay(&w, "CNF-B1", "in_house")]});
    let r = push(&w, "/api/v1/stays/batch", body, "batch-1").await;
    r.expect(200);
    assert_eq!(r.body["created"], 2);
    assert_eq!(r.body["updated"], 1);
    assert_eq!(r.body["failed"], 1);
    let statuses: Vec<u64> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 422, 201, 200]);
    assert_eq!(r.body["results"][1]["error"]["errors"][0]["field"], "check_out");
    assert_eq!(w.app.count("stays"), 2);
    push(&w, "/api/v1/stays/batch", json!({"items": []}), "batch-2")
        .await
        .problem(422);
}

#[actix_rt::test]
async fn spend_lines_attach_to_stays_in_minor_units() {
    let (w, guest) = pms_guest().await;
    let stay = push(&w, "/api/v1/stays", stay(&w, "CNF-S", "in_house"), "st").await;
    let stay_id = stay.body["id"].as_str().unwrap().to_string();
    let line = json!({"property_id": w.a, "external_id": "POS-1", "confirmation_number": "CNF-S", "outlet": "food_beverage",
                      "amount": {"amount": "388.50", "currency": "CNY"}, "spent_on": "2026-11-02", "description": "Dinner"});
    let r = push(&w, "/api/v1/spend", line.clone(), "sp-1").await;
    r.expect(201);
    assert_eq!(r.body["stay_id"], stay_id.as_str());
    assert_eq!(r.body["customer_id"], guest.as_str());
    assert_eq!(r.body["amount"], json!({"amount": "388.50", "currency": "CNY"}));
    // The POS corrects the line: same external id → updated, not duplicated.
    let mut fixed = line.clone();
    fixed["amount"] = json!({"amount": "-20.00", "currency": "CNY"});
    push(&w, "/api/v1/spend", fixed, "sp-2").await.expect(200);
    let detail = w.app.get(&format!("/api/v1/stays/{stay_id}"), &w.admin).await;
    assert_eq!(detail.body["spend"].as_array().unwrap().len(), 1);
    assert_eq!(detail.body["spend"][0]["amount"]["amount"], "-20.00");
    // Stored as integer minor units.
    use concierge::db::schema::spend_lines;
    use diesel::prelude::*;
    let minor: i64 = spend_lines::table
        .select(spend_lines::amount_minor)
        .first(&mut **w.app.conn())
        .unwrap();
    assert_eq!(minor, -2000);
    let mut bad = line.clone();
    bad["external_id"] = json!("POS-2");
    bad["amount"] = json!({"amount": "1.234", "currency": "CNY"});
    bad["outlet"] = json!("casino");
    push(&w, "/api/v1/spend", bad.clone(), "sp-3").await.problem(422);
    bad["outlet"] = json!("spa");
    let r = push(&w, "/api/v1/spend", bad, "sp-4").await;
    assert_eq!(r.fields(), vec!["amount.amount"]);
    let mut orphan = line.clone();
    orphan["external_id"] = json!("POS-3");
    orphan.as_object_mut().unwrap().remove("confirmation_number");
    assert_eq!(
        push(&w, "/api/v1/spend", orphan, "sp-5").await.fields(),
        vec!["customer_id"]
    );
    assert_eq!(w.app.count("spend_lines"), 1);
}

#[actix_rt::test]
async fn a_full_batch_of_documented_size_fits_its_body_limit() {
    let (w, _) = pms_guest().await;
    // 1,000 stays with long (but valid) fields: well over the 256 KiB default limit.
    let items: Vec<Value> = (0..1000)
        .map(|i| {
            let mut st = stay(&w, &format!("CNF-{i:05}-{}", "X".repeat(50)), "reserved");
            st["room_type"] = json!("R".repeat(64));
            st
        })
        .collect();
    let body = json!({ "items": items });
    assert!(
        body.to_string().len() > 256 * 1024,
        "the test batch exceeds the default limit"
    );
    let r = push(&w, "/api/v1/stays/batch", body, "batch-full").await;
    r.expect(200);
    assert_eq!(r.body["created"], 1000);
    assert_eq!(w.app.count("stays"), 1000);
    // Other operations keep the 256 KiB limit.
    let big = json!({"given_name": "A", "family_name": "B", "notes": "n".repeat(300 * 1024)});
    let r = w.app.post("/api/v1/customers", &w.admin, big).await;
    assert!(
        r.problem(413)["detail"].as_str().unwrap().contains("256 KiB"),
        "{}",
        r.raw
    );
}
