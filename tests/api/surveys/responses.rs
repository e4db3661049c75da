//! Surveys through HTTP: check-out → invitation → answer (app or link) → scores → service
//! recovery and bonus; bad answers, reused tokens and expired invitations change nothing.

use actix_web::http::Method;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::support::{Auth, TestApp};

struct Hotel {
    app: TestApp,
    admin: String,
    manager: String,
    pms: String,
    prop: String,
    guest_id: String,
    guest: String,
}

async fn hotel() -> Hotel {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "SHA").await;
    let (_, manager) = app.staff_token(&admin, "manager", &[&prop]).await;
    let pms = app.api_key(&admin, &["stays:write", "customers:write"], &[]).await;
    let (guest_id, guest) = app.guest("mei@example.com").await;
    app.put(
        "/api/v1/customers/external/opera/P-1",
        &pms,
        json!({"given_name": "Mei", "family_name": "Lin", "email": "mei@example.com"}),
    )
    .await
    .expect(200);
    Hotel {
        app,
        admin,
        manager,
        pms,
        prop,
        guest_id,
        guest,
    }
}

impl Hotel {
    /// A stay pushed in house, then checked out; returns its id.
    async fn check_out(&self, cn: &str) -> String {
        let mut id = String::new();
        let today = Utc::now().date_naive();
        let (check_in, check_out) = (today - Duration::days(2), today);
        for status in ["in_house", "checked_out"] {
            let key = format!("{cn}-{status}");
            let r = self
                .app
                .send(
                    Method::POST,
                    "/api/v1/stays",
                    Auth::Bearer(&self.pms),
                    Some(json!({"property_id": self.prop, "confirmation_number": cn,
                                "customer_ref": {"system": "opera", "external_id": "P-1"},
                                "check_in": check_in, "check_out": check_out, "status": status})),
                    &[("idempotency-key", &key)],
                )
                .await;
            assert!(r.status.is_success(), "{}", r.raw);
            id = r.body["id"].as_str().unwrap().to_string();
        }
        id
    }
    async fn settings(&self, delay: i64, bonus: i64) {
        self.app
            .put(
                "/api/v1/survey-settings",
                &self.admin,
                json!({"post_stay_delay_minutes": delay, "invitation_ttl_days": 14, "completion_bonus_points": bonus, "require_consent": false}),
            )
            .await
            .expect(200);
    }
    async fn open_invitations(&self) -> Vec<Value> {
        let r = self.app.get("/api/v1/me/survey-invitations", &self.guest).await;
        r.expect(200);
        r.body["data"].as_array().unwrap().clone()
    }
    async fn scores(&self) -> Value {
        let r = self
            .app
            .get(
                &format!("/api/v1/survey-scores?property_id={}", self.prop),
                &self.manager,
            )
            .await;
        r.expect(200);
        r.body.clone()
    }
}

#[actix_rt::test]
async fn a_stay_becomes_a_survey_a_score_and_for_a_detractor_a_ticket() {
    let h = hotel().await;
    h.settings(0, 50).await;
    let stay = h.check_out("CNF-1").await;

    // The app shows the post-stay survey at once (delay 0).
    let inv = h.open_invitations().await;
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["subject_kind"], "stay");
    assert_eq!(inv[0]["subject_id"], stay.as_str());
    assert_eq!(inv[0]["questions"][0]["type"], "nps");
    let inv_id = inv[0]["invitation_id"].as_str().unwrap().to_string();

    // The messaging integration asks for a link; the guest answers it without logging in.
    let link = h
        .app
        .post(
            &format!("/api/v1/survey-invitations/{inv_id}/link"),
            &h.manager,
            json!({}),
        )
        .await;
    link.expect(200);
    let token = link.body["token"].as_str().unwrap().to_string();
    let anon = |path: &'static str, body: Value| h.app.send(Method::POST, path, Auth::None, Some(body), &[]);
    let q = anon("/api/v1/survey-links/questions", json!({"token": token})).await;
    q.expect(200);
    assert_eq!(q.body["invitation_id"], inv_id.as_str());

    // An answer that does not fit the template: 422 naming each field; nothing recorded.
    let bad = anon(
        "/api/v1/survey-links/response",
        json!({"token": token, "answers": {"nps": 11, "room": "good", "wifi": 3}}),
    )
    .await;
    assert_eq!(bad.fields(), vec!["answers.wifi", "answers.nps", "answers.room"]);
    assert_eq!(h.app.count("survey_responses"), 0);

    // A detractor's answer.
    let ok = anon(
        "/api/v1/survey-links/response",
        json!({"token": token, "answers": {"nps": 3, "room": 2, "comment": "Bathroom was dirty"}}),
    )
    .await;
    ok.expect(201);
    // The token works once.
    anon(
        "/api/v1/survey-links/response",
        json!({"token": token, "answers": {"nps": 10}}),
    )
    .await
    .expect(409);
    anon("/api/v1/survey-links/questions", json!({"token": "not-a-token"}))
        .await
        .expect(404);
    assert!(h.open_invitations().await.is_empty());

    // The property's NPS moved; the room aspect too.
    let s = h.scores().await;
    assert_eq!(s["responses"], 1);
    assert_eq!(s["nps"], -100.0);
    assert_eq!(s["detractors"], 1);
    assert_eq!(s["aspects"]["room"], 2.0);

    // The detractor opened a feedback ticket linked to the response and the stay, 24 h SLA.
    let responses = h.app.get("/api/v1/survey-responses", &h.manager).await;
    let resp = &responses.body["data"][0];
    assert_eq!(resp["channel"], "link");
    assert_eq!(resp["customer_email"], "mei@example.com");
    let ticket_id = resp["ticket_id"].as_str().expect("a recovery ticket");
    let t = h.app.get(&format!("/api/v1/tickets/{ticket_id}"), &h.manager).await;
    t.expect(200);
    assert_eq!(t.body["kind"], "feedback");
    assert_eq!(t.body["channel"], "survey");
    assert_eq!(t.body["stay_id"], stay.as_str());
    assert_eq!(t.body["source_kind"], "survey_response");
    assert_eq!(t.body["source_id"], resp["id"]);
    let opened = chrono::DateTime::parse_from_rfc3339(t.body["created_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(t.body["sla"]["first_response_due_at"].as_str().unwrap()).unwrap();
    assert_eq!(due - opened, Duration::hours(24));
    // The completion bonus posted once.
    let entries = h.app.get("/api/v1/me/loyalty/entries", &h.guest).await;
    let bonus: Vec<&Value> = entries.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "bonus")
        .collect();
    assert_eq!(bonus.len(), 1);
    assert_eq!(bonus[0]["points"], 50);
    assert_eq!(resp["bonus_entry_id"], bonus[0]["id"]);

    // A second stay: answered from the app by a promoter; NPS back to 0; no ticket.
    h.check_out("CNF-2").await;
    let inv = h.open_invitations().await;
    let id2 = inv[0]["invitation_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/me/survey-invitations/{id2}/response");
    let (_, other) = h.app.guest("someone.else@example.com").await;
    h.app
        .post(&path, &other, json!({"answers": {"nps": 10}}))
        .await
        .expect(404);
    let r = h
        .app
        .post(&path, &h.guest, json!({"answers": {"nps": 10, "dining": 5}}))
        .await;
    r.expect(201);
    assert!(r.body["ticket_id"].is_null());
    h.app
        .post(&path, &h.guest, json!({"answers": {"nps": 10}}))
        .await
        .expect(409);
    let s = h.scores().await;
    assert_eq!((s["responses"].clone(), s["nps"].clone()), (json!(2), json!(0.0)));
    let trend = h
        .app
        .get(
            &format!("/api/v1/survey-scores?property_id={}&by=month", h.prop),
            &h.admin,
        )
        .await;
    assert_eq!(trend.body["trend"][0]["responses"], 2);

    // Personal data by role: agents see the e-mail masked.
    let (_, agent) = h.app.staff_token(&h.admin, "agent", &[&h.prop]).await;
    let (_, analyst) = h.app.staff_token(&h.admin, "analyst", &[]).await;
    let a = h.app.get("/api/v1/survey-responses", &agent).await;
    assert_eq!(a.body["data"][1]["customer_email"], "m***@example.com");
    // Analysts get aggregates only: scores, not individual responses.
    h.app.get("/api/v1/survey-responses", &analyst).await.expect(403);
    h.app.get("/api/v1/survey-scores", &agent).await.expect(403);
    h.app.get("/api/v1/survey-scores", &analyst).await.expect(200);
}

#[actix_rt::test]
async fn invitations_follow_delay_expiry_consent_and_one_per_subject() {
    let h = hotel().await;
    // Default: two hours after check-out.
    let stay = h.check_out("CNF-1").await;
    assert!(h.open_invitations().await.is_empty(), "not before its send time");
    use concierge::db::schema::survey_invitations as si;
    use diesel::prelude::*;
    let (id, state): (String, String) = si::table
        .select((si::id, si::state))
        .first(&mut **h.app.conn())
        .unwrap();
    assert_eq!(state, "scheduled");
    let now = Utc::now().naive_utc();
    let r = concierge::app::jobs::run_once(&h.app.state.pool, now + Duration::hours(3)).unwrap();
    assert_eq!(r.survey_invitations_opened, 1);
    // One open invitation per subject: a manual one for the same stay is refused.
    let templates = h.app.get("/api/v1/survey-templates", &h.manager).await;
    let post_stay = templates
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "POST_STAY")
        .unwrap()["id"]
        .clone();
    let dup = h
        .app
        .post(
            "/api/v1/survey-invitations",
            &h.manager,
            json!({"template_id": post_stay, "customer_id": h.guest_id, "property_id": h.prop, "subject_kind": "stay", "subject_id": stay}),
        )
        .await;
    assert_eq!(dup.problem(409)["existing_id"], id.as_str());
    // Fourteen days on it expires; answering then is a clear 409.
    let r = concierge::app::jobs::run_once(&h.app.state.pool, now + Duration::days(15)).unwrap();
    assert_eq!(r.survey_invitations_expired, 1);
    let late = h
        .app
        .post(
            &format!("/api/v1/me/survey-invitations/{id}/response"),
            &h.guest,
            json!({"answers": {"nps": 9}}),
        )
        .await;
    assert!(late.problem(409)["detail"].as_str().unwrap().contains("expired"));
    assert_eq!(h.app.count("survey_responses"), 0);

    // A guest who withdrew survey consent is not invited.
    h.app
        .put("/api/v1/me/consents/surveys", &h.guest, json!({"granted": false}))
        .await
        .expect(200);
    h.settings(0, 0).await;
    h.check_out("CNF-2").await;
    assert_eq!(h.app.count("survey_invitations"), 1, "no new invitation");
    let manual = h
        .app
        .post(
            "/api/v1/survey-invitations",
            &h.manager,
            json!({"template_id": post_stay, "customer_id": h.guest_id, "property_id": h.prop, "touchpoint": "dining"}),
        )
        .await;
    assert!(manual.problem(409)["detail"].as_str().unwrap().contains("consent"));
}

#[actix_rt::test]
async fn templates_are_versioned_and_managed_by_managers() {
    let h = hotel().await;
    let (_, agent) = h.app.staff_token(&h.admin, "agent", &[&h.prop]).await;
    let body = json!({"code": "dining", "name": "Dinner", "trigger": "touchpoint",
                      "questions": [{"id": "csat", "type": "csat", "text": "Dinner?"}]});
    h.app
        .post("/api/v1/survey-templates", &agent, body.clone())
        .await
        .expect(403);
    let bad = h
        .app
        .post(
            "/api/v1/survey-templates",
            &h.manager,
            json!({"code": "x1", "name": "Bad", "trigger": "manual",
                   "questions": [{"id": "a", "type": "rating", "text": "?"}, {"id": "a", "type": "single_choice", "text": "?"}]}),
        )
        .await;
    assert_eq!(
        bad.fields(),
        vec!["questions[0].aspect", "questions[1].id", "questions[1].options"]
    );
    let t = h.app.post("/api/v1/survey-templates", &h.manager, body).await;
    t.expect(201);
    assert_eq!(t.body["version"], 1);
    let id = t.body["id"].as_str().unwrap().to_string();
    // A touchpoint invitation answered on version 1, then the questions change: version 2;
    // the answer still refers to version 1.
    let inv = h
        .app
        .post(
            "/api/v1/survey-invitations",
            &h.pms,
            json!({"template_id": id, "customer_id": h.guest_id, "property_id": h.prop, "touchpoint": "dining"}),
        )
        .await;
    inv.expect(403);
    let key = h.app.api_key(&h.admin, &["surveys:write"], &[&h.prop]).await;
    let inv = h
        .app
        .post(
            "/api/v1/survey-invitations",
            &key,
            json!({"template_id": id, "customer_id": h.guest_id, "property_id": h.prop, "touchpoint": "dining"}),
        )
        .await;
    inv.expect(201);
    assert!(inv.body["token"].as_str().is_some_and(|t| t.len() >= 32));
    let iid = inv.body["id"].as_str().unwrap();
    let u = h
        .app
        .patch(
            &format!("/api/v1/survey-templates/{id}"),
            &h.manager,
            json!({"questions": [{"id": "csat", "type": "csat", "text": "Dinner?"}, {"id": "chef", "type": "text", "text": "For the chef?", "required": false}]}),
        )
        .await;
    assert_eq!(u.body["version"], 2);
    let r = h
        .app
        .post(
            &format!("/api/v1/me/survey-invitations/{iid}/response"),
            &h.guest,
            json!({"answers": {"csat": 2}}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["template_version"], 1);
    assert!(!r.body["ticket_id"].is_null(), "CSAT 2 opens a ticket");
    let v1 = h
        .app
        .get(&format!("/api/v1/survey-templates/{id}?version=1"), &h.manager)
        .await;
    assert_eq!(v1.body["questions"].as_array().unwrap().len(), 1);
    let s = h
        .app
        .get(
            &format!("/api/v1/survey-scores?touchpoint=dining&property_id={}", h.prop),
            &h.manager,
        )
        .await;
    assert_eq!(s.body["csat"], 0.0);
}

#[actix_rt::test]
async fn closing_a_ticket_invites_its_guest() {
    let h = hotel().await;
    let (_, agent) = h.app.staff_token(&h.admin, "agent", &[&h.prop]).await;
    let t = h
        .app
        .post(
            "/api/v1/tickets",
            &agent,
            json!({"property_id": h.prop, "customer_id": h.guest_id, "kind": "service_request", "category": "other",
                   "severity": "low", "channel": "phone", "subject": "Extra pillow", "description": "Room 1208"}),
        )
        .await;
    let id = t.body["id"].as_str().unwrap();
    for body in [
        json!({"to": "resolved", "resolution_summary": "Brought"}),
        json!({"to": "closed"}),
    ] {
        h.app
            .post(&format!("/api/v1/tickets/{id}/transitions"), &agent, body)
            .await
            .expect(200);
    }
    let inv = h.open_invitations().await;
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["subject_kind"], "ticket");
    assert_eq!(inv[0]["subject_id"], id);
    assert_eq!(inv[0]["questions"][0]["type"], "csat");
}

#[actix_rt::test]
async fn parallel_answers_to_one_invitation_record_one_response_and_one_bonus() {
    let h = hotel().await;
    h.settings(0, 25).await;
    h.check_out("CNF-1").await;
    let inv = h.open_invitations().await;
    let id = inv[0]["invitation_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/me/survey-invitations/{id}/response");
    let tries = (0..8).map(|i| h.app.post(&path, &h.guest, json!({"answers": {"nps": i % 11}})));
    let answers = futures_util::future::join_all(tries).await;
    let created = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    let refused = answers.iter().filter(|a| a.status.as_u16() == 409).count();
    assert_eq!((created, refused), (1, 7));
    assert_eq!(h.app.count("survey_responses"), 1);
    let balance = h.app.get("/api/v1/me/loyalty", &h.guest).await.body["balance"]
        .as_i64()
        .unwrap();
    let stay_points = h.app.get("/api/v1/me/loyalty/entries", &h.guest).await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "bonus")
        .count();
    assert_eq!((balance, stay_points), (25, 1), "one bonus");
}

#[actix_rt::test]
async fn survey_endpoints_by_role() {
    let h = hotel().await;
    let (_, agent) = h.app.staff_token(&h.admin, "agent", &[&h.prop]).await;
    let (_, analyst) = h.app.staff_token(&h.admin, "analyst", &[]).await;
    let other = h.app.create_property(&h.admin, "BJS").await;
    let (_, stranger) = h.app.staff_token(&h.admin, "manager", &[&other]).await;
    let key = h.app.api_key(&h.admin, &["surveys:write"], &[&h.prop]).await;
    let cases: Vec<(&str, &str, u16)> = vec![
        ("admin", "/api/v1/survey-templates", 200),
        ("agent", "/api/v1/survey-templates", 200),
        ("analyst", "/api/v1/survey-scores", 200),
        ("agent", "/api/v1/survey-scores", 403),
        ("guest", "/api/v1/survey-templates", 403),
        ("guest", "/api/v1/survey-responses", 403),
        ("key", "/api/v1/survey-responses", 403),
        ("analyst", "/api/v1/survey-settings", 200),
    ];
    for (who, path, want) in cases {
        let token = match who {
            "admin" => &h.admin,
            "agent" => &agent,
            "analyst" => &analyst,
            "guest" => &h.guest,
            _ => &key,
        };
        assert_eq!(h.app.get(path, token).await.status.as_u16(), want, "{who} GET {path}");
    }
    let settings = json!({"post_stay_delay_minutes": 0, "invitation_ttl_days": 14, "completion_bonus_points": 0, "require_consent": false});
    h.app
        .put("/api/v1/survey-settings", &h.manager, settings.clone())
        .await
        .expect(403);
    // A manager of another property sees none of this property's responses or invitations.
    h.settings(0, 0).await;
    h.check_out("CNF-1").await;
    let inv = h.open_invitations().await;
    let id = inv[0]["invitation_id"].as_str().unwrap().to_string();
    h.app
        .post(
            &format!("/api/v1/me/survey-invitations/{id}/response"),
            &h.guest,
            json!({"answers": {"nps": 9}}),
        )
        .await
        .expect(201);
    h.app
        .get(&format!("/api/v1/survey-invitations/{id}"), &stranger)
        .await
        .expect(404);
    h.app
        .post(&format!("/api/v1/survey-invitations/{id}/link"), &stranger, json!({}))
        .await
        .expect(404);
    assert_eq!(
        h.app.get("/api/v1/survey-responses", &stranger).await.body["data"],
        json!([])
    );
    let s = h.app.get("/api/v1/survey-scores", &stranger).await;
    assert_eq!(s.body["responses"], 0);
    let s = h
        .app
        .get(&format!("/api/v1/survey-scores?property_id={}", h.prop), &stranger)
        .await;
    assert_eq!(s.fields(), vec!["property_id"]);
    // A key outside its property cannot invite there.
    let templates = h.app.get("/api/v1/survey-templates", &h.manager).await;
    let tid = templates.body[0]["id"].clone();
    let r = h
        .app
        .post(
            "/api/v1/survey-invitations",
            &key,
            json!({"template_id": tid, "customer_id": h.guest_id, "property_id": other}),
        )
        .await;
    assert_eq!(r.fields(), vec!["property_id"]);
}

#[actix_rt::test]
async fn links_belong_to_one_invitation_and_bonuses_to_one_subject() {
    let h = hotel().await;
    h.settings(0, 40).await;
    let stay = h.check_out("CNF-1").await;
    let first = h.open_invitations().await[0]["invitation_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Agents may invite but not hold answer links (a link answers as the guest).
    let (_, agent) = h.app.staff_token(&h.admin, "agent", &[&h.prop]).await;
    h.app
        .post(&format!("/api/v1/survey-invitations/{first}/link"), &agent, json!({}))
        .await
        .expect(403);
    let templates = h.app.get("/api/v1/survey-templates", &h.manager).await;
    let tid = templates
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "POST_STAY")
        .unwrap()["id"]
        .clone();
    let by_agent = h
        .app
        .post(
            "/api/v1/survey-invitations",
            &agent,
            json!({"template_id": tid, "customer_id": h.guest_id, "property_id": h.prop, "touchpoint": "spa"}),
        )
        .await;
    by_agent.expect(201);
    assert!(by_agent.body.get("token").is_none());
    // The SPEC route: a token answers only its own invitation.
    let other = by_agent.body["id"].as_str().unwrap().to_string();
    let link = h
        .app
        .post(
            &format!("/api/v1/survey-invitations/{other}/link"),
            &h.manager,
            json!({}),
        )
        .await;
    let token = link.body["token"].as_str().unwrap().to_string();
    let wrong = h
        .app
        .send(
            Method::POST,
            &format!("/api/v1/survey-invitations/{first}/responses?token={token}"),
            Auth::None,
            Some(json!({"answers": {"nps": 9}})),
            &[],
        )
        .await;
    wrong.expect(404);
    h.app
        .send(
            Method::POST,
            &format!("/api/v1/survey-invitations/{first}/responses"),
            Auth::None,
            Some(json!({"answers": {"nps": 9}})),
            &[],
        )
        .await
        .expect(401);
    // The guest answers the stay's invitation through the SPEC route with their JWT: bonus once.
    h.app
        .post(
            &format!("/api/v1/survey-invitations/{first}/responses"),
            &h.guest,
            json!({"answers": {"nps": 9}}),
        )
        .await
        .expect(201);
    // A manual re-invitation for the same stay can be answered, but earns no second bonus;
    // a subject-less (touchpoint) one earns none.
    let again = h
        .app
        .post(
            "/api/v1/survey-invitations",
            &h.manager,
            json!({"template_id": tid, "customer_id": h.guest_id, "property_id": h.prop, "subject_kind": "stay", "subject_id": stay}),
        )
        .await;
    again.expect(201);
    let again_id = again.body["id"].as_str().unwrap();
    h.app
        .post(
            &format!("/api/v1/survey-invitations/{again_id}/responses"),
            &h.guest,
            json!({"answers": {"nps": 10}}),
        )
        .await
        .expect(201);
    h.app
        .send(
            Method::POST,
            &format!("/api/v1/survey-invitations/{other}/responses?token={token}"),
            Auth::None,
            Some(json!({"answers": {"nps": 8}})),
            &[],
        )
        .await
        .expect(201);
    let balance = h.app.get("/api/v1/me/loyalty", &h.guest).await.body["balance"]
        .as_i64()
        .unwrap();
    assert_eq!(balance, 40, "one bonus for the one stay");
    let report = h
        .app
        .get(
            &format!("/api/v1/reports/satisfaction?property_id={}", h.prop),
            &h.manager,
        )
        .await;
    assert_eq!(report.body["responses"], 3);
    let list = h.app.get("/api/v1/survey-invitations?state=answered", &h.manager).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 3);

    // Consent withdrawn while the invitation waits: the sweep does not open it.
    h.settings(120, 0).await;
    h.check_out("CNF-2").await;
    h.app
        .put("/api/v1/me/consents/surveys", &h.guest, json!({"granted": false}))
        .await
        .expect(200);
    let r = concierge::app::jobs::run_once(&h.app.state.pool, Utc::now().naive_utc() + Duration::hours(3)).unwrap();
    assert_eq!(r.survey_invitations_opened, 0);
    // A history import (a stay that ended weeks ago) is not surveyed.
    h.app
        .put("/api/v1/me/consents/surveys", &h.guest, json!({"granted": true}))
        .await
        .expect(200);
    let before = h.app.count("survey_invitations");
    let old = h
        .app
        .send(
            Method::POST,
            "/api/v1/stays",
            Auth::Bearer(&h.pms),
            Some(json!({"property_id": h.prop, "confirmation_number": "OLD-1", "customer_ref": {"system": "opera", "external_id": "P-1"},
                        "check_in": "2025-01-01", "check_out": "2025-01-03", "status": "checked_out"})),
            &[("idempotency-key", "old-1")],
        )
        .await;
    old.expect(201);
    assert_eq!(h.app.count("survey_invitations"), before);
    // A far-future send time is refused, not a 500.
    let r = h
        .app
        .post(
            "/api/v1/survey-invitations",
            &h.manager,
            json!({"template_id": tid, "customer_id": h.guest_id, "property_id": h.prop, "send_at": "+262143-12-31T23:59:59Z"}),
        )
        .await;
    assert!(r.status.as_u16() == 422 || r.status.as_u16() == 400, "{}", r.raw);
}
