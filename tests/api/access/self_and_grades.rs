//! Fields a guest may never set on themself, and grade overrides: managers and admins only.

use serde_json::{json, Value};

use crate::world::World;

#[actix_rt::test]
async fn a_guest_cannot_set_grade_tier_points_or_staff_owned_fields_on_themself() {
    let w = World::new().await;
    let guest = w.token("guest").await;
    let before = w.app.get("/api/v1/me", &guest).await;
    before.expect(200);
    let version = before.body["version"].clone();
    assert_eq!(version, 1);
    assert_eq!(before.body["grade"], "potential");
    for (field, value) in [
        ("grade", json!("vvip")),
        ("tier", json!("platinum")),
        ("points", json!(100000)),
        ("grade_override", json!({"grade": "vip", "reason": "me"})),
        ("tags", json!(["vip"])),
        ("email", json!("someone@else.com")),
        ("source_channel", json!("corporate")),
        ("external_refs", json!([{"system": "pms", "external_id": "1"}])),
        (
            "identity_document",
            json!({"type": "passport", "number": "X1234", "issuing_country": "CN"}),
        ),
    ] {
        // Alone, and beside a field the guest may change: refused whole, naming only it.
        for body in [json!({ field: value }), json!({"given_name": "Changed", field: value})] {
            let r = w.app.patch("/api/v1/me", &guest, body).await;
            r.problem(422);
            assert_eq!(r.fields(), vec![field.to_string()], "{field}: {}", r.raw);
        }
    }
    let me = w.app.get("/api/v1/me", &guest).await;
    me.expect(200);
    assert_eq!(me.body["given_name"], "Guest", "nothing changed");
    assert_eq!(me.body["grade"], "potential");
    assert_eq!(me.body["grade_override"], Value::Null);
    assert_eq!(me.body["tags"], json!([]));
    assert_eq!(me.body["email"], w.email("guest"));
    assert_eq!(me.body["version"], version, "nothing was written");
}

#[actix_rt::test]
async fn grade_overrides_are_for_managers_and_admins_only() {
    let w = World::new().await;
    let cid = w
        .customer(json!({"given_name": "Grade", "family_name": "Target"}))
        .await;
    let path = format!("/api/v1/customers/{cid}");
    let before = w.app.get(&path, &w.admin).await;
    let version = before.body["version"].clone();
    assert_eq!(version, 1);
    let alone = json!({"grade_override": {"grade": "vip", "reason": "regular since 2019"}});
    let mixed = json!({"grade_override": {"grade": "vvip", "reason": "owner's friend"}, "job_title": "x"});

    // Refused whole, with or without another field, for agents (scoped or not) and keys.
    for (who, body) in [
        ("agent", &alone),
        ("agent_all", &alone),
        ("agent", &mixed),
        ("key_write", &mixed),
    ] {
        let r = w.app.patch(&path, &w.token(who).await, body.clone()).await;
        r.problem(403);
    }
    let create = w
        .app
        .post(
            "/api/v1/customers",
            &w.token("agent").await,
            json!({"given_name": "A", "family_name": "B", "grade_override": {"grade": "vip", "reason": "x"}}),
        )
        .await;
    create.problem(403);
    let unchanged = w.app.get(&path, &w.admin).await;
    assert_eq!(unchanged.body["version"], version, "the refused override wrote nothing");
    assert_eq!(unchanged.body["grade"], "potential");
    assert_eq!(unchanged.body["grade"], before.body["grade"]);
    assert_eq!(unchanged.body["grade_override"], Value::Null);

    let r = w.app.patch(&path, &w.token("manager").await, mixed).await;
    r.expect(200);
    assert_eq!(r.body["grade"], "vvip");
    assert_eq!(r.body["grade_override"]["reason"], "owner's friend");
    assert_ne!(r.body["version"], version);
    let r = w.app.patch(&path, &w.admin, alone).await;
    r.expect(200);
    assert_eq!(r.body["grade"], "vip");
    assert_eq!(r.body["grade_override"]["reason"], "regular since 2019");
}
