//! SLA clocks and the sweep with a simulated clock: breaches recorded once, the escalation
//! ladder, auto-close, policies and business calendars as data, pauses and re-triage.

use chrono::{Duration, Utc};
use serde_json::json;

use super::{desk, kinds, later, ts};

#[actix_rt::test]
async fn the_sweep_marks_breaches_once_and_climbs_the_ladder() {
    let w = desk().await;
    let manager_id = w.id("manager").await;
    let agent = w.token("agent").await;
    let manager = w.token("manager").await;
    let t = w.open("agent", "high", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();

    // Before the due time nothing happens.
    let r = w.sweep(later(Duration::minutes(30)));
    assert_eq!(r.first_response_breaches, 0);
    // Two hours on, nobody has answered: first response breached, level 1 (the property's manager).
    let r = w.sweep(later(Duration::hours(2)));
    assert_eq!(r.first_response_breaches, 1);
    let r = w.sweep(later(Duration::hours(3)));
    assert_eq!(r.first_response_breaches, 0, "recorded once");
    let t = w.app.get(&format!("/api/v1/tickets/{id}"), &manager).await;
    assert_eq!(t.body["escalation_level"], 1);
    assert_eq!(t.body["sla"]["breached"], true);
    assert!(!t.body["sla"]["first_response_breached_at"].is_null());
    let esc = w
        .timeline(&manager, &format!("/api/v1/tickets/{id}/timeline?kind=escalation"))
        .await;
    assert_eq!(esc.len(), 1);
    assert_eq!(esc[0]["data"]["to_level"], 1);
    assert_eq!(esc[0]["data"]["notified"][0]["staff_id"], manager_id, "{}", esc[0]);
    // A late answer does not undo the breach nor record `met`.
    w.app
        .post(
            &format!("/api/v1/tickets/{id}/comments"),
            &agent,
            json!({"body": "Sorry for the wait", "visibility": "customer_visible"}),
        )
        .await
        .expect(201);
    let sla = w
        .timeline(&agent, &format!("/api/v1/tickets/{id}/timeline?kind=sla"))
        .await;
    assert_eq!(kinds(&sla), vec!["sla:applied", "sla:breached"]);

    // A day later the resolution clock breaches too: level 2.
    let r = w.sweep(later(Duration::hours(25)));
    assert_eq!(r.resolution_breaches, 1);
    let t = w.app.get(&format!("/api/v1/tickets/{id}"), &manager).await;
    assert_eq!(t.body["escalation_level"], 2);

    // Filters: breached and due_before.
    let other = w.open("agent", "low", "email").await;
    let breached = w.app.get("/api/v1/tickets?breached=true", &manager).await;
    let ids: Vec<&str> = breached.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id.as_str()]);
    let soon = (Utc::now() + Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let due = w
        .app
        .get(
            &format!("/api/v1/tickets?due_before={}", soon.replace('+', "%2B")),
            &manager,
        )
        .await;
    due.expect(200);
    let ids: Vec<&str> = due.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(
        !ids.contains(&other["id"].as_str().unwrap()),
        "low: first response due in 24 h"
    );

    // Critical starts at the general manager (level 3: the group's admins by default).
    let crit = w.open("manager", "critical", "on_site").await;
    assert_eq!(crit["escalation_level"], 3);
    assert_eq!(
        ts(&crit["sla"]["first_response_due_at"]) - ts(&crit["created_at"]),
        Duration::minutes(15)
    );
    let cid = crit["id"].as_str().unwrap();
    let esc = w
        .timeline(&w.admin, &format!("/api/v1/tickets/{cid}/timeline?kind=escalation"))
        .await;
    assert_eq!(esc[0]["data"]["notified"][0]["role"], "admin");
    // A breach at the top stays at 3.
    w.sweep(later(Duration::hours(1)));
    let t = w.app.get(&format!("/api/v1/tickets/{cid}"), &w.admin).await;
    assert_eq!(t.body["escalation_level"], 3);
}

#[actix_rt::test]
async fn parallel_sweeps_record_each_breach_once() {
    let w = desk().await;
    for _ in 0..6 {
        w.open("agent", "high", "phone").await;
    }
    let pool = w.app.state.pool.clone();
    let at = later(Duration::hours(2));
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || concierge::app::jobs::run_once(&pool, at).unwrap())
        })
        .collect();
    let total: usize = runs
        .into_iter()
        .map(|h| h.join().unwrap().first_response_breaches)
        .sum();
    assert_eq!(total, 6, "each ticket breached by exactly one sweeper");
    use concierge::db::schema::ticket_entries as te;
    use diesel::prelude::*;
    let escalations: i64 = te::table
        .filter(te::kind.eq("escalation"))
        .count()
        .get_result(&mut **w.app.conn())
        .unwrap();
    assert_eq!(escalations, 6);
}

#[actix_rt::test]
async fn resolved_tickets_close_themselves_after_seven_quiet_days() {
    let w = desk().await;
    let agent = w.token("agent").await;
    let guest = w.token("guest").await;
    let t = w.open("agent", "low", "email").await;
    let id = t["id"].as_str().unwrap();
    w.move_to(
        &agent,
        id,
        json!({"to": "resolved", "resolution_summary": "Refunded the minibar charge"}),
    )
    .await
    .expect(200);
    assert_eq!(w.sweep(later(Duration::days(6))).tickets_auto_closed, 0);
    assert_eq!(w.sweep(later(Duration::days(8))).tickets_auto_closed, 1);
    let t = w.app.get(&format!("/api/v1/tickets/{id}"), &agent).await;
    assert_eq!(t.body["state"], "closed");
    // Past the reopen window (30 days after closing) the guest must open a new ticket.
    use concierge::db::schema::tickets;
    use diesel::prelude::*;
    diesel::update(tickets::table.find(id))
        .set(tickets::closed_at.eq(later(Duration::days(-31))))
        .execute(&mut **w.app.conn())
        .unwrap();
    let r = w
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/reopen"),
            &guest,
            json!({"reason": "Still charged"}),
        )
        .await;
    assert!(r.problem(409)["detail"].as_str().unwrap().contains("30 days"));
}

#[actix_rt::test]
async fn sla_policies_and_business_calendars_are_data() {
    let w = desk().await;
    let agent = w.token("agent").await;
    let guest = w.token("guest").await;
    // The agent may read, not change, the rules.
    let list = w.app.get("/api/v1/sla-policies", &agent).await;
    list.expect(200);
    assert_eq!(list.body[1]["severity"], "medium");
    assert_eq!(list.body[1]["first_response_minutes"], 240);
    w.app
        .put(
            "/api/v1/sla-policies/medium",
            &agent,
            json!({"first_response_minutes": 30, "resolution_minutes": 600}),
        )
        .await
        .expect(403);
    // Resolution shorter than the first response is refused, nothing changes.
    let bad = w
        .app
        .put(
            &format!("/api/v1/properties/{}/sla-policies/medium", w.a),
            &w.admin,
            json!({"first_response_minutes": 60, "resolution_minutes": 30}),
        )
        .await;
    assert_eq!(bad.fields(), vec!["resolution_minutes"]);
    w.app
        .put(
            &format!("/api/v1/properties/{}/sla-policies/medium", w.a),
            &w.admin,
            json!({"first_response_minutes": 30, "resolution_minutes": 600}),
        )
        .await
        .expect(200);
    let t = w.open("agent", "medium", "email").await;
    assert_eq!(
        ts(&t["sla"]["first_response_due_at"]) - ts(&t["created_at"]),
        Duration::minutes(30)
    );
    w.app
        .delete(&format!("/api/v1/properties/{}/sla-policies/medium", w.a), &w.admin)
        .await
        .expect(204);

    // A business calendar: the clock counts opening hours only, in the property's time zone.
    let week = json!([
        [["09:00", "12:00"], ["13:00", "18:00"]],
        [["09:00", "18:00"]],
        [["09:00", "18:00"]],
        [["09:00", "18:00"]],
        [["09:00", "18:00"]],
        [],
        []
    ]);
    let bad = w
        .app
        .put(
            &format!("/api/v1/properties/{}/business-calendar", w.a),
            &w.admin,
            json!({"week": [[["18:00","09:00"]],[],[],[],[],[],[]]}),
        )
        .await;
    assert_eq!(bad.fields(), vec!["week[0][0]"]);
    w.app
        .put(
            &format!("/api/v1/properties/{}/business-calendar", w.a),
            &w.admin,
            json!({"week": week, "holidays": ["2027-01-01"]}),
        )
        .await
        .expect(200);
    let t = w.open("agent", "low", "email").await;
    let opened = ts(&t["created_at"]);
    let week: Vec<Vec<(String, String)>> = serde_json::from_value(week).unwrap();
    let mut cal_week: [Vec<(chrono::NaiveTime, Option<chrono::NaiveTime>)>; 7] = Default::default();
    for (i, day) in week.iter().enumerate() {
        for (a, b) in day {
            cal_week[i].push((
                chrono::NaiveTime::parse_from_str(a, "%H:%M").unwrap(),
                Some(chrono::NaiveTime::parse_from_str(b, "%H:%M").unwrap()),
            ));
        }
    }
    let clock =
        concierge::features::tickets::sla::Clock::Business(Box::new(concierge::features::tickets::sla::Calendar {
            tz: chrono_tz::Asia::Shanghai,
            week: cal_week,
            holidays: [chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()]
                .into_iter()
                .collect(),
        }));
    assert_eq!(ts(&t["sla"]["first_response_due_at"]), clock.add(opened, 24 * 3600));
    assert_eq!(ts(&t["sla"]["resolution_due_at"]), clock.add(opened, 72 * 3600));
    assert!(
        ts(&t["sla"]["resolution_due_at"]) - opened > Duration::days(5),
        "72 working hours > 5 days"
    );
    // A guest in house still gets 15 wall-clock minutes.
    let onsite = w.open("agent", "low", "on_site").await;
    assert_eq!(
        ts(&onsite["sla"]["first_response_due_at"]) - ts(&onsite["created_at"]),
        Duration::minutes(15)
    );
    let got = w
        .app
        .get(&format!("/api/v1/properties/{}/business-calendar", w.a), &agent)
        .await;
    assert_eq!(got.body["holidays"], json!(["2027-01-01"]));

    // Categories are data too: a retired one cannot be chosen for new tickets.
    w.app
        .put(
            "/api/v1/ticket-categories/spa_wellness",
            &w.admin,
            json!({"name": "Spa and wellness"}),
        )
        .await
        .expect(201);
    let cats = w.app.get("/api/v1/ticket-categories", &guest).await;
    assert!(cats
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"] == "spa_wellness"));
    w.app
        .put(
            "/api/v1/ticket-categories/noise",
            &w.admin,
            json!({"name": "Noise", "active": false}),
        )
        .await
        .expect(200);
    let r = w
        .app
        .post(
            "/api/v1/me/tickets",
            &guest,
            json!({"property_id": w.a, "category": "noise", "subject": "Loud", "description": "Party next door"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["category"]);
}

#[actix_rt::test]
async fn clocks_stay_honest_through_pauses_retriage_and_replies() {
    let w = desk().await;
    let agent = w.token("agent").await;
    let guest = w.token("guest").await;
    use concierge::db::schema::tickets;
    use diesel::prelude::*;

    // Paused after the due time: the breach is recorded at the pause, resolving is not `met`.
    let t = w.open("agent", "high", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();
    diesel::update(tickets::table.find(&id))
        .set(tickets::resolution_due_at.eq(Some(later(Duration::minutes(-5)))))
        .execute(&mut **w.app.conn())
        .unwrap();
    w.move_to(&agent, &id, json!({"to": "awaiting_customer"}))
        .await
        .expect(200);
    w.move_to(&agent, &id, json!({"to": "resolved", "resolution_summary": "done"}))
        .await
        .expect(200);
    let sla = w
        .timeline(&agent, &format!("/api/v1/tickets/{id}/timeline?kind=sla"))
        .await;
    let events: Vec<String> = sla
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["data"]["event"].as_str().unwrap(),
                e["data"]["clock"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            "applied:-",
            "breached:resolution",
            "paused:resolution",
            "resumed:resolution",
            "met:first_response"
        ],
        "no resolution `met` after a breach"
    );
    let t = w.app.get(&format!("/api/v1/tickets/{id}"), &agent).await;
    assert_eq!(t.body["escalation_level"], 1);
    // The summary the guest saw was the first response: reopening does not breach it later.
    assert!(!t.body["sla"]["first_responded_at"].is_null());
    w.app
        .post(
            &format!("/api/v1/me/tickets/{id}/reopen"),
            &guest,
            json!({"reason": "again"}),
        )
        .await
        .expect(200);
    assert_eq!(w.sweep(later(Duration::hours(3))).first_response_breaches, 0);
    // The guest's view of the opening entry carries no internal fields.
    let seen = w
        .timeline(&guest, &format!("/api/v1/me/tickets/{id}/timeline?kind=created"))
        .await;
    assert_eq!(
        seen[0]["data"],
        json!({"kind": "complaint", "category": "cleanliness", "channel": "phone"})
    );

    // Re-triage while paused: the resolution clock gains the difference (medium 48 h → low 72 h).
    let t = w.open("agent", "medium", "email").await;
    let id = t["id"].as_str().unwrap().to_string();
    let waiting = w.move_to(&agent, &id, json!({"to": "awaiting_customer"})).await;
    let left = waiting.body["sla"]["resolution_remaining_seconds"].as_i64().unwrap();
    let p = w
        .app
        .patch(&format!("/api/v1/tickets/{id}"), &agent, json!({"severity": "low"}))
        .await;
    p.expect(200);
    assert_eq!(
        p.body["sla"]["resolution_remaining_seconds"].as_i64().unwrap(),
        left + 24 * 3600
    );
    assert_eq!(p.body["sla"]["resolution_paused"], true);

    // A guest's reply after the resolution holds off the auto-close.
    let t = w.open("agent", "low", "email").await;
    let id = t["id"].as_str().unwrap().to_string();
    w.move_to(&agent, &id, json!({"to": "resolved", "resolution_summary": "fixed"}))
        .await
        .expect(200);
    let c = w
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/comments"),
            &guest,
            json!({"body": "It is not fixed"}),
        )
        .await;
    c.expect(201);
    assert_eq!(c.body["body"], "It is not fixed", "the answer is the guest's own entry");
    assert_eq!(w.sweep(later(Duration::days(8))).tickets_auto_closed, 0);
    let t = w.app.get(&format!("/api/v1/tickets/{id}"), &agent).await;
    assert_eq!(t.body["state"], "resolved");
    assert!(!t.body["customer_replied_at"].is_null());
}
