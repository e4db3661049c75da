//! Survey endpoints by role, property scope and key scope.

use serde_json::json;

use super::desk;

#[actix_rt::test]
async fn survey_endpoints_by_role() {
    let w = desk().await;
    let manager = w.token("manager").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let agent = w.token("agent").await;
    let analyst = w.token("analyst_all").await;
    let other = w.b.clone();
    let stranger = w.token("manager_b").await;
    let key = w.token("key_surveys_a").await;
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
            "admin" => &w.admin,
            "agent" => &agent,
            "analyst" => &analyst,
            "guest" => &guest,
            _ => &key,
        };
        assert_eq!(w.app.get(path, token).await.status.as_u16(), want, "{who} GET {path}");
    }
    let settings = json!({"post_stay_delay_minutes": 0, "invitation_ttl_days": 14, "completion_bonus_points": 0, "require_consent": false});
    w.app
        .put("/api/v1/survey-settings", &manager, settings.clone())
        .await
        .expect(403);
    // A manager of another property sees none of this property's responses or invitations.
    w.survey_settings(0, 0).await;
    w.check_out("CNF-1").await;
    let inv = w.open_invitations().await;
    let id = inv[0]["invitation_id"].as_str().unwrap().to_string();
    w.app
        .post(
            &format!("/api/v1/me/survey-invitations/{id}/response"),
            &guest,
            json!({"answers": {"nps": 9}}),
        )
        .await
        .expect(201);
    w.app
        .get(&format!("/api/v1/survey-invitations/{id}"), &stranger)
        .await
        .expect(404);
    w.app
        .post(&format!("/api/v1/survey-invitations/{id}/link"), &stranger, json!({}))
        .await
        .expect(404);
    assert_eq!(
        w.app.get("/api/v1/survey-responses", &stranger).await.body["data"],
        json!([])
    );
    let s = w.app.get("/api/v1/survey-scores", &stranger).await;
    assert_eq!(s.body["responses"], 0);
    let s = w
        .app
        .get(&format!("/api/v1/survey-scores?property_id={}", w.a), &stranger)
        .await;
    assert_eq!(s.fields(), vec!["property_id"]);
    // A key outside its property cannot invite there.
    let templates = w.app.get("/api/v1/survey-templates", &manager).await;
    let tid = templates.body[0]["id"].clone();
    let r = w
        .app
        .post(
            "/api/v1/survey-invitations",
            &key,
            json!({"template_id": tid, "customer_id": guest_id, "property_id": other}),
        )
        .await;
    assert_eq!(r.fields(), vec!["property_id"]);
}
