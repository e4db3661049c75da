//! A property-restricted admin stays inside its properties, on every property route and on the
//! restriction itself; an unreadable stored property list covers no property (fails closed).
//! The World's `admin_a` is the admin restricted to A.

use serde_json::json;

use crate::world::World;

#[actix_rt::test]
async fn a_restricted_admin_gets_404_on_every_route_of_another_property() {
    let w = World::new().await;
    let local = w.token("admin_a").await;
    let (app, t, b) = (&w.app, &local, &w.b);
    let base = format!("/api/v1/properties/{b}");
    app.get(&base, t).await.expect(404);
    app.patch(&base, t, json!({"name": "Taken over"})).await.expect(404);
    let rules = json!({"points_per_unit": 2});
    app.put(&format!("{base}/loyalty-rules"), t, rules).await.expect(404);
    app.delete(&format!("{base}/loyalty-rules"), t).await.expect(404);
    let sla = json!({"first_response_minutes": 30, "resolution_minutes": 600});
    app.put(&format!("{base}/sla-policies/high"), t, sla).await.expect(404);
    app.delete(&format!("{base}/sla-policies/high"), t).await.expect(404);
    app.get(&format!("{base}/business-calendar"), t).await.expect(404);
    let week = json!({"week": [[["09:00", "18:00"]], [], [], [], [], [], []]});
    app.put(&format!("{base}/business-calendar"), t, week).await.expect(404);
    app.get(&format!("{base}/escalation-contacts"), t).await.expect(404);
    let contacts = json!({"department_manager": []});
    app.put(&format!("{base}/escalation-contacts"), t, contacts)
        .await
        .expect(404);
    // Nothing changed at B; its own property stays editable.
    assert_eq!(app.get(&base, &w.admin).await.body["name"], "Hotel PAR");
    let own = app
        .patch(&format!("/api/v1/properties/{}", w.a), t, json!({"name": "Mine"}))
        .await;
    own.expect(200);
}

#[actix_rt::test]
async fn a_restricted_admin_cannot_widen_any_scope_nor_touch_the_group() {
    let w = World::new().await;
    let local_id = w.id("admin_a").await;
    let local = w.token("admin_a").await;
    let (app, t) = (&w.app, &local);
    let me = format!("/api/v1/staff/{}", local_id);
    app.patch(&me, t, json!({"property_ids": []})).await.problem(403);
    app.patch(&me, t, json!({"property_ids": [w.a, w.b]}))
        .await
        .problem(403);
    let staff = |props: serde_json::Value| json!({"email": "new@test.local", "display_name": "New", "role": "admin", "property_ids": props, "password": "a-long-staff-password-1"});
    let (staff_before, keys_before) = (app.count("staff_users"), app.count("api_keys"));
    app.post("/api/v1/staff", t, staff(json!([]))).await.problem(403);
    app.post("/api/v1/staff", t, staff(json!([w.b]))).await.problem(403);
    let key = |props: serde_json::Value| json!({"name": "pms", "scopes": ["stays:write"], "property_ids": props});
    app.post("/api/v1/api-keys", t, key(json!([]))).await.problem(403);
    app.post("/api/v1/api-keys", t, key(json!([w.a, w.b])))
        .await
        .problem(403);
    // The group's admin (all properties) is beyond its reach; group-wide acts are refused.
    let everyone: Vec<String> = app
        .get("/api/v1/staff", &w.admin)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["property_ids"] == json!([]))
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    app.patch(&format!("/api/v1/staff/{}", everyone[0]), t, json!({"active": false}))
        .await
        .expect(404);
    let listed = app.get("/api/v1/staff", t).await;
    assert!(listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["property_ids"] == json!([w.a])));
    let hotel = json!({"code": "CCC", "name": "C", "timezone": "Asia/Shanghai", "currency": "CNY"});
    app.post("/api/v1/properties", t, hotel).await.problem(403);
    let limits = json!({"agent": {"money": 1, "points": 1}, "manager": {"money": 2, "points": 2}});
    let settings = json!({"auto_close_days": 3, "reopen_window_days": 10, "compensation_limits": limits});
    app.put("/api/v1/ticket-settings", t, settings).await.problem(403);
    app.get("/api/v1/audit-log", t).await.problem(403);
    // Nothing changed; within its property it still manages staff and keys.
    assert_eq!(
        (app.count("staff_users"), app.count("api_keys")),
        (staff_before, keys_before)
    );
    assert_eq!(app.get(&me, &w.admin).await.body["property_ids"], json!([w.a]));
    assert_eq!(app.count("properties"), 2);
    app.post("/api/v1/staff", t, staff(json!([w.a]))).await.expect(201);
    app.post("/api/v1/api-keys", t, key(json!([w.a]))).await.expect(201);
}

#[actix_rt::test]
async fn an_unreadable_property_list_covers_no_property() {
    let w = World::new().await;
    let (agent_id, agent) = (w.id("agent").await, w.token("agent").await);
    let manager_id = w.id("manager").await;
    let ticket = w
        .app
        .post(
            "/api/v1/tickets",
            &w.admin,
            json!({"property_id": w.a, "kind": "complaint", "category": "noise", "severity": "low",
                   "channel": "phone", "subject": "Noise", "description": "Next door."}),
        )
        .await;
    ticket.expect(201);
    {
        use concierge::db::schema::staff_users;
        use diesel::prelude::*;
        let mut conn = w.app.conn();
        diesel::update(staff_users::table.filter(staff_users::id.eq_any([&agent_id, &manager_id])))
            .set(staff_users::property_ids.eq("not json"))
            .execute(&mut **conn)
            .unwrap();
    }
    // The agent's own calls see no property (not all of them).
    let props = w.app.get("/api/v1/properties", &agent).await;
    props.expect(200);
    assert_eq!(props.body, json!([]));
    // Nobody may hand them a ticket or name them a contact there.
    let id = ticket.body["id"].as_str().unwrap();
    let h = w
        .app
        .post(
            &format!("/api/v1/tickets/{id}/handover"),
            &w.admin,
            json!({"to_staff_id": agent_id}),
        )
        .await;
    assert_eq!(h.fields(), vec!["to_staff_id"]);
    let path = format!("/api/v1/properties/{}/escalation-contacts", w.a);
    let c = w
        .app
        .put(&path, &w.admin, json!({"department_manager": [manager_id]}))
        .await;
    assert_eq!(c.fields(), vec!["department_manager[0]"]);
}
