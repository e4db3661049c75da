//! Tickets through HTTP: lifecycle, SLA clocks and the sweep with a simulated clock,
//! escalation, guest views, access rules.

use actix_web::http::Method;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::{json, Value};

use crate::support::{Auth, Resp, TestApp};

struct Desk {
    app: TestApp,
    admin: String,
    prop: String,
    agent_id: String,
    agent: String,
    manager_id: String,
    manager: String,
    guest_id: String,
    guest: String,
}

async fn desk() -> Desk {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "SHA").await;
    let (agent_id, agent) = app.staff_token(&admin, "agent", &[&prop]).await;
    let (manager_id, manager) = app.staff_token(&admin, "manager", &[&prop]).await;
    let (guest_id, guest) = app.guest("li.wei@example.com").await;
    Desk {
        app,
        admin,
        prop,
        agent_id,
        agent,
        manager_id,
        manager,
        guest_id,
        guest,
    }
}

impl Desk {
    async fn open(&self, token: &str, severity: &str, channel: &str) -> Value {
        let r = self
            .app
            .post(
                "/api/v1/tickets",
                token,
                json!({"property_id": self.prop, "customer_id": self.guest_id, "kind": "complaint",
                       "category": "cleanliness", "severity": severity, "channel": channel,
                       "subject": "Bathroom not cleaned", "description": "Room 1208 found the bathroom uncleaned at 16:00."}),
            )
            .await;
        r.expect(201);
        r.body.clone()
    }
    async fn move_to(&self, token: &str, id: &str, body: Value) -> Resp {
        self.app
            .post(&format!("/api/v1/tickets/{id}/transitions"), token, body)
            .await
    }
    async fn timeline(&self, token: &str, path: &str) -> Vec<Value> {
        let r = self.app.get(path, token).await;
        r.expect(200);
        r.body["data"].as_array().unwrap().clone()
    }
    fn sweep(&self, at: NaiveDateTime) -> concierge::app::jobs::JobReport {
        concierge::app::jobs::run_once(&self.app.state.pool, at).unwrap()
    }
}

fn ts(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

fn later(d: Duration) -> NaiveDateTime {
    Utc::now().naive_utc() + d
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| match e["kind"].as_str().unwrap() {
            "sla" => format!("sla:{}", e["data"]["event"].as_str().unwrap()),
            "state_change" => format!("state:{}", e["data"]["to"].as_str().unwrap()),
            k => k.to_string(),
        })
        .collect()
}

#[actix_rt::test]
async fn a_front_desk_complaint_from_first_contact_to_confirmed_close() {
    let d = desk().await;
    let t = d.open(&d.agent, "high", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(t["state"], "new");
    assert_eq!(t["owner_id"], d.agent_id, "first-contact ownership");
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
    let bad = d.move_to(&d.agent, &id, json!({"to": "closed"})).await;
    let p = bad.problem(409);
    assert_eq!(
        p["allowed"],
        json!(["acknowledged", "investigating", "awaiting_customer", "resolved"])
    );

    d.move_to(&d.agent, &id, json!({"to": "acknowledged"}))
        .await
        .expect(200);
    // An internal note is not a first response; a customer-visible one is.
    d.app
        .post(
            &format!("/api/v1/tickets/{id}/comments"),
            &d.agent,
            json!({"body": "Housekeeping supervisor informed"}),
        )
        .await
        .expect(201);
    let t = d.app.get(&format!("/api/v1/tickets/{id}"), &d.agent).await;
    assert!(t.body["sla"]["first_responded_at"].is_null());
    d.app
        .post(
            &format!("/api/v1/tickets/{id}/comments"),
            &d.agent,
            json!({"body": "We are sorry — housekeeping is on the way.", "visibility": "customer_visible"}),
        )
        .await
        .expect(201);
    d.move_to(&d.agent, &id, json!({"to": "investigating"}))
        .await
        .expect(200);

    // Waiting for the guest pauses the resolution clock; the guest's reply resumes it.
    let w = d
        .move_to(
            &d.agent,
            &id,
            json!({"to": "awaiting_customer", "note": "asked which time suits"}),
        )
        .await;
    w.expect(200);
    assert_eq!(w.body["sla"]["resolution_paused"], true);
    assert!(w.body["sla"]["resolution_due_at"].is_null());
    let left = w.body["sla"]["resolution_remaining_seconds"].as_i64().unwrap();
    assert!((23 * 3600..=24 * 3600).contains(&left), "{left}");
    d.app
        .post(
            &format!("/api/v1/me/tickets/{id}/comments"),
            &d.guest,
            json!({"body": "After 18:00 please"}),
        )
        .await
        .expect(201);
    let t = d.app.get(&format!("/api/v1/tickets/{id}"), &d.agent).await;
    assert_eq!(t.body["state"], "investigating", "a guest reply resumes the work");
    assert_eq!(t.body["sla"]["resolution_paused"], false);
    assert!(ts(&t.body["sla"]["resolution_due_at"]) > Utc::now() + Duration::hours(23));

    // Resolving needs a summary, shown to the guest.
    let r = d.move_to(&d.agent, &id, json!({"to": "resolved"})).await;
    assert_eq!(r.fields(), vec!["resolution_summary"]);
    let r = d
        .move_to(
            &d.agent,
            &id,
            json!({"to": "resolved", "resolution_summary": "Bathroom cleaned at 18:10; apology given."}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["state"], "resolved");

    // The guest's view: own ticket, customer-visible entries only.
    let mine = d.app.get(&format!("/api/v1/me/tickets/{id}"), &d.guest).await;
    mine.expect(200);
    assert_eq!(mine.body["can_confirm"], true);
    assert!(mine.body.get("owner_id").is_none() && mine.body.get("sla").is_none());
    let seen = d.timeline(&d.guest, &format!("/api/v1/me/tickets/{id}/timeline")).await;
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
    let c = d
        .app
        .post(&format!("/api/v1/me/tickets/{id}/confirm"), &d.guest, json!({}))
        .await;
    c.expect(200);
    assert_eq!(c.body["state"], "closed");
    assert_eq!(c.body["can_reopen"], true);
    d.app
        .post(&format!("/api/v1/me/tickets/{id}/confirm"), &d.guest, json!({}))
        .await
        .expect(409);
    let re = d
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/reopen"),
            &d.guest,
            json!({"reason": "The shower drain is blocked too"}),
        )
        .await;
    re.expect(200);
    assert_eq!(re.body["state"], "reopened");
    let t = d.app.get(&format!("/api/v1/tickets/{id}"), &d.agent).await;
    assert_eq!(t.body["reopen_count"], 1);
    assert!(t.body["resolved_at"].is_null());

    // The staff timeline tells the whole story in order.
    let all = d
        .timeline(&d.agent, &format!("/api/v1/tickets/{id}/timeline?limit=200"))
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
    let sla = d
        .timeline(&d.agent, &format!("/api/v1/tickets/{id}/timeline?kind=sla"))
        .await;
    assert_eq!(sla.len(), 6);
    // Cursor paging walks the same feed.
    let first = d
        .app
        .get(&format!("/api/v1/tickets/{id}/timeline?limit=5"), &d.agent)
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = d
        .app
        .get(
            &format!("/api/v1/tickets/{id}/timeline?limit=5&cursor={cursor}"),
            &d.agent,
        )
        .await;
    assert_eq!(second.body["data"][0]["id"], all[5]["id"]);
}

#[actix_rt::test]
async fn the_sweep_marks_breaches_once_and_climbs_the_ladder() {
    let d = desk().await;
    let t = d.open(&d.agent, "high", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();

    // Before the due time nothing happens.
    let r = d.sweep(later(Duration::minutes(30)));
    assert_eq!(r.first_response_breaches, 0);
    // Two hours on, nobody has answered: first response breached, level 1 (the property's manager).
    let r = d.sweep(later(Duration::hours(2)));
    assert_eq!(r.first_response_breaches, 1);
    let r = d.sweep(later(Duration::hours(3)));
    assert_eq!(r.first_response_breaches, 0, "recorded once");
    let t = d.app.get(&format!("/api/v1/tickets/{id}"), &d.manager).await;
    assert_eq!(t.body["escalation_level"], 1);
    assert_eq!(t.body["sla"]["breached"], true);
    assert!(!t.body["sla"]["first_response_breached_at"].is_null());
    let esc = d
        .timeline(&d.manager, &format!("/api/v1/tickets/{id}/timeline?kind=escalation"))
        .await;
    assert_eq!(esc.len(), 1);
    assert_eq!(esc[0]["data"]["to_level"], 1);
    assert_eq!(esc[0]["data"]["notified"][0]["staff_id"], d.manager_id, "{}", esc[0]);
    // A late answer does not undo the breach nor record `met`.
    d.app
        .post(
            &format!("/api/v1/tickets/{id}/comments"),
            &d.agent,
            json!({"body": "Sorry for the wait", "visibility": "customer_visible"}),
        )
        .await
        .expect(201);
    let sla = d
        .timeline(&d.agent, &format!("/api/v1/tickets/{id}/timeline?kind=sla"))
        .await;
    assert_eq!(kinds(&sla), vec!["sla:applied", "sla:breached"]);

    // A day later the resolution clock breaches too: level 2.
    let r = d.sweep(later(Duration::hours(25)));
    assert_eq!(r.resolution_breaches, 1);
    let t = d.app.get(&format!("/api/v1/tickets/{id}"), &d.manager).await;
    assert_eq!(t.body["escalation_level"], 2);

    // Filters: breached and due_before.
    let other = d.open(&d.agent, "low", "email").await;
    let breached = d.app.get("/api/v1/tickets?breached=true", &d.manager).await;
    let ids: Vec<&str> = breached.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id.as_str()]);
    let soon = (Utc::now() + Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let due = d
        .app
        .get(
            &format!("/api/v1/tickets?due_before={}", soon.replace('+', "%2B")),
            &d.manager,
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
    let crit = d.open(&d.manager, "critical", "on_site").await;
    assert_eq!(crit["escalation_level"], 3);
    assert_eq!(
        ts(&crit["sla"]["first_response_due_at"]) - ts(&crit["created_at"]),
        Duration::minutes(15)
    );
    let cid = crit["id"].as_str().unwrap();
    let esc = d
        .timeline(&d.admin, &format!("/api/v1/tickets/{cid}/timeline?kind=escalation"))
        .await;
    assert_eq!(esc[0]["data"]["notified"][0]["role"], "admin");
    // A breach at the top stays at 3.
    d.sweep(later(Duration::hours(1)));
    let t = d.app.get(&format!("/api/v1/tickets/{cid}"), &d.admin).await;
    assert_eq!(t.body["escalation_level"], 3);
}

#[actix_rt::test]
async fn parallel_sweeps_record_each_breach_once() {
    let d = desk().await;
    for _ in 0..6 {
        d.open(&d.agent, "high", "phone").await;
    }
    let pool = d.app.state.pool.clone();
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
        .get_result(&mut **d.app.conn())
        .unwrap();
    assert_eq!(escalations, 6);
}

#[actix_rt::test]
async fn resolved_tickets_close_themselves_after_seven_quiet_days() {
    let d = desk().await;
    let t = d.open(&d.agent, "low", "email").await;
    let id = t["id"].as_str().unwrap();
    d.move_to(
        &d.agent,
        id,
        json!({"to": "resolved", "resolution_summary": "Refunded the minibar charge"}),
    )
    .await
    .expect(200);
    assert_eq!(d.sweep(later(Duration::days(6))).tickets_auto_closed, 0);
    assert_eq!(d.sweep(later(Duration::days(8))).tickets_auto_closed, 1);
    let t = d.app.get(&format!("/api/v1/tickets/{id}"), &d.agent).await;
    assert_eq!(t.body["state"], "closed");
    // Past the reopen window (30 days after closing) the guest must open a new ticket.
    use concierge::db::schema::tickets;
    use diesel::prelude::*;
    diesel::update(tickets::table.find(id))
        .set(tickets::closed_at.eq(later(Duration::days(-31))))
        .execute(&mut **d.app.conn())
        .unwrap();
    let r = d
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/reopen"),
            &d.guest,
            json!({"reason": "Still charged"}),
        )
        .await;
    assert!(r.problem(409)["detail"].as_str().unwrap().contains("30 days"));
}

#[actix_rt::test]
async fn sla_policies_and_business_calendars_are_data() {
    let d = desk().await;
    // The agent may read, not change, the rules.
    let list = d.app.get("/api/v1/sla-policies", &d.agent).await;
    list.expect(200);
    assert_eq!(list.body[1]["severity"], "medium");
    assert_eq!(list.body[1]["first_response_minutes"], 240);
    d.app
        .put(
            "/api/v1/sla-policies/medium",
            &d.agent,
            json!({"first_response_minutes": 30, "resolution_minutes": 600}),
        )
        .await
        .expect(403);
    // Resolution shorter than the first response is refused, nothing changes.
    let bad = d
        .app
        .put(
            &format!("/api/v1/properties/{}/sla-policies/medium", d.prop),
            &d.admin,
            json!({"first_response_minutes": 60, "resolution_minutes": 30}),
        )
        .await;
    assert_eq!(bad.fields(), vec!["resolution_minutes"]);
    d.app
        .put(
            &format!("/api/v1/properties/{}/sla-policies/medium", d.prop),
            &d.admin,
            json!({"first_response_minutes": 30, "resolution_minutes": 600}),
        )
        .await
        .expect(200);
    let t = d.open(&d.agent, "medium", "email").await;
    assert_eq!(
        ts(&t["sla"]["first_response_due_at"]) - ts(&t["created_at"]),
        Duration::minutes(30)
    );
    d.app
        .delete(&format!("/api/v1/properties/{}/sla-policies/medium", d.prop), &d.admin)
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
    let bad = d
        .app
        .put(
            &format!("/api/v1/properties/{}/business-calendar", d.prop),
            &d.admin,
            json!({"week": [[["18:00","09:00"]],[],[],[],[],[],[]]}),
        )
        .await;
    assert_eq!(bad.fields(), vec!["week[0][0]"]);
    d.app
        .put(
            &format!("/api/v1/properties/{}/business-calendar", d.prop),
            &d.admin,
            json!({"week": week, "holidays": ["2027-01-01"]}),
        )
        .await
        .expect(200);
    let t = d.open(&d.agent, "low", "email").await;
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
    let onsite = d.open(&d.agent, "low", "on_site").await;
    assert_eq!(
        ts(&onsite["sla"]["first_response_due_at"]) - ts(&onsite["created_at"]),
        Duration::minutes(15)
    );
    let got = d
        .app
        .get(&format!("/api/v1/properties/{}/business-calendar", d.prop), &d.agent)
        .await;
    assert_eq!(got.body["holidays"], json!(["2027-01-01"]));

    // Categories are data too: a retired one cannot be chosen for new tickets.
    d.app
        .put(
            "/api/v1/ticket-categories/spa_wellness",
            &d.admin,
            json!({"name": "Spa and wellness"}),
        )
        .await
        .expect(201);
    let cats = d.app.get("/api/v1/ticket-categories", &d.guest).await;
    assert!(cats
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"] == "spa_wellness"));
    d.app
        .put(
            "/api/v1/ticket-categories/noise",
            &d.admin,
            json!({"name": "Noise", "active": false}),
        )
        .await
        .expect(200);
    let r = d
        .app
        .post(
            "/api/v1/me/tickets",
            &d.guest,
            json!({"property_id": d.prop, "category": "noise", "subject": "Loud", "description": "Party next door"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["category"]);
}

#[actix_rt::test]
async fn ticket_access_rules() {
    let d = desk().await;
    let t = d.open(&d.agent, "medium", "phone").await;
    let id = t["id"].as_str().unwrap();
    // An agent of another property neither sees nor touches it.
    let other = d.app.create_property(&d.admin, "BJS").await;
    let (_, stranger) = d.app.staff_token(&d.admin, "agent", &[&other]).await;
    d.app.get(&format!("/api/v1/tickets/{id}"), &stranger).await.expect(404);
    d.move_to(&stranger, id, json!({"to": "acknowledged"}))
        .await
        .expect(404);
    let q = d.app.get("/api/v1/tickets", &stranger).await;
    assert_eq!(q.body["data"].as_array().unwrap().len(), 0);
    let r = d
        .app
        .post("/api/v1/tickets", &stranger, json!({"property_id": d.prop, "kind": "inquiry", "category": "other", "severity": "low", "channel": "phone", "subject": "x", "description": "y"}))
        .await;
    assert_eq!(r.fields(), vec!["property_id"]);
    // Another agent of the same property may work on it but not take it from its owner.
    let (colleague_id, colleague) = d.app.staff_token(&d.admin, "agent", &[&d.prop]).await;
    d.app
        .get(&format!("/api/v1/tickets/{id}"), &colleague)
        .await
        .expect(200);
    d.app
        .post(
            &format!("/api/v1/tickets/{id}/handover"),
            &colleague,
            json!({"to_staff_id": colleague_id}),
        )
        .await
        .expect(403);
    // The owner hands over; the stranger cannot receive it (not at this property).
    let h = d
        .app
        .post(
            &format!("/api/v1/tickets/{id}/handover"),
            &d.agent,
            json!({"to_staff_id": colleague_id, "note": "end of shift"}),
        )
        .await;
    h.expect(200);
    assert_eq!(h.body["owner_id"], colleague_id);
    // Analysts get reports, not case files; agents do not configure.
    let (_, analyst) = d.app.staff_token(&d.admin, "analyst", &[]).await;
    d.app.get(&format!("/api/v1/tickets/{id}"), &analyst).await.expect(403);
    d.app.get("/api/v1/tickets", &analyst).await.expect(403);
    d.app
        .put("/api/v1/ticket-categories/vip", &d.agent, json!({"name": "VIP"}))
        .await
        .expect(403);
    // A guest reads only their own tickets.
    let (_, other_guest) = d.app.guest("zhang.min@example.com").await;
    d.app
        .get(&format!("/api/v1/me/tickets/{id}"), &other_guest)
        .await
        .expect(404);
    d.app
        .get(&format!("/api/v1/me/tickets/{id}/timeline"), &other_guest)
        .await
        .expect(404);
    d.app
        .post(
            &format!("/api/v1/me/tickets/{id}/comments"),
            &other_guest,
            json!({"body": "hi"}),
        )
        .await
        .expect(404);
    d.app.get(&format!("/api/v1/tickets/{id}"), &d.guest).await.expect(403);
    assert_eq!(
        d.app.get("/api/v1/me/tickets", &other_guest).await.body["data"],
        json!([])
    );
    assert_eq!(
        d.app.get("/api/v1/me/tickets", &d.guest).await.body["data"][0]["id"],
        id
    );
    // Integrations: tickets:write opens tickets at its properties, with an Idempotency-Key.
    let ota = d.app.api_key(&d.admin, &["tickets:write"], &[&d.prop]).await;
    let review = json!({"property_id": d.prop, "kind": "complaint", "category": "noise", "severity": "medium",
                        "channel": "ota_review", "subject": "2-star review", "description": "Noisy at night", "source_kind": "ota_review", "source_id": "BK-991"});
    d.app.post("/api/v1/tickets", &ota, review.clone()).await.expect(428);
    let opened = d
        .app
        .send(
            Method::POST,
            "/api/v1/tickets",
            Auth::Bearer(&ota),
            Some(review.clone()),
            &[("idempotency-key", "bk-991")],
        )
        .await;
    opened.expect(201);
    assert!(opened.body["owner_id"].is_null());
    assert_eq!(
        ts(&opened.body["sla"]["first_response_due_at"]) - ts(&opened.body["created_at"]),
        Duration::hours(4),
        "medium 4 h < 24 h cap"
    );
    let again = d
        .app
        .send(
            Method::POST,
            "/api/v1/tickets",
            Auth::Bearer(&ota),
            Some(review),
            &[("idempotency-key", "bk-991")],
        )
        .await;
    assert_eq!(again.body["id"], opened.body["id"], "replayed, not opened twice");
    let elsewhere = d
        .app
        .send(
            Method::POST,
            "/api/v1/tickets",
            Auth::Bearer(&ota),
            Some(json!({"property_id": other, "kind": "complaint", "category": "noise", "severity": "low", "channel": "ota_review", "subject": "x", "description": "y"})),
            &[("idempotency-key", "bk-992")],
        )
        .await;
    assert_eq!(elsewhere.fields(), vec!["property_id"]);
    d.app
        .post(
            &format!("/api/v1/tickets/{id}/handover"),
            &ota,
            json!({"to_staff_id": d.agent_id}),
        )
        .await
        .expect(403);
    let reader = d.app.api_key(&d.admin, &["customers:read"], &[]).await;
    d.app.get("/api/v1/tickets", &reader).await.expect(403);
}

#[actix_rt::test]
async fn bad_ticket_input_is_refused_and_changes_nothing() {
    let d = desk().await;
    let before = d.app.count("tickets");
    let r = d
        .app
        .post(
            "/api/v1/tickets",
            &d.agent,
            json!({"property_id": d.prop, "kind": "complaint", "category": "nope", "severity": "high", "channel": "phone", "subject": " ", "description": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["subject"]);
    let r = d
        .app
        .post(
            "/api/v1/tickets",
            &d.agent,
            json!({"property_id": d.prop, "kind": "complaint", "category": "nope", "severity": "high", "channel": "phone", "subject": "s", "description": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["category"]);
    let r = d
        .app
        .post(
            "/api/v1/tickets",
            &d.agent,
            json!({"property_id": d.prop, "kind": "complaint", "category": "noise", "severity": "urgent", "channel": "phone", "subject": "s", "description": "x"}),
        )
        .await;
    r.expect(422);
    // A stay of someone else.
    let (other_guest, _) = d.app.guest("other@example.com").await;
    d.app.insert_stay(&other_guest, &d.prop, "CNF-9");
    let stay: String = {
        use concierge::db::schema::stays;
        use diesel::prelude::*;
        stays::table.select(stays::id).first(&mut **d.app.conn()).unwrap()
    };
    let r = d
        .app
        .post(
            "/api/v1/tickets",
            &d.agent,
            json!({"property_id": d.prop, "customer_id": d.guest_id, "stay_id": stay, "kind": "complaint", "category": "noise", "severity": "low", "channel": "phone", "subject": "s", "description": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["stay_id"]);
    assert_eq!(d.app.count("tickets"), before, "nothing written");
    // Stale If-Match: 412, nothing changes.
    let t = d.open(&d.agent, "low", "phone").await;
    let id = t["id"].as_str().unwrap();
    d.app
        .send(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            Auth::Bearer(&d.agent),
            Some(json!({"severity": "high"})),
            &[("if-match", "\"1\"")],
        )
        .await
        .expect(200);
    let stale = d
        .app
        .send(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            Auth::Bearer(&d.agent),
            Some(json!({"severity": "low"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    stale.expect(412);
    let t = d.app.get(&format!("/api/v1/tickets/{id}"), &d.agent).await;
    assert_eq!(t.body["severity"], "high");
    assert_eq!(
        ts(&t.body["sla"]["first_response_due_at"]) - ts(&t.body["created_at"]),
        Duration::hours(1),
        "re-triage re-applies the SLA from the opening time"
    );
}

#[actix_rt::test]
async fn compensation_needs_approval_above_the_offerers_limit_and_posts_points_once() {
    let d = desk().await;
    let t = d.open(&d.agent, "high", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();
    let offer = |body: Value| {
        let (app, agent, path) = (&d.app, d.agent.clone(), format!("/api/v1/tickets/{id}/compensations"));
        async move { app.post(&path, &agent, body).await }
    };
    let balance = || async {
        d.app.get("/api/v1/me/loyalty", &d.guest).await.body["balance"]
            .as_i64()
            .unwrap()
    };

    // Within the agent's limit (500 units): approved at once.
    let r =
        offer(json!({"kind": "refund", "amount": {"amount": "300.00", "currency": "CNY"}, "note": "Minibar refunded"}))
            .await;
    r.expect(201);
    assert_eq!(r.body["state"], "approved");
    // Bad offers change nothing.
    let before = d.app.count("ticket_compensations");
    assert_eq!(
        offer(json!({"kind": "points", "note": "x"})).await.fields(),
        vec!["points"]
    );
    assert_eq!(
        offer(json!({"kind": "refund", "amount": {"amount": "10.00", "currency": "EUR"}, "note": "x"}))
            .await
            .fields(),
        vec!["amount.currency"]
    );
    assert_eq!(
        offer(json!({"kind": "apology", "points": 5, "note": "x"}))
            .await
            .fields(),
        vec!["points"]
    );
    assert_eq!(d.app.count("ticket_compensations"), before);

    // 3,000 points is above the agent's 2,000: it waits for a manager.
    let p = offer(json!({"kind": "points", "points": 3000, "note": "Goodwill points"})).await;
    p.expect(201);
    assert_eq!(p.body["state"], "pending_approval");
    let cid = p.body["id"].as_str().unwrap().to_string();
    assert_eq!(balance().await, 0, "nothing posted before approval");
    let queue = d
        .app
        .get("/api/v1/compensations?state=pending_approval", &d.manager)
        .await;
    assert_eq!(queue.body["data"][0]["id"], cid);
    d.app
        .post(&format!("/api/v1/compensations/{cid}/approve"), &d.agent, json!({}))
        .await
        .expect(403);
    // The manager's approval is retried eight times at once: the points post once.
    let path = format!("/api/v1/compensations/{cid}/approve");
    let tries = (0..8).map(|_| d.app.post(&path, &d.manager, json!({"note": "ok"})));
    let answers = futures_util::future::join_all(tries).await;
    for a in &answers {
        a.expect(200);
        assert_eq!(a.body["state"], "approved");
    }
    let entry = answers[0].body["ledger_entry_id"].as_str().unwrap().to_string();
    assert!(answers.iter().all(|a| a.body["ledger_entry_id"] == entry.as_str()));
    assert_eq!(balance().await, 3000);
    let statement = d.app.get("/api/v1/me/loyalty/entries", &d.guest).await;
    let data = statement.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["kind"], "compensation");
    assert_eq!(data[0]["id"], entry.as_str());
    d.app
        .post(&format!("/api/v1/compensations/{cid}/reject"), &d.manager, json!({}))
        .await
        .expect(409);

    // Above the manager's 20,000 only an admin may approve.
    let big = d
        .app
        .post(
            &format!("/api/v1/tickets/{id}/compensations"),
            &d.manager,
            json!({"kind": "points", "points": 25000, "note": "Ruined honeymoon"}),
        )
        .await;
    assert_eq!(big.body["state"], "pending_approval");
    let bid = big.body["id"].as_str().unwrap();
    let (_, other_manager) = d.app.staff_token(&d.admin, "manager", &[&d.prop]).await;
    d.app
        .post(
            &format!("/api/v1/compensations/{bid}/approve"),
            &other_manager,
            json!({}),
        )
        .await
        .expect(403);
    d.app
        .post(&format!("/api/v1/compensations/{bid}/approve"), &d.admin, json!({}))
        .await
        .expect(200);
    assert_eq!(balance().await, 28000);

    // A rejected voucher posts nothing and cannot be approved afterwards.
    let v =
        offer(json!({"kind": "voucher", "amount": {"amount": "800.00", "currency": "CNY"}, "note": "Dinner voucher"}))
            .await;
    let vid = v.body["id"].as_str().unwrap();
    d.app
        .post(
            &format!("/api/v1/compensations/{vid}/reject"),
            &d.manager,
            json!({"note": "refund given already"}),
        )
        .await
        .expect(200);
    d.app
        .post(&format!("/api/v1/compensations/{vid}/approve"), &d.admin, json!({}))
        .await
        .expect(409);

    // The guest sees the approved compensation on their ticket, not the pending or rejected.
    let seen = d
        .timeline(&d.guest, &format!("/api/v1/me/tickets/{id}/timeline?kind=compensation"))
        .await;
    let events: Vec<&str> = seen.iter().map(|e| e["data"]["event"].as_str().unwrap()).collect();
    assert_eq!(events, vec!["approved", "approved", "approved"]);
    let all = d
        .app
        .get(&format!("/api/v1/tickets/{id}/compensations"), &d.agent)
        .await;
    assert_eq!(all.body.as_array().unwrap().len(), 4);
    // Points need a guest on the ticket.
    let anon = d
        .app
        .post(
            "/api/v1/tickets",
            &d.agent,
            json!({"property_id": d.prop, "kind": "complaint", "category": "noise", "severity": "low", "channel": "phone", "subject": "s", "description": "anonymous"}),
        )
        .await;
    let aid = anon.body["id"].as_str().unwrap();
    let r = d
        .app
        .post(
            &format!("/api/v1/tickets/{aid}/compensations"),
            &d.agent,
            json!({"kind": "points", "points": 10, "note": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["kind"]);
}

#[actix_rt::test]
async fn the_report_counts_times_and_rates_per_property_and_period() {
    let d = desk().await;
    let mut ids = Vec::new();
    for sev in ["low", "medium", "high", "high"] {
        ids.push(d.open(&d.agent, sev, "phone").await["id"].as_str().unwrap().to_string());
    }
    // Responses 10, 20 and 60 minutes after opening; two resolved after 2 h and 5 h; one reopened.
    use concierge::db::schema::tickets;
    use diesel::prelude::*;
    let set = |id: &str, responded: Option<i64>, resolved: Option<i64>| {
        let created: NaiveDateTime = tickets::table
            .find(id)
            .select(tickets::created_at)
            .first(&mut **d.app.conn())
            .unwrap();
        diesel::update(tickets::table.find(id))
            .set((
                tickets::first_responded_at.eq(responded.map(|m| created + Duration::minutes(m))),
                tickets::resolved_at.eq(resolved.map(|m| created + Duration::minutes(m))),
            ))
            .execute(&mut **d.app.conn())
            .unwrap();
    };
    for id in ids.iter().take(2) {
        d.move_to(&d.agent, id, json!({"to": "resolved", "resolution_summary": "done"}))
            .await
            .expect(200);
    }
    d.app
        .post(
            &format!("/api/v1/me/tickets/{}/reopen", ids[1]),
            &d.guest,
            json!({"reason": "not fixed"}),
        )
        .await
        .expect(200);
    set(&ids[0], Some(10), Some(120));
    set(&ids[1], Some(20), None);
    set(&ids[2], Some(60), None);
    set(&ids[3], None, None);
    // The last high ticket breaches its first response.
    d.sweep(later(Duration::hours(2)));
    // Another property's ticket stays out of this property's report.
    let other = d.app.create_property(&d.admin, "BJS").await;
    d.app
        .post(
            "/api/v1/tickets",
            &d.admin,
            json!({"property_id": other, "kind": "inquiry", "category": "other", "severity": "low", "channel": "email", "subject": "s", "description": "d"}),
        )
        .await
        .expect(201);

    let (_, analyst) = d.app.staff_token(&d.admin, "analyst", &[&d.prop]).await;
    let r = d.app.get("/api/v1/ticket-reports", &analyst).await;
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
    let all = d.app.get("/api/v1/ticket-reports", &d.admin).await;
    assert_eq!(all.body["total"], 5);
    let one = d
        .app
        .get(&format!("/api/v1/ticket-reports?property_id={other}"), &d.admin)
        .await;
    assert_eq!(one.body["total"], 1);
    // An empty period: zero counts and null rates, not errors.
    let empty = d
        .app
        .get("/api/v1/ticket-reports?from=2020-01-01&to=2020-01-31", &d.admin)
        .await;
    empty.expect(200);
    assert_eq!(empty.body["total"], 0);
    assert!(empty.body["breach_rate"].is_null());
    assert!(empty.body["first_response"]["median_minutes"].is_null());
    // Bad periods and foreign properties are 422; agents get no reports.
    assert_eq!(
        d.app
            .get("/api/v1/ticket-reports?from=2026-02-01&to=2026-01-01", &d.admin)
            .await
            .fields(),
        vec!["from"]
    );
    assert_eq!(
        d.app
            .get("/api/v1/ticket-reports?from=2020-01-01&to=2026-01-01", &d.admin)
            .await
            .fields(),
        vec!["from"]
    );
    assert_eq!(
        d.app
            .get(&format!("/api/v1/ticket-reports?property_id={other}"), &analyst)
            .await
            .fields(),
        vec!["property_id"]
    );
    d.app.get("/api/v1/ticket-reports", &d.agent).await.expect(403);
}

#[actix_rt::test]
async fn escalation_contacts_and_ticket_settings_are_admin_data() {
    let d = desk().await;
    let (gm_id, _) = d.app.staff_token(&d.admin, "manager", &[&d.prop]).await;
    let path = format!("/api/v1/properties/{}/escalation-contacts", d.prop);
    // Agents cannot be contacts, unknown ids are named, nothing is stored on failure.
    let bad = d
        .app
        .put(
            &path,
            &d.admin,
            json!({"department_manager": [d.agent_id], "general_manager": ["nobody"]}),
        )
        .await;
    assert_eq!(bad.fields(), vec!["department_manager[0]", "general_manager[0]"]);
    d.app
        .put(&path, &d.manager, json!({"department_manager": [d.manager_id]}))
        .await
        .expect(403);
    let ok = d
        .app
        .put(
            &path,
            &d.admin,
            json!({"department_manager": [d.manager_id], "general_manager": [gm_id]}),
        )
        .await;
    ok.expect(200);
    assert_eq!(ok.body["general_manager"], json!([gm_id]));
    // A critical ticket now notifies the property's general manager, not the group's admins.
    let crit = d.open(&d.agent, "critical", "phone").await;
    let cid = crit["id"].as_str().unwrap();
    let esc = d
        .timeline(&d.manager, &format!("/api/v1/tickets/{cid}/timeline?kind=escalation"))
        .await;
    assert_eq!(
        esc[0]["data"]["notified"],
        json!([{"staff_id": gm_id, "display_name": "Test manager", "role": "manager"}])
    );

    // Settings: validated, admin only, applied from then on.
    let s = d.app.get("/api/v1/ticket-settings", &d.agent).await;
    assert_eq!(s.body["auto_close_days"], 7);
    assert_eq!(
        s.body["compensation_limits"]["agent"],
        json!({"money": 500, "points": 2000})
    );
    let limits = json!({"agent": {"money": 100, "points": 500}, "manager": {"money": 50, "points": 20000}});
    let bad = d
        .app
        .put(
            "/api/v1/ticket-settings",
            &d.admin,
            json!({"auto_close_days": 0, "reopen_window_days": 30, "compensation_limits": limits}),
        )
        .await;
    assert_eq!(bad.fields(), vec!["auto_close_days", "compensation_limits.agent.money"]);
    let limits = json!({"agent": {"money": 100, "points": 500}, "manager": {"money": 5000, "points": 20000}});
    d.app
        .put(
            "/api/v1/ticket-settings",
            &d.manager,
            json!({"auto_close_days": 3, "reopen_window_days": 10, "compensation_limits": limits}),
        )
        .await
        .expect(403);
    d.app
        .put(
            "/api/v1/ticket-settings",
            &d.admin,
            json!({"auto_close_days": 3, "reopen_window_days": 10, "compensation_limits": limits}),
        )
        .await
        .expect(200);
    // The agent's limit is now 500 points: 600 waits for approval.
    let r = d
        .app
        .post(
            &format!("/api/v1/tickets/{cid}/compensations"),
            &d.agent,
            json!({"kind": "points", "points": 600, "note": "sorry"}),
        )
        .await;
    assert_eq!(r.body["state"], "pending_approval");
    // Auto-close after 3 days now.
    d.move_to(
        &d.agent,
        cid,
        json!({"to": "resolved", "resolution_summary": "handled"}),
    )
    .await
    .expect(200);
    assert_eq!(d.sweep(later(Duration::days(4))).tickets_auto_closed, 1);
}

#[actix_rt::test]
async fn clocks_stay_honest_through_pauses_retriage_and_replies() {
    let d = desk().await;
    use concierge::db::schema::tickets;
    use diesel::prelude::*;

    // Paused after the due time: the breach is recorded at the pause, resolving is not `met`.
    let t = d.open(&d.agent, "high", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();
    diesel::update(tickets::table.find(&id))
        .set(tickets::resolution_due_at.eq(Some(later(Duration::minutes(-5)))))
        .execute(&mut **d.app.conn())
        .unwrap();
    d.move_to(&d.agent, &id, json!({"to": "awaiting_customer"}))
        .await
        .expect(200);
    d.move_to(&d.agent, &id, json!({"to": "resolved", "resolution_summary": "done"}))
        .await
        .expect(200);
    let sla = d
        .timeline(&d.agent, &format!("/api/v1/tickets/{id}/timeline?kind=sla"))
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
    let t = d.app.get(&format!("/api/v1/tickets/{id}"), &d.agent).await;
    assert_eq!(t.body["escalation_level"], 1);
    // The summary the guest saw was the first response: reopening does not breach it later.
    assert!(!t.body["sla"]["first_responded_at"].is_null());
    d.app
        .post(
            &format!("/api/v1/me/tickets/{id}/reopen"),
            &d.guest,
            json!({"reason": "again"}),
        )
        .await
        .expect(200);
    assert_eq!(d.sweep(later(Duration::hours(3))).first_response_breaches, 0);
    // The guest's view of the opening entry carries no internal fields.
    let seen = d
        .timeline(&d.guest, &format!("/api/v1/me/tickets/{id}/timeline?kind=created"))
        .await;
    assert_eq!(
        seen[0]["data"],
        json!({"kind": "complaint", "category": "cleanliness", "channel": "phone"})
    );

    // Re-triage while paused: the resolution clock gains the difference (medium 48 h → low 72 h).
    let t = d.open(&d.agent, "medium", "email").await;
    let id = t["id"].as_str().unwrap().to_string();
    let w = d.move_to(&d.agent, &id, json!({"to": "awaiting_customer"})).await;
    let left = w.body["sla"]["resolution_remaining_seconds"].as_i64().unwrap();
    let p = d
        .app
        .patch(&format!("/api/v1/tickets/{id}"), &d.agent, json!({"severity": "low"}))
        .await;
    p.expect(200);
    assert_eq!(
        p.body["sla"]["resolution_remaining_seconds"].as_i64().unwrap(),
        left + 24 * 3600
    );
    assert_eq!(p.body["sla"]["resolution_paused"], true);

    // A guest's reply after the resolution holds off the auto-close.
    let t = d.open(&d.agent, "low", "email").await;
    let id = t["id"].as_str().unwrap().to_string();
    d.move_to(&d.agent, &id, json!({"to": "resolved", "resolution_summary": "fixed"}))
        .await
        .expect(200);
    let c = d
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/comments"),
            &d.guest,
            json!({"body": "It is not fixed"}),
        )
        .await;
    c.expect(201);
    assert_eq!(c.body["body"], "It is not fixed", "the answer is the guest's own entry");
    assert_eq!(d.sweep(later(Duration::days(8))).tickets_auto_closed, 0);
    let t = d.app.get(&format!("/api/v1/tickets/{id}"), &d.agent).await;
    assert_eq!(t.body["state"], "resolved");
    assert!(!t.body["customer_replied_at"].is_null());
}

#[actix_rt::test]
async fn concurrent_edits_with_one_etag_apply_once() {
    let d = desk().await;
    let t = d.open(&d.agent, "low", "phone").await;
    let id = t["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/tickets/{id}");
    let sevs = [
        "medium", "high", "critical", "medium", "high", "critical", "medium", "high",
    ];
    let edits = sevs.iter().map(|s| {
        d.app.send(
            Method::PATCH,
            &path,
            Auth::Bearer(&d.agent),
            Some(json!({"severity": s})),
            &[("if-match", "\"1\"")],
        )
    });
    let answers = futures_util::future::join_all(edits).await;
    let ok = answers.iter().filter(|a| a.status.as_u16() == 200).count();
    let stale = answers.iter().filter(|a| a.status.as_u16() == 412).count();
    assert_eq!((ok, stale), (1, 7), "one edit wins, the others see they were stale");
    let t = d.app.get(&path, &d.agent).await;
    assert_eq!(t.body["version"], 2);
}
