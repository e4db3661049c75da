//! Survey events (SPEC §8): templates, settings, invitations, links and the sweep write their
//! events in the change's transaction; refused requests write none; no personal data.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::support::{Event, TestApp};
use crate::world::World;

fn template(code: &str) -> Value {
    json!({"code": code, "name": "After your stay", "trigger": "manual",
           "questions": [{"id": "nps", "type": "nps", "text": "Recommend us?"}]})
}

fn of(app: &TestApp, aggregate_id: &str) -> Vec<Event> {
    app.events()
        .into_iter()
        .filter(|e| e.aggregate_id == aggregate_id)
        .collect()
}

/// A guest made by the admin and an active manual template; returns (admin, A, guest, template).
async fn setup(w: &World) -> (String, String, String, String) {
    let (app, admin, prop) = (&w.app, w.admin.clone(), w.a.clone());
    let guest = app
        .create_customer(
            &admin,
            json!({"given_name": "Ada", "family_name": "Lo", "email": "ada@example.com"}),
        )
        .await;
    let t = app.post("/api/v1/survey-templates", &admin, template("EVS_T")).await;
    t.expect(201);
    let tid = t.body["id"].as_str().unwrap().to_string();
    (admin, prop, guest["id"].as_str().unwrap().to_string(), tid)
}

#[actix_rt::test]
async fn templates_write_created_and_updated_and_a_duplicate_code_none() {
    let w = World::new().await;
    let app = &w.app;
    let (admin, _, _, tid) = setup(&w).await;
    let before = app.events().len();
    app.post("/api/v1/survey-templates", &admin, template("EVS_T"))
        .await
        .expect(409);
    assert_eq!(app.events().len(), before, "a refused request leaves no event");
    app.patch(
        &format!("/api/v1/survey-templates/{tid}"),
        &admin,
        json!({"name": "Secret Title"}),
    )
    .await
    .expect(200);
    let mine = of(app, &tid);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["survey_template.created", "survey_template.updated"]);
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[0].aggregate_type, "survey_template");
    assert_eq!(mine[1].data["changed"], json!(["name"]));
    assert!(
        !mine[1].data.to_string().contains("Secret Title"),
        "no free text in events"
    );
}

#[actix_rt::test]
async fn settings_write_updated_and_out_of_range_none() {
    let w = World::new().await;
    let (app, admin) = (&w.app, w.admin.clone());
    let mut s = json!({"post_stay_delay_minutes": 60, "invitation_ttl_days": 7,
                       "completion_bonus_points": 0, "require_consent": false});
    s["invitation_ttl_days"] = json!(500);
    app.put("/api/v1/survey-settings", &admin, s.clone()).await.expect(422);
    assert!(
        app.events_of("survey_settings.updated").is_empty(),
        "a refused request leaves no event"
    );
    s["invitation_ttl_days"] = json!(7);
    app.put("/api/v1/survey-settings", &admin, s).await.expect(200);
    let ev = app.events_of("survey_settings.updated");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].sequence, 1);
    let changed = ev[0].data["changed"].as_array().unwrap();
    assert!(changed.contains(&json!("invitation_ttl_days")) && changed.contains(&json!("post_stay_delay_minutes")));
}

#[actix_rt::test]
async fn an_invitation_and_its_link_write_events_and_an_unknown_guest_none() {
    let w = World::new().await;
    let app = &w.app;
    let (admin, prop, guest, tid) = setup(&w).await;
    let before = app.events().len();
    let bad = json!({"template_id": tid, "customer_id": "nobody", "property_id": prop});
    app.post("/api/v1/survey-invitations", &admin, bad).await.expect(422);
    assert_eq!(app.events().len(), before, "a refused request leaves no event");
    let body = json!({"template_id": tid, "customer_id": guest, "property_id": prop});
    let r = app.post("/api/v1/survey-invitations", &admin, body).await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/survey-invitations/{id}/link"), &admin, json!({}))
        .await
        .expect(200);
    let mine = of(app, &id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["survey.invitation_created", "survey.link_issued"]);
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[0].aggregate_type, "survey_invitation");
    assert_eq!(mine[0].property_id.as_deref(), Some(prop.as_str()));
    assert_eq!(mine[0].data["customer_id"], guest.as_str());
    assert_eq!(mine[0].data["state"], "open");
    let raw = serde_json::to_string(&mine.iter().map(|e| &e.data).collect::<Vec<_>>()).unwrap();
    assert!(
        !raw.contains("Ada") && !raw.contains("ada@example.com"),
        "no personal data: {raw}"
    );
}

#[actix_rt::test]
async fn the_sweep_writes_opened_and_expired() {
    let w = World::new().await;
    let app = &w.app;
    let (admin, prop, guest, tid) = setup(&w).await;
    let send_at = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let body = json!({"template_id": tid, "customer_id": guest, "property_id": prop, "send_at": send_at});
    let r = app.post("/api/v1/survey-invitations", &admin, body).await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let now = Utc::now().naive_utc();
    let report = concierge::app::jobs::run_once(&app.state.pool, now + Duration::hours(3)).unwrap();
    assert_eq!(report.survey_invitations_opened, 1);
    let report = concierge::app::jobs::run_once(&app.state.pool, now + Duration::days(30)).unwrap();
    assert_eq!(report.survey_invitations_expired, 1);
    let again = concierge::app::jobs::run_once(&app.state.pool, now + Duration::days(31)).unwrap();
    assert_eq!(again.survey_invitations_expired, 0);
    let mine = of(app, &id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "survey.invitation_created",
            "survey.invitation_opened",
            "survey.invitation_expired"
        ]
    );
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(mine[1].data["state"], json!({"from": "scheduled", "to": "open"}));
    assert_eq!(mine[2].data["state"]["from"], "open");
    assert_eq!(mine[2].property_id.as_deref(), Some(prop.as_str()));
}
