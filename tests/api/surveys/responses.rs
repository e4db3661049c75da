//! Surveys through HTTP: check-out → invitation → answer (app or link) → scores → service
//! recovery and bonus; bad answers, reused tokens and expired invitations change nothing.

use actix_web::http::Method;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use super::desk;
use crate::support::Auth;

#[actix_rt::test]
async fn a_stay_becomes_a_survey_a_score_and_for_a_detractor_a_ticket() {
    let w = desk().await;
    let manager = w.token("manager").await;
    let guest = w.token("guest").await;
    w.survey_settings(0, 50).await;
    let stay = w.check_out("CNF-1").await;

    // The app shows the post-stay survey at once (delay 0).
    let inv = w.open_invitations().await;
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["subject_kind"], "stay");
    assert_eq!(inv[0]["subject_id"], stay.as_str());
    assert_eq!(inv[0]["questions"][0]["type"], "nps");
    let inv_id = inv[0]["invitation_id"].as_str().unwrap().to_string();

    // The messaging integration asks for a link; the guest answers it without logging in.
    let link = w
        .app
        .post(
            &format!("/api/v1/survey-invitations/{inv_id}/link"),
            &manager,
            json!({}),
        )
        .await;
    link.expect(200);
    let token = link.body["token"].as_str().unwrap().to_string();
    let anon = |path: &'static str, body: Value| w.app.send(Method::POST, path, Auth::None, Some(body), &[]);
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
    assert_eq!(w.app.count("survey_responses"), 0);

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
    assert!(w.open_invitations().await.is_empty());

    // The property's NPS moved; the room aspect too.
    let s = w.scores().await;
    assert_eq!(s["responses"], 1);
    assert_eq!(s["nps"], -100.0);
    assert_eq!(s["detractors"], 1);
    assert_eq!(s["aspects"]["room"], 2.0);

    // The detractor opened a feedback ticket linked to the response and the stay, 24 h SLA.
    let responses = w.app.get("/api/v1/survey-responses", &manager).await;
    let resp = &responses.body["data"][0];
    assert_eq!(resp["channel"], "link");
    assert_eq!(resp["customer_email"], w.email("guest"));
    let ticket_id = resp["ticket_id"].as_str().expect("a recovery ticket");
    let t = w.app.get(&format!("/api/v1/tickets/{ticket_id}"), &manager).await;
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
    let entries = w.app.get("/api/v1/me/loyalty/entries", &guest).await;
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
    w.check_out("CNF-2").await;
    let inv = w.open_invitations().await;
    let id2 = inv[0]["invitation_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/me/survey-invitations/{id2}/response");
    let other = w.token("guest2").await;
    w.app
        .post(&path, &other, json!({"answers": {"nps": 10}}))
        .await
        .expect(404);
    let r = w
        .app
        .post(&path, &guest, json!({"answers": {"nps": 10, "dining": 5}}))
        .await;
    r.expect(201);
    assert!(r.body["ticket_id"].is_null());
    w.app
        .post(&path, &guest, json!({"answers": {"nps": 10}}))
        .await
        .expect(409);
    let s = w.scores().await;
    assert_eq!((s["responses"].clone(), s["nps"].clone()), (json!(2), json!(0.0)));
    let trend = w
        .app
        .get(&format!("/api/v1/survey-scores?property_id={}&by=month", w.a), &w.admin)
        .await;
    assert_eq!(trend.body["trend"][0]["responses"], 2);

    // Personal data by role: agents see the e-mail masked.
    let agent = w.token("agent").await;
    let analyst = w.token("analyst_all").await;
    let a = w.app.get("/api/v1/survey-responses", &agent).await;
    assert_eq!(a.body["data"][1]["customer_email"], "g***@example.com");
    // Analysts get aggregates only: scores, not individual responses.
    w.app.get("/api/v1/survey-responses", &analyst).await.expect(403);
    w.app.get("/api/v1/survey-scores", &agent).await.expect(403);
    w.app.get("/api/v1/survey-scores", &analyst).await.expect(200);
}

#[actix_rt::test]
async fn invitations_follow_delay_expiry_consent_and_one_per_subject() {
    let w = desk().await;
    let manager = w.token("manager").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    // Default: two hours after check-out.
    let stay = w.check_out("CNF-1").await;
    assert!(w.open_invitations().await.is_empty(), "not before its send time");
    use concierge::db::schema::survey_invitations as si;
    use diesel::prelude::*;
    let (id, state): (String, String) = si::table
        .select((si::id, si::state))
        .first(&mut **w.app.conn())
        .unwrap();
    assert_eq!(state, "scheduled");
    let now = Utc::now().naive_utc();
    let r = concierge::app::jobs::run_once(&w.app.state.pool, now + Duration::hours(3)).unwrap();
    assert_eq!(r.survey_invitations_opened, 1);
    // One open invitation per subject: a manual one for the same stay is refused.
    let templates = w.app.get("/api/v1/survey-templates", &manager).await;
    let post_stay = templates
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "POST_STAY")
        .unwrap()["id"]
        .clone();
    let dup = w
        .app
        .post(
            "/api/v1/survey-invitations",
            &manager,
            json!({"template_id": post_stay, "customer_id": guest_id, "property_id": w.a, "subject_kind": "stay", "subject_id": stay}),
        )
        .await;
    assert_eq!(dup.problem(409)["existing_id"], id.as_str());
    // Fourteen days on it expires; answering then is a clear 409.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, now + Duration::days(15)).unwrap();
    assert_eq!(r.survey_invitations_expired, 1);
    let late = w
        .app
        .post(
            &format!("/api/v1/me/survey-invitations/{id}/response"),
            &guest,
            json!({"answers": {"nps": 9}}),
        )
        .await;
    assert!(late.problem(409)["detail"].as_str().unwrap().contains("expired"));
    assert_eq!(w.app.count("survey_responses"), 0);

    // A guest who withdrew survey consent is not invited.
    w.app
        .put("/api/v1/me/consents/surveys", &guest, json!({"granted": false}))
        .await
        .expect(200);
    w.survey_settings(0, 0).await;
    w.check_out("CNF-2").await;
    assert_eq!(w.app.count("survey_invitations"), 1, "no new invitation");
    let manual = w
        .app
        .post(
            "/api/v1/survey-invitations",
            &manager,
            json!({"template_id": post_stay, "customer_id": guest_id, "property_id": w.a, "touchpoint": "dining"}),
        )
        .await;
    assert!(manual.problem(409)["detail"].as_str().unwrap().contains("consent"));
}

#[actix_rt::test]
async fn templates_are_versioned_and_managed_by_managers() {
    let w = desk().await;
    let manager = w.token("manager").await;
    let pms = w.token("pms").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let agent = w.token("agent").await;
    let body = json!({"code": "dining", "name": "Dinner", "trigger": "touchpoint",
                      "questions": [{"id": "csat", "type": "csat", "text": "Dinner?"}]});
    w.app
        .post("/api/v1/survey-templates", &agent, body.clone())
        .await
        .expect(403);
    let bad = w
        .app
        .post(
            "/api/v1/survey-templates",
            &manager,
            json!({"code": "x1", "name": "Bad", "trigger": "manual",
                   "questions": [{"id": "a", "type": "rating", "text": "?"}, {"id": "a", "type": "single_choice", "text": "?"}]}),
        )
        .await;
    assert_eq!(
        bad.fields(),
        vec!["questions[0].aspect", "questions[1].id", "questions[1].options"]
    );
    let t = w.app.post("/api/v1/survey-templates", &manager, body).await;
    t.expect(201);
    assert_eq!(t.body["version"], 1);
    let id = t.body["id"].as_str().unwrap().to_string();
    // A touchpoint invitation answered on version 1, then the questions change: version 2;
    // the answer still refers to version 1.
    let inv = w
        .app
        .post(
            "/api/v1/survey-invitations",
            &pms,
            json!({"template_id": id, "customer_id": guest_id, "property_id": w.a, "touchpoint": "dining"}),
        )
        .await;
    inv.expect(403);
    let key = w.token("key_surveys_a").await;
    let inv = w
        .app
        .post(
            "/api/v1/survey-invitations",
            &key,
            json!({"template_id": id, "customer_id": guest_id, "property_id": w.a, "touchpoint": "dining"}),
        )
        .await;
    inv.expect(201);
    assert!(inv.body["token"].as_str().is_some_and(|t| t.len() >= 32));
    let iid = inv.body["id"].as_str().unwrap();
    let u = w
        .app
        .patch(
            &format!("/api/v1/survey-templates/{id}"),
            &manager,
            json!({"questions": [{"id": "csat", "type": "csat", "text": "Dinner?"}, {"id": "chef", "type": "text", "text": "For the chef?", "required": false}]}),
        )
        .await;
    assert_eq!(u.body["version"], 2);
    let r = w
        .app
        .post(
            &format!("/api/v1/me/survey-invitations/{iid}/response"),
            &guest,
            json!({"answers": {"csat": 2}}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["template_version"], 1);
    assert!(!r.body["ticket_id"].is_null(), "CSAT 2 opens a ticket");
    let v1 = w
        .app
        .get(&format!("/api/v1/survey-templates/{id}?version=1"), &manager)
        .await;
    assert_eq!(v1.body["questions"].as_array().unwrap().len(), 1);
    let s = w
        .app
        .get(
            &format!("/api/v1/survey-scores?touchpoint=dining&property_id={}", w.a),
            &manager,
        )
        .await;
    assert_eq!(s.body["csat"], 0.0);
}

#[actix_rt::test]
async fn closing_a_ticket_invites_its_guest() {
    let w = desk().await;
    let guest_id = w.id("guest").await;
    let agent = w.token("agent").await;
    let t = w
        .app
        .post(
            "/api/v1/tickets",
            &agent,
            json!({"property_id": w.a, "customer_id": guest_id, "kind": "service_request", "category": "other",
                   "severity": "low", "channel": "phone", "subject": "Extra pillow", "description": "Room 1208"}),
        )
        .await;
    let id = t.body["id"].as_str().unwrap();
    for body in [
        json!({"to": "resolved", "resolution_summary": "Brought"}),
        json!({"to": "closed"}),
    ] {
        w.app
            .post(&format!("/api/v1/tickets/{id}/transitions"), &agent, body)
            .await
            .expect(200);
    }
    let inv = w.open_invitations().await;
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["subject_kind"], "ticket");
    assert_eq!(inv[0]["subject_id"], id);
    assert_eq!(inv[0]["questions"][0]["type"], "csat");
}

#[actix_rt::test]
async fn parallel_answers_to_one_invitation_record_one_response_and_one_bonus() {
    let w = desk().await;
    let guest = w.token("guest").await;
    w.survey_settings(0, 25).await;
    w.check_out("CNF-1").await;
    let inv = w.open_invitations().await;
    let id = inv[0]["invitation_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/me/survey-invitations/{id}/response");
    let tries = (0..8).map(|i| w.app.post(&path, &guest, json!({"answers": {"nps": i % 11}})));
    let answers = futures_util::future::join_all(tries).await;
    let created = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    let refused = answers.iter().filter(|a| a.status.as_u16() == 409).count();
    assert_eq!((created, refused), (1, 7));
    assert_eq!(w.app.count("survey_responses"), 1);
    let balance = w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"]
        .as_i64()
        .unwrap();
    let stay_points = w.app.get("/api/v1/me/loyalty/entries", &guest).await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "bonus")
        .count();
    assert_eq!((balance, stay_points), (25, 1), "one bonus");
}

#[actix_rt::test]
async fn links_belong_to_one_invitation_and_bonuses_to_one_subject() {
    let w = desk().await;
    let manager = w.token("manager").await;
    let pms = w.token("pms").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    w.survey_settings(0, 40).await;
    let stay = w.check_out("CNF-1").await;
    let first = w.open_invitations().await[0]["invitation_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Agents may invite but not hold answer links (a link answers as the guest).
    let agent = w.token("agent").await;
    w.app
        .post(&format!("/api/v1/survey-invitations/{first}/link"), &agent, json!({}))
        .await
        .expect(403);
    let templates = w.app.get("/api/v1/survey-templates", &manager).await;
    let tid = templates
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "POST_STAY")
        .unwrap()["id"]
        .clone();
    let by_agent = w
        .app
        .post(
            "/api/v1/survey-invitations",
            &agent,
            json!({"template_id": tid, "customer_id": guest_id, "property_id": w.a, "touchpoint": "spa"}),
        )
        .await;
    by_agent.expect(201);
    assert!(by_agent.body.get("token").is_none());
    // The SPEC route: a token answers only its own invitation.
    let other = by_agent.body["id"].as_str().unwrap().to_string();
    let link = w
        .app
        .post(&format!("/api/v1/survey-invitations/{other}/link"), &manager, json!({}))
        .await;
    let token = link.body["token"].as_str().unwrap().to_string();
    let wrong = w
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
    w.app
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
    w.app
        .post(
            &format!("/api/v1/survey-invitations/{first}/responses"),
            &guest,
            json!({"answers": {"nps": 9}}),
        )
        .await
        .expect(201);
    // A manual re-invitation for the same stay can be answered, but earns no second bonus;
    // a subject-less (touchpoint) one earns none.
    let again = w
        .app
        .post(
            "/api/v1/survey-invitations",
            &manager,
            json!({"template_id": tid, "customer_id": guest_id, "property_id": w.a, "subject_kind": "stay", "subject_id": stay}),
        )
        .await;
    again.expect(201);
    let again_id = again.body["id"].as_str().unwrap();
    w.app
        .post(
            &format!("/api/v1/survey-invitations/{again_id}/responses"),
            &guest,
            json!({"answers": {"nps": 10}}),
        )
        .await
        .expect(201);
    w.app
        .send(
            Method::POST,
            &format!("/api/v1/survey-invitations/{other}/responses?token={token}"),
            Auth::None,
            Some(json!({"answers": {"nps": 8}})),
            &[],
        )
        .await
        .expect(201);
    let balance = w.app.get("/api/v1/me/loyalty", &guest).await.body["balance"]
        .as_i64()
        .unwrap();
    assert_eq!(balance, 40, "one bonus for the one stay");
    let report = w
        .app
        .get(&format!("/api/v1/reports/satisfaction?property_id={}", w.a), &manager)
        .await;
    assert_eq!(report.body["responses"], 3);
    let list = w.app.get("/api/v1/survey-invitations?state=answered", &manager).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 3);

    // Consent withdrawn while the invitation waits: the sweep does not open it.
    w.survey_settings(120, 0).await;
    w.check_out("CNF-2").await;
    w.app
        .put("/api/v1/me/consents/surveys", &guest, json!({"granted": false}))
        .await
        .expect(200);
    let r = concierge::app::jobs::run_once(&w.app.state.pool, Utc::now().naive_utc() + Duration::hours(3)).unwrap();
    assert_eq!(r.survey_invitations_opened, 0);
    // A history import (a stay that ended weeks ago) is not surveyed.
    w.app
        .put("/api/v1/me/consents/surveys", &guest, json!({"granted": true}))
        .await
        .expect(200);
    let before = w.app.count("survey_invitations");
    let old = w
        .app
        .send(
            Method::POST,
            "/api/v1/stays",
            Auth::Bearer(&pms),
            Some(json!({"property_id": w.a, "confirmation_number": "OLD-1", "customer_ref": {"system": "opera", "external_id": "P-1"},
                        "check_in": "2025-01-01", "check_out": "2025-01-03", "status": "checked_out"})),
            &[("idempotency-key", "old-1")],
        )
        .await;
    old.expect(201);
    assert_eq!(w.app.count("survey_invitations"), before);
    // A far-future send time is refused, not a 500.
    let r = w
        .app
        .post(
            "/api/v1/survey-invitations",
            &manager,
            json!({"template_id": tid, "customer_id": guest_id, "property_id": w.a, "send_at": "+262143-12-31T23:59:59Z"}),
        )
        .await;
    assert!(r.status.as_u16() == 422 || r.status.as_u16() == 400, "{}", r.raw);
}
