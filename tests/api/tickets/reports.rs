//! The ticket report per property and period; escalation contacts and ticket settings.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use super::{desk, later};

#[actix_rt::test]
async fn the_report_counts_times_and_rates_per_property_and_period() {
    let w = desk().await;
    let agent = w.token("agent").await;
    let guest = w.token("guest").await;
    let mut ids = Vec::new();
    for sev in ["low", "medium", "high", "high"] {
        ids.push(w.open("agent", sev, "phone").await["id"].as_str().unwrap().to_string());
    }
    // Responses 10, 20 and 60 minutes after opening; two resolved after 2 h and 5 h; one reopened.
    use concierge::db::schema::tickets;
    use diesel::prelude::*;
    let set = |id: &str, responded: Option<i64>, resolved: Option<i64>| {
        let created: NaiveDateTime = tickets::table
            .find(id)
            .select(tickets::created_at)
            .first(&mut **w.app.conn())
            .unwrap();
        diesel::update(tickets::table.find(id))
            .set((
                tickets::first_responded_at.eq(responded.map(|m| created + Duration::minutes(m))),
                tickets::resolved_at.eq(resolved.map(|m| created + Duration::minutes(m))),
            ))
            .execute(&mut **w.app.conn())
            .unwrap();
    };
    for id in ids.iter().take(2) {
        w.move_to(&agent, id, json!({"to": "resolved", "resolution_summary": "done"}))
            .await
            .expect(200);
    }
    w.app
        .post(
            &format!("/api/v1/me/tickets/{}/reopen", ids[1]),
            &guest,
            json!({"reason": "not fixed"}),
        )
        .await
        .expect(200);
    set(&ids[0], Some(10), Some(120));
    set(&ids[1], Some(20), None);
    set(&ids[2], Some(60), None);
    set(&ids[3], None, None);
    // The last high ticket breaches its first response.
    w.sweep(later(Duration::hours(2)));
    // Another property's ticket stays out of this property's report.
    let other = w.app.create_property(&w.admin, "BJS").await;
    w.app
        .post(
            "/api/v1/tickets",
            &w.admin,
            json!({"property_id": other, "kind": "inquiry", "category": "other", "severity": "low", "channel": "email", "subject": "s", "description": "d"}),
        )
        .await
        .expect(201);

    let (_, analyst) = w.app.staff_token(&w.admin, "analyst", &[&w.a]).await;
    let r = w.app.get("/api/v1/ticket-reports", &analyst).await;
    r.expect(200);
    let b = &r.body;
    assert_eq!(b["total"], 4, "{b}");
    assert_eq!(b["by_severity"], json!({"high": 2, "low": 1, "medium": 1}));
    assert_eq!(b["by_state"], json!({"new": 2, "reopened": 1, "resolved": 1}));
    assert_eq!(
        b["first_response"],
        json!({"count": 3, "median_minutes": 20.0, "p90_minutes": 60.0})
    );
    assert_eq!(b["resolution"]["count"], 1);
    assert_eq!(b["resolution"]["median_minutes"], 120.0);
    // Only the unanswered high ticket (1 h) breached by the sweep two hours on: one of four.
    assert_eq!(b["first_response_breach_rate"], 0.25);
    assert_eq!(b["breach_rate"], 0.25);
    assert_eq!(b["reopen_rate"], 0.5, "one of the two resolved was reopened");
    assert_eq!(b["resolution_rate"], 0.25);
    assert_eq!(
        b["by_property"].as_object().unwrap().len(),
        1,
        "analyst sees their properties only"
    );
    // The admin sees both; a property filter narrows it down.
    let all = w.app.get("/api/v1/ticket-reports", &w.admin).await;
    assert_eq!(all.body["total"], 5);
    let one = w
        .app
        .get(&format!("/api/v1/ticket-reports?property_id={other}"), &w.admin)
        .await;
    assert_eq!(one.body["total"], 1);
    // An empty period: zero counts and null rates, not errors.
    let empty = w
        .app
        .get("/api/v1/ticket-reports?from=2020-01-01&to=2020-01-31", &w.admin)
        .await;
    empty.expect(200);
    assert_eq!(empty.body["total"], 0);
    assert!(empty.body["breach_rate"].is_null());
    assert!(empty.body["first_response"]["median_minutes"].is_null());
    // Bad periods and foreign properties are 422; agents get no reports.
    assert_eq!(
        w.app
            .get("/api/v1/ticket-reports?from=2026-02-01&to=2026-01-01", &w.admin)
            .await
            .fields(),
        vec!["from"]
    );
    assert_eq!(
        w.app
            .get("/api/v1/ticket-reports?from=2020-01-01&to=2026-01-01", &w.admin)
            .await
            .fields(),
        vec!["from"]
    );
    assert_eq!(
        w.app
            .get(&format!("/api/v1/ticket-reports?property_id={other}"), &analyst)
            .await
            .fields(),
        vec!["property_id"]
    );
    // An empty property id is not "every property": it is a mistake, even for an admin.
    assert_eq!(
        w.app
            .get("/api/v1/ticket-reports?property_id=", &w.admin)
            .await
            .fields(),
        vec!["property_id"]
    );
    w.app.get("/api/v1/ticket-reports", &agent).await.expect(403);
}

#[actix_rt::test]
async fn escalation_contacts_and_ticket_settings_are_admin_data() {
    let w = desk().await;
    let agent_id = w.id("agent").await;
    let manager_id = w.id("manager").await;
    let agent = w.token("agent").await;
    let manager = w.token("manager").await;
    let (gm_id, _) = w.app.staff_token(&w.admin, "manager", &[&w.a]).await;
    let path = format!("/api/v1/properties/{}/escalation-contacts", w.a);
    // Agents cannot be contacts, unknown ids are named, nothing is stored on failure.
    let bad = w
        .app
        .put(
            &path,
            &w.admin,
            json!({"department_manager": [agent_id], "general_manager": ["nobody"]}),
        )
        .await;
    assert_eq!(bad.fields(), vec!["department_manager[0]", "general_manager[0]"]);
    w.app
        .put(&path, &manager, json!({"department_manager": [manager_id]}))
        .await
        .expect(403);
    let ok = w
        .app
        .put(
            &path,
            &w.admin,
            json!({"department_manager": [manager_id], "general_manager": [gm_id]}),
        )
        .await;
    ok.expect(200);
    assert_eq!(ok.body["general_manager"], json!([gm_id]));
    // A critical ticket now notifies the property's general manager, not the group's admins.
    let crit = w.open("agent", "critical", "phone").await;
    let cid = crit["id"].as_str().unwrap();
    let esc = w
        .timeline(&manager, &format!("/api/v1/tickets/{cid}/timeline?kind=escalation"))
        .await;
    assert_eq!(
        esc[0]["data"]["notified"],
        json!([{"staff_id": gm_id, "display_name": "Test manager", "role": "manager"}])
    );

    // Settings: validated, admin only, applied from then on.
    let s = w.app.get("/api/v1/ticket-settings", &agent).await;
    assert_eq!(s.body["auto_close_days"], 7);
    assert_eq!(
        s.body["compensation_limits"]["agent"],
        json!({"money": 500, "points": 2000})
    );
    let limits = json!({"agent": {"money": 100, "points": 500}, "manager": {"money": 50, "points": 20000}});
    let bad = w
        .app
        .put(
            "/api/v1/ticket-settings",
            &w.admin,
            json!({"auto_close_days": 0, "reopen_window_days": 30, "compensation_limits": limits}),
        )
        .await;
    assert_eq!(bad.fields(), vec!["auto_close_days", "compensation_limits.agent.money"]);
    let limits = json!({"agent": {"money": 100, "points": 500}, "manager": {"money": 5000, "points": 20000}});
    w.app
        .put(
            "/api/v1/ticket-settings",
            &manager,
            json!({"auto_close_days": 3, "reopen_window_days": 10, "compensation_limits": limits}),
        )
        .await
        .expect(403);
    w.app
        .put(
            "/api/v1/ticket-settings",
            &w.admin,
            json!({"auto_close_days": 3, "reopen_window_days": 10, "compensation_limits": limits}),
        )
        .await
        .expect(200);
    // The agent's limit is now 500 points: 600 waits for approval.
    let r = w
        .app
        .post(
            &format!("/api/v1/tickets/{cid}/compensations"),
            &agent,
            json!({"kind": "points", "points": 600, "note": "sorry"}),
        )
        .await;
    assert_eq!(r.body["state"], "pending_approval");
    // Auto-close after 3 days now.
    w.move_to(&agent, cid, json!({"to": "resolved", "resolution_summary": "handled"}))
        .await
        .expect(200);
    assert_eq!(w.sweep(later(Duration::days(4))).tickets_auto_closed, 1);
}
