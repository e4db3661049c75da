//! Domain events of guests, properties, staff, API keys and sessions (SPEC §8): a committed
//! change has its event (type, aggregate, per-aggregate sequence, no personal data), a refused
//! request leaves none.

use awc::http::Method;
use serde_json::json;

use crate::support::{Auth, Event, TestApp};

fn of<'a>(events: &'a [Event], aggregate_id: &str) -> Vec<&'a Event> {
    events.iter().filter(|e| e.aggregate_id == aggregate_id).collect()
}

fn no_personal_data(events: &[&Event], personal: &[&str]) {
    let raw = serde_json::to_string(&events.iter().map(|e| &e.data).collect::<Vec<_>>()).unwrap();
    for p in personal {
        assert!(!raw.contains(p), "personal data {p:?} in events: {raw}");
    }
}

#[actix_rt::test]
async fn creating_and_patching_a_guest_writes_created_then_updated() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let c = app
        .create_customer(
            &admin,
            json!({"given_name": "Wei", "family_name": "Zhang", "email": "wei.zhang@example.com",
                "phone": "+8613800000042", "company": "Acme Widgets"}),
        )
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let patch = |body, version: &'static str| {
        let (app, admin, id) = (&app, &admin, &id);
        async move {
            app.send(
                Method::PATCH,
                &format!("/api/v1/customers/{id}"),
                Auth::Bearer(admin),
                Some(body),
                &[("if-match", version)],
            )
            .await
        }
    };
    patch(json!({"job_title": "Chief Tinkerer"}), "\"1\"").await.expect(200);
    let before = app.events().len();
    patch(json!({"job_title": "CEO"}), "\"1\"").await.problem(412);
    patch(json!({"given_name": ""}), "\"2\"").await.problem(422);
    assert_eq!(app.events().len(), before, "a refused patch leaves no event");
    let events = app.events();
    let mine = of(&events, &id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["customer.created", "customer.updated"]);
    assert!(mine.iter().all(|e| e.aggregate_type == "customer"));
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[0].data["customer_id"], id.as_str());
    assert!(mine[0].data["fields"].as_array().unwrap().contains(&json!("email")));
    assert_eq!(mine[1].data["changed"], json!(["job_title"]));
    assert_eq!(mine[1].data["version"], 2);
    no_personal_data(
        &mine,
        &["Wei", "Zhang", "example.com", "13800000042", "Acme", "Tinkerer"],
    );
}

#[actix_rt::test]
async fn a_consent_decision_writes_consent_changed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let c = app
        .create_customer(&admin, json!({"given_name": "Ada", "family_name": "Lo"}))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let before = app.events().len();
    app.put(
        &format!("/api/v1/customers/{id}/consents/telepathy"),
        &admin,
        json!({"granted": true}),
    )
    .await;
    app.put(
        &format!("/api/v1/customers/{id}/consents/surveys"),
        &admin,
        json!({"granted": true, "source_channel": "nonsense"}),
    )
    .await
    .problem(422);
    assert_eq!(app.events().len(), before, "a refused consent leaves no event");
    for granted in [true, false] {
        app.put(
            &format!("/api/v1/customers/{id}/consents/surveys"),
            &admin,
            json!({"granted": granted, "source_channel": "paper"}),
        )
        .await
        .expect(200);
    }
    let consents = app.events_of("consent.changed");
    let mine: Vec<&Event> = consents.iter().filter(|e| e.aggregate_id == id).collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].aggregate_type, "customer");
    assert_eq!(mine[0].data["purpose"], "surveys");
    assert_eq!(mine[0].data["granted"], true);
    assert_eq!(mine[1].data["granted"], false);
    assert_eq!(mine[1].sequence, mine[0].sequence + 1);
    no_personal_data(&mine, &["Ada"]);
}

#[actix_rt::test]
async fn an_upsert_by_reference_writes_its_outcome() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let key = app.api_key(&admin, &["customers:read", "customers:write"], &[]).await;
    let body = json!({"given_name": "Li", "family_name": "Na", "email": "li.na@example.com"});
    let before = app.events().len();
    app.put("/api/v1/customers/external/Bad%20System!/1", &key, body.clone())
        .await
        .problem(422);
    assert_eq!(app.events().len(), before, "a refused upsert leaves no event");
    let created = app.put("/api/v1/customers/external/opera_pms/P-77", &key, body).await;
    created.expect(201);
    let id = created.body["customer"]["id"].as_str().unwrap().to_string();
    app.put(
        "/api/v1/customers/external/opera_pms/P-77",
        &key,
        json!({"given_name": "Li", "family_name": "Na", "phone": "+8613900000000"}),
    )
    .await
    .expect(200);
    let events = app.events();
    let mine = of(&events, &id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "customer.created",
            "customer.external_ref_upserted",
            "customer.updated",
            "customer.external_ref_upserted"
        ]
    );
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(mine[1].data["outcome"], "created");
    assert_eq!(mine[1].data["system"], "opera_pms");
    assert_eq!(mine[3].data["outcome"], "updated");
    no_personal_data(&mine, &["Li", "li.na", "13900000000", "P-77"]);
}

#[actix_rt::test]
async fn interactions_write_created_and_updated() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "EVG-1").await;
    let c = app
        .create_customer(&admin, json!({"given_name": "Ada", "family_name": "Lo"}))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/customers/{id}/interactions");
    let before = app.events().len();
    app.post(
        &path,
        &admin,
        json!({"channel": "phone", "direction": "outbound", "summary": ""}),
    )
    .await
    .problem(422);
    assert_eq!(app.events().len(), before, "a refused interaction leaves no event");
    let r = app
        .post(
            &path,
            &admin,
            json!({"channel": "phone", "direction": "outbound", "summary": "Secret pickup plan",
                "property_id": prop, "follow_up_due_at": "2030-01-01T09:00:00Z"}),
        )
        .await;
    r.expect(201);
    let iid = r.body["id"].as_str().unwrap().to_string();
    app.patch(
        &format!("{path}/{iid}"),
        &admin,
        json!({"follow_up_status": "done", "result": "picked up at gate"}),
    )
    .await
    .expect(200);
    let events = app.events();
    let mine = of(&events, &iid);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["interaction.created", "interaction.updated"]);
    assert!(mine.iter().all(|e| e.aggregate_type == "interaction"));
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[0].property_id.as_deref(), Some(prop.as_str()));
    assert_eq!(mine[0].data["customer_id"], id.as_str());
    assert_eq!(mine[0].data["follow_up_status"], "pending");
    assert_eq!(mine[1].data["follow_up_status"], "done");
    assert_eq!(mine[1].data["changed"], json!(["result", "follow_up_status"]));
    no_personal_data(&mine, &["Secret", "gate", "Ada"]);
}

#[actix_rt::test]
async fn properties_write_created_and_updated() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "EVP-1").await;
    let before = app.events().len();
    app.post(
        "/api/v1/properties",
        &admin,
        json!({"code": "EVP-1", "name": "Again", "timezone": "Asia/Shanghai", "currency": "CNY"}),
    )
    .await
    .problem(409);
    app.patch(
        &format!("/api/v1/properties/{prop}"),
        &admin,
        json!({"timezone": "Mars/Olympus"}),
    )
    .await
    .problem(422);
    assert_eq!(app.events().len(), before, "a refused change leaves no event");
    app.patch(
        &format!("/api/v1/properties/{prop}"),
        &admin,
        json!({"name": "Renamed Hotel"}),
    )
    .await
    .expect(200);
    let events = app.events();
    let mine = of(&events, &prop);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["property.created", "property.updated"]);
    assert!(mine.iter().all(|e| e.aggregate_type == "property"));
    assert!(mine.iter().all(|e| e.property_id.as_deref() == Some(prop.as_str())));
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[1].data["changed"], json!(["name"]));
    no_personal_data(&mine, &["Renamed"]);
}

#[actix_rt::test]
async fn staff_users_write_created_and_updated_with_changed_names() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "EVS-1").await;
    let (agent_id, agent) = app.staff_token(&admin, "agent", &[&prop]).await;
    let before = app.events().len();
    let body = json!({"email": "boss@test.local", "display_name": "Boss Person", "role": "admin",
        "property_ids": [], "password": "staff-password-1"});
    app.post("/api/v1/staff", &agent, body.clone()).await.problem(403);
    app.patch(
        &format!("/api/v1/staff/{agent_id}"),
        &admin,
        json!({"display_name": ""}),
    )
    .await
    .problem(422);
    assert_eq!(app.events().len(), before, "a refused change leaves no event");
    app.patch(
        &format!("/api/v1/staff/{agent_id}"),
        &admin,
        json!({"role": "manager", "active": false}),
    )
    .await
    .expect(200);
    let events = app.events();
    let mine = of(&events, &agent_id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["staff.created", "staff.updated"]);
    assert!(mine.iter().all(|e| e.aggregate_type == "staff_user"));
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[0].data["role"], "agent");
    assert_eq!(mine[1].data["changed"], json!(["role", "active"]));
    assert_eq!(mine[1].data["role"], "manager");
    assert_eq!(mine[1].data["active"], false);
    no_personal_data(&mine, &["@test.local", "Test agent", "password"]);
}

#[actix_rt::test]
async fn api_keys_write_created_and_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let before = app.events().len();
    app.post("/api/v1/api-keys", &admin, json!({"name": "k", "scopes": []}))
        .await
        .problem(422);
    assert_eq!(app.events().len(), before, "a refused key leaves no event");
    let r = app
        .post(
            "/api/v1/api-keys",
            &admin,
            json!({"name": "Front desk sync", "scopes": ["customers:read"]}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let secret = r.body["key"].as_str().unwrap().to_string();
    app.delete(&format!("/api/v1/api-keys/{id}"), &admin).await;
    let events = app.events();
    let mine = of(&events, &id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["api_key.created", "api_key.revoked"]);
    assert!(mine.iter().all(|e| e.aggregate_type == "api_key"));
    assert_eq!(mine.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(mine[0].data["scopes"], json!(["customers:read"]));
    no_personal_data(&mine, &[&secret, "Front desk"]);
}

#[actix_rt::test]
async fn self_registration_writes_account_registered_but_logins_write_nothing() {
    let app = TestApp::spawn().await;
    let (id, _) = app.guest("ming.li@example.com").await;
    let events = app.events();
    let mine = of(&events, &id);
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    // Registration also opens the loyalty account (loyalty's own event).
    assert_eq!(
        kinds,
        [
            "customer.created",
            "customer_account.registered",
            "loyalty.account_enrolled"
        ]
    );
    assert_eq!(mine[0].aggregate_type, "customer");
    assert_eq!(mine[1].aggregate_type, "customer_account");
    assert_eq!(mine[1].sequence, 1);
    assert_eq!(mine[0].data["self_registration"], true);
    no_personal_data(&mine, &["ming", "example.com", "Guest", "Tester"]);
    let before = app.events().len();
    let again = json!({"email": "ming.li@example.com", "password": "guest-password-1",
        "given_name": "Other", "family_name": "Person"});
    app.send(
        Method::POST,
        "/api/v1/auth/customer/register",
        Auth::None,
        Some(again),
        &[],
    )
    .await
    .problem(409);
    let login = json!({"email": "ming.li@example.com", "password": "guest-password-1"});
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/customer/login",
            Auth::None,
            Some(login),
            &[],
        )
        .await;
    r.expect(200);
    let refresh = json!({"refresh_token": r.body["refresh_token"]});
    app.send(Method::POST, "/api/v1/auth/refresh", Auth::None, Some(refresh), &[])
        .await
        .expect(200);
    assert_eq!(
        app.events().len(),
        before,
        "a refused sign-up, a login and a refresh write no event"
    );
}
