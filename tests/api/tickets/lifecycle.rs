//! A ticket from first contact to a confirmed close (guest views, reopening, the timeline),
//! bad input and stale edits that change nothing.

use actix_web::http::Method;
use chrono::{Duration, Utc};
use serde_json::json;

use super::{desk, kinds, ts};
use crate::support::Auth;

#[actix_rt::test]
async fn a_front_desk_complaint_from_first_contact_to_confirmed_close() {
    let w = desk().await;
    let agent_id = w.id("agent").await;
    let agent = w.token("agent").await;
    let guest = w.token("guest").await;
    let t = w.open("agent", "high", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(t["state"], "new");
    assert_eq!(t["owner_id"], agent_id, "first-contact ownership");
    assert_eq!(t["escalation_level"], 0);
    let opened = ts(&t["created_at"]);
    assert_eq!(
        ts(&t["sla"]["first_response_due_at"]) - opened,
        Duration::hours(1),
        "high: 1 h"
    );
    assert_eq!(
        ts(&t["sla"]["resolution_due_at"]) - opened,
        Duration::hours(24),
        "high: 24 h"
    );
    assert_eq!(
        t["allowed_transitions"],
        json!(["acknowledged", "investigating", "awaiting_customer", "resolved"])
    );

    // Illegal: straight to closed. 409 naming the allowed states.
    let bad = w.move_to(&agent, &id, json!({"to": "closed"})).await;
    let p = bad.problem(409);
    assert_eq!(
        p["allowed"],
        json!(["acknowledged", "investigating", "awaiting_customer", "resolved"])
    );

    w.move_to(&agent, &id, json!({"to": "acknowledged"})).await.expect(200);
    // An internal note is not a first response; a customer-visible one is.
    w.app
        .post(
            &format!("/api/v1/tickets/{id}/comments"),
            &agent,
            json!({"body": "Housekeeping supervisor informed"}),
        )
        .await
        .expect(201);
    let t = w.app.get(&format!("/api/v1/tickets/{id}"), &agent).await;
    assert!(t.body["sla"]["first_responded_at"].is_null());
    w.app
        .post(
            &format!("/api/v1/tickets/{id}/comments"),
            &agent,
            json!({"body": "We are sorry — housekeeping is on the way.", "visibility": "customer_visible"}),
        )
        .await
        .expect(201);
    w.move_to(&agent, &id, json!({"to": "investigating"})).await.expect(200);

    // Waiting for the guest pauses the resolution clock; the guest's reply resumes it.
    let waiting = w
        .move_to(
            &agent,
            &id,
            json!({"to": "awaiting_customer", "note": "asked which time suits"}),
        )
        .await;
    waiting.expect(200);
    assert_eq!(waiting.body["sla"]["resolution_paused"], true);
    assert!(waiting.body["sla"]["resolution_due_at"].is_null());
    let left = waiting.body["sla"]["resolution_remaining_seconds"].as_i64().unwrap();
    assert!((23 * 3600..=24 * 3600).contains(&left), "{left}");
    w.app
        .post(
            &format!("/api/v1/me/tickets/{id}/comments"),
            &guest,
            json!({"body": "After 18:00 please"}),
        )
        .await
        .expect(201);
    let t = w.app.get(&format!("/api/v1/tickets/{id}"), &agent).await;
    assert_eq!(t.body["state"], "investigating", "a guest reply resumes the work");
    assert_eq!(t.body["sla"]["resolution_paused"], false);
    assert!(ts(&t.body["sla"]["resolution_due_at"]) > Utc::now() + Duration::hours(23));

    // Resolving needs a summary, shown to the guest.
    let r = w.move_to(&agent, &id, json!({"to": "resolved"})).await;
    assert_eq!(r.fields(), vec!["resolution_summary"]);
    let r = w
        .move_to(
            &agent,
            &id,
            json!({"to": "resolved", "resolution_summary": "Bathroom cleaned at 18:10; apology given."}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["state"], "resolved");

    // The guest's view: own ticket, customer-visible entries only.
    let mine = w.app.get(&format!("/api/v1/me/tickets/{id}"), &guest).await;
    mine.expect(200);
    assert_eq!(mine.body["can_confirm"], true);
    assert!(mine.body.get("owner_id").is_none() && mine.body.get("sla").is_none());
    let seen = w.timeline(&guest, &format!("/api/v1/me/tickets/{id}/timeline")).await;
    assert!(seen.iter().all(|e| e["visibility"] == "customer_visible"));
    assert!(
        seen.iter().all(|e| e.get("actor_id").is_none()),
        "staff ids stay internal"
    );
    assert!(!seen.iter().any(|e| e["body"] == "Housekeeping supervisor informed"));
    assert!(seen
        .iter()
        .any(|e| e["body"] == "Bathroom cleaned at 18:10; apology given."));

    // The guest confirms: closed. Then changes their mind within the window: reopened.
    let c = w
        .app
        .post(&format!("/api/v1/me/tickets/{id}/confirm"), &guest, json!({}))
        .await;
    c.expect(200);
    assert_eq!(c.body["state"], "closed");
    assert_eq!(c.body["can_reopen"], true);
    w.app
        .post(&format!("/api/v1/me/tickets/{id}/confirm"), &guest, json!({}))
        .await
        .expect(409);
    let re = w
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/reopen"),
            &guest,
            json!({"reason": "The shower drain is blocked too"}),
        )
        .await;
    re.expect(200);
    assert_eq!(re.body["state"], "reopened");
    let t = w.app.get(&format!("/api/v1/tickets/{id}"), &agent).await;
    assert_eq!(t.body["reopen_count"], 1);
    assert!(t.body["resolved_at"].is_null());

    // The staff timeline tells the whole story in order.
    let all = w
        .timeline(&agent, &format!("/api/v1/tickets/{id}/timeline?limit=200"))
        .await;
    assert_eq!(
        kinds(&all),
        vec![
            "created",
            "sla:applied",
            "state:acknowledged",
            "comment",
            "sla:met",
            "comment",
            "state:investigating",
            "sla:paused",
            "state:awaiting_customer",
            "comment",
            "comment",
            "sla:resumed",
            "state:investigating",
            "sla:met",
            "state:resolved",
            "state:closed",
            "sla:applied",
            "state:reopened",
            "comment"
        ]
    );
    let sla = w
        .timeline(&agent, &format!("/api/v1/tickets/{id}/timeline?kind=sla"))
        .await;
    assert_eq!(sla.len(), 6);
    // Cursor paging walks the same feed.
    let first = w
        .app
        .get(&format!("/api/v1/tickets/{id}/timeline?limit=5"), &agent)
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = w
        .app
        .get(
            &format!("/api/v1/tickets/{id}/timeline?limit=5&cursor={cursor}"),
            &agent,
        )
        .await;
    assert_eq!(second.body["data"][0]["id"], all[5]["id"]);
}

#[actix_rt::test]
async fn bad_ticket_input_is_refused_and_changes_nothing() {
    let w = desk().await;
    let guest_id = w.id("guest").await;
    let agent = w.token("agent").await;
    let before = w.app.count("tickets");
    let r = w
        .app
        .post(
            "/api/v1/tickets",
            &agent,
            json!({"property_id": w.a, "kind": "complaint", "category": "nope", "severity": "high", "channel": "phone", "subject": " ", "description": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["subject"]);
    let r = w
        .app
        .post(
            "/api/v1/tickets",
            &agent,
            json!({"property_id": w.a, "kind": "complaint", "category": "nope", "severity": "high", "channel": "phone", "subject": "s", "description": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["category"]);
    let r = w
        .app
        .post(
            "/api/v1/tickets",
            &agent,
            json!({"property_id": w.a, "kind": "complaint", "category": "noise", "severity": "urgent", "channel": "phone", "subject": "s", "description": "x"}),
        )
        .await;
    r.expect(422);
    // A stay of someone else.
    let (other_guest, _) = w.app.guest("other@example.com").await;
    w.app.insert_stay(&other_guest, &w.a, "CNF-9");
    let stay: String = {
        use concierge::db::schema::stays;
        use diesel::prelude::*;
        stays::table.select(stays::id).first(&mut **w.app.conn()).unwrap()
    };
    let r = w
        .app
        .post(
            "/api/v1/tickets",
            &agent,
            json!({"property_id": w.a, "customer_id": guest_id, "stay_id": stay, "kind": "complaint", "category": "noise", "severity": "low", "channel": "phone", "subject": "s", "description": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["stay_id"]);
    assert_eq!(w.app.count("tickets"), before, "nothing written");
    // Stale If-Match: 412, nothing changes.
    let t = w.open("agent", "low", "phone").await;
    let id = t["id"].as_str().unwrap();
    w.app
        .send(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            Auth::Bearer(&agent),
            Some(json!({"severity": "high"})),
            &[("if-match", "\"1\"")],
        )
        .await
        .expect(200);
    let stale = w
        .app
        .send(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            Auth::Bearer(&agent),
            Some(json!({"severity": "low"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    stale.expect(412);
    let t = w.app.get(&format!("/api/v1/tickets/{id}"), &agent).await;
    assert_eq!(t.body["severity"], "high");
    assert_eq!(
        ts(&t.body["sla"]["first_response_due_at"]) - ts(&t.body["created_at"]),
        Duration::hours(1),
        "re-triage re-applies the SLA from the opening time"
    );
}

#[actix_rt::test]
async fn concurrent_edits_with_one_etag_apply_once() {
    let w = desk().await;
    let agent = w.token("agent").await;
    let t = w.open("agent", "low", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/tickets/{id}");
    let sevs = [
        "medium", "high", "critical", "medium", "high", "critical", "medium", "high",
    ];
    let edits = sevs.iter().map(|s| {
        w.app.send(
            Method::PATCH,
            &path,
            Auth::Bearer(&agent),
            Some(json!({"severity": s})),
            &[("if-match", "\"1\"")],
        )
    });
    let answers = futures_util::future::join_all(edits).await;
    let ok = answers.iter().filter(|a| a.status.as_u16() == 200).count();
    let stale = answers.iter().filter(|a| a.status.as_u16() == 412).count();
    assert_eq!((ok, stale), (1, 7), "one edit wins, the others see they were stale");
    let t = w.app.get(&path, &agent).await;
    assert_eq!(t.body["version"], 2);
}
