//! Who may call what: every role and key kind against every endpoint, scopes, property scope,
//! masking by role, and the fields a guest may never set on themself.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, TestApp};

struct World {
    app: TestApp,
    admin: String,
    manager: String,
    agent: String,
    analyst: String,
    guest: String,
    guest_id: String,
    other_guest_id: String,
    key_read: String,
    key_write: String,
    key_loyalty: String,
    key_read_a: String,
    prop_a: String,
    prop_b: String,
    staff_id: String,
    api_key_id: String,
    customer_id: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop_a = app.create_property(&admin, "AAA").await;
    let prop_b = app.create_property(&admin, "BBB").await;
    let (_, manager) = app.staff_token(&admin, "manager", &[&prop_a]).await;
    let (staff_id, agent) = app.staff_token(&admin, "agent", &[&prop_a]).await;
    let (_, analyst) = app.staff_token(&admin, "analyst", &[&prop_a]).await;
    let (guest_id, guest) = app.guest("guest1@example.com").await;
    let (other_guest_id, _) = app.guest("guest2@example.com").await;
    let key_read = app.api_key(&admin, &["customers:read"], &[]).await;
    let key_write = app.api_key(&admin, &["customers:write"], &[]).await;
    let key_loyalty = app.api_key(&admin, &["loyalty:read"], &[]).await;
    let key_read_a = app.api_key(&admin, &["customers:read"], &[&prop_a]).await;
    let k = app
        .post(
            "/api/v1/api-keys",
            &admin,
            json!({"name": "spare", "scopes": ["tickets:read"]}),
        )
        .await;
    let api_key_id = k.body["id"].as_str().unwrap().to_string();
    let c = app
        .create_customer(&admin, json!({"given_name": "Matrix", "family_name": "Guest"}))
        .await;
    let customer_id = c["id"].as_str().unwrap().to_string();
    World {
        app,
        admin,
        manager,
        agent,
        analyst,
        guest,
        guest_id,
        other_guest_id,
        key_read,
        key_write,
        key_loyalty,
        key_read_a,
        prop_a,
        prop_b,
        staff_id,
        api_key_id,
        customer_id,
    }
}

impl World {
    fn token(&self, who: &str) -> Option<&str> {
        Some(match who {
            "admin" => &self.admin,
            "manager" => &self.manager,
            "agent" => &self.agent,
            "analyst" => &self.analyst,
            "guest" => &self.guest,
            "key:read" => &self.key_read,
            "key:write" => &self.key_write,
            "key:loyalty" => &self.key_loyalty,
            "none" => return None,
            other => panic!("unknown caller {other}"),
        })
    }

    async fn call(&self, who: &str, method: Method, path: &str, body: Option<Value>) -> u16 {
        let auth = match self.token(who) {
            Some(t) => Auth::Bearer(t),
            None => Auth::None,
        };
        let r = self.app.send(method.clone(), path, auth, body, &[]).await;
        if r.status.as_u16() >= 400 {
            assert!(
                r.content_type().starts_with("application/problem+json"),
                "{who} {method} {path}: not problem+json"
            );
        }
        r.status.as_u16()
    }
}

const EVERYONE: [&str; 9] = [
    "admin",
    "manager",
    "agent",
    "analyst",
    "guest",
    "key:read",
    "key:write",
    "key:loyalty",
    "none",
];

/// Expected status per caller, in the order of `EVERYONE`.
async fn check(w: &World, method: Method, path: &str, body: Option<Value>, expected: [u16; 9]) {
    for (who, want) in EVERYONE.iter().zip(expected) {
        // Unique payloads per row so creations do not collide as duplicates.
        let body = body.clone().map(|b| uniquify(b, who));
        let got = w.call(who, method.clone(), path, body).await;
        assert_eq!(got, want, "{who} {method} {path}");
    }
}

fn uniquify(mut b: Value, who: &str) -> Value {
    let tag = who.replace(':', "-");
    if let Some(obj) = b.as_object_mut() {
        for field in ["email", "code"] {
            if let Some(Value::String(s)) = obj.get(field) {
                let v = if field == "email" {
                    s.replace('@', &format!("+{tag}@"))
                } else {
                    format!("{s}-{}", tag.to_uppercase())
                };
                obj.insert(field.into(), Value::String(v));
            }
        }
    }
    b
}

#[actix_rt::test]
async fn admin_only_endpoints() {
    let w = world().await;
    let (sid, kid, pid) = (w.staff_id.clone(), w.api_key_id.clone(), w.prop_a.clone());
    let staff_body =
        json!({"email": "new@test.local", "display_name": "N", "role": "agent", "password": "staff-password-1"});
    let admin_only_ok = |ok: u16| [ok, 403, 403, 403, 403, 403, 403, 403, 401];
    check(&w, Method::GET, "/api/v1/staff", None, admin_only_ok(200)).await;
    check(&w, Method::POST, "/api/v1/staff", Some(staff_body), admin_only_ok(201)).await;
    check(
        &w,
        Method::GET,
        &format!("/api/v1/staff/{sid}"),
        None,
        admin_only_ok(200),
    )
    .await;
    check(
        &w,
        Method::PATCH,
        &format!("/api/v1/staff/{sid}"),
        Some(json!({"display_name": "Renamed"})),
        admin_only_ok(200),
    )
    .await;
    check(&w, Method::GET, "/api/v1/api-keys", None, admin_only_ok(200)).await;
    check(
        &w,
        Method::POST,
        "/api/v1/api-keys",
        Some(json!({"name": "x", "scopes": ["customers:read"]})),
        admin_only_ok(201),
    )
    .await;
    check(
        &w,
        Method::GET,
        &format!("/api/v1/api-keys/{kid}"),
        None,
        admin_only_ok(200),
    )
    .await;
    check(&w, Method::GET, "/api/v1/audit-log", None, admin_only_ok(200)).await;
    check(
        &w,
        Method::POST,
        "/api/v1/properties",
        Some(json!({"code": "NEW", "name": "N", "timezone": "UTC", "currency": "EUR"})),
        admin_only_ok(201),
    )
    .await;
    check(
        &w,
        Method::PATCH,
        &format!("/api/v1/properties/{pid}"),
        Some(json!({"name": "Renamed"})),
        admin_only_ok(200),
    )
    .await;
    // Revocation last: the key it revokes is a spare.
    check(
        &w,
        Method::DELETE,
        &format!("/api/v1/api-keys/{kid}"),
        None,
        admin_only_ok(204),
    )
    .await;
}

#[actix_rt::test]
async fn customer_endpoints_by_role_and_scope() {
    let w = world().await;
    let cid = w.customer_id.clone();
    let body = json!({"given_name": "New", "family_name": "Guest", "email": "new.guest@example.com"});
    //                                   admin manager agent analyst guest read write loyalty none
    check(
        &w,
        Method::GET,
        "/api/v1/customers",
        None,
        [200, 200, 200, 200, 403, 200, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::POST,
        "/api/v1/customers",
        Some(body),
        [201, 201, 201, 403, 403, 403, 201, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        &format!("/api/v1/customers/{cid}"),
        None,
        [200, 200, 200, 200, 404, 200, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::PATCH,
        &format!("/api/v1/customers/{cid}"),
        Some(json!({"job_title": "x"})),
        [200, 200, 200, 403, 403, 403, 200, 403, 401],
    )
    .await;
    check(
        &w,
        Method::POST,
        &format!("/api/v1/customers/{cid}/interactions"),
        Some(json!({"channel": "phone", "direction": "inbound", "summary": "hello"})),
        [201, 201, 201, 403, 403, 403, 201, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        &format!("/api/v1/customers/{cid}/interactions"),
        None,
        [200, 200, 200, 403, 403, 200, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::PUT,
        &format!("/api/v1/customers/{cid}/consents/surveys"),
        Some(json!({"granted": true})),
        [200, 200, 200, 403, 403, 403, 200, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        &format!("/api/v1/customers/{cid}/consents/history"),
        None,
        [200, 200, 200, 200, 403, 200, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        "/api/v1/customers/external/pms/none",
        None,
        [404, 404, 404, 404, 403, 404, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::PUT,
        "/api/v1/customers/external/pms/M-1",
        Some(json!({"given_name": "Ext", "family_name": "Ref"})),
        [201, 200, 200, 403, 403, 403, 200, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        "/api/v1/properties",
        None,
        [200, 200, 200, 200, 403, 200, 200, 200, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        "/api/v1/me",
        None,
        [403, 403, 403, 403, 200, 403, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::PATCH,
        "/api/v1/me",
        Some(json!({"job_title": "x"})),
        [403, 403, 403, 403, 200, 403, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        "/api/v1/me/consents/history",
        None,
        [403, 403, 403, 403, 200, 403, 403, 403, 401],
    )
    .await;
}

#[actix_rt::test]
async fn a_guest_cannot_read_or_change_another_guest() {
    let w = world().await;
    let (me, other) = (w.guest_id.clone(), w.other_guest_id.clone());
    assert_eq!(
        w.call("guest", Method::GET, &format!("/api/v1/customers/{me}"), None)
            .await,
        200
    );
    assert_eq!(
        w.call("guest", Method::GET, &format!("/api/v1/customers/{other}"), None)
            .await,
        404
    );
    assert_eq!(
        w.call(
            "guest",
            Method::PATCH,
            &format!("/api/v1/customers/{other}"),
            Some(json!({"job_title": "x"}))
        )
        .await,
        403
    );
    assert_eq!(
        w.call(
            "guest",
            Method::PUT,
            &format!("/api/v1/customers/{other}/consents/surveys"),
            Some(json!({"granted": true}))
        )
        .await,
        403
    );
    assert_eq!(w.call("guest", Method::GET, "/api/v1/customers", None).await, 403);
    let other_now = w.app.get(&format!("/api/v1/customers/{other}"), &w.admin).await;
    assert_eq!(other_now.body["version"], 1);
}

#[actix_rt::test]
async fn a_guest_cannot_set_staff_owned_fields_on_themself() {
    let w = world().await;
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
        let r = w
            .app
            .patch("/api/v1/me", &w.guest, json!({"given_name": "Changed", field: value}))
            .await;
        r.problem(422);
        assert_eq!(r.fields(), vec![field.to_string()], "{field}");
    }
    let me = w.app.get("/api/v1/me", &w.guest).await;
    assert_eq!(me.body["given_name"], "Guest", "nothing changed");
    assert_eq!(me.body["grade"], "potential");
    assert_eq!(me.body["tags"], json!([]));
    assert_eq!(me.body["version"], 1);
}

#[actix_rt::test]
async fn only_managers_and_admins_override_grades() {
    let w = world().await;
    let cid = w.customer_id.clone();
    let body = json!({"grade_override": {"grade": "vvip", "reason": "owner's friend"}, "job_title": "x"});
    w.app
        .patch(&format!("/api/v1/customers/{cid}"), &w.agent, body.clone())
        .await
        .problem(403);
    w.app
        .patch(&format!("/api/v1/customers/{cid}"), &w.key_write, body.clone())
        .await
        .problem(403);
    let create = w
        .app
        .post(
            "/api/v1/customers",
            &w.agent,
            json!({"given_name": "A", "family_name": "B", "grade_override": {"grade": "vip", "reason": "x"}}),
        )
        .await;
    create.problem(403);
    let unchanged = w.app.get(&format!("/api/v1/customers/{cid}"), &w.admin).await;
    assert_eq!(unchanged.body["version"], 1);
    assert_eq!(unchanged.body["grade"], "potential");
    let r = w.app.patch(&format!("/api/v1/customers/{cid}"), &w.manager, body).await;
    r.expect(200);
    assert_eq!(r.body["grade"], "vvip");
    assert_eq!(r.body["grade_override"]["reason"], "owner's friend");
}

#[actix_rt::test]
async fn property_scope_hides_other_properties() {
    let w = world().await;
    let (a, b) = (w.prop_a.clone(), w.prop_b.clone());
    w.app
        .get(&format!("/api/v1/properties/{a}"), &w.agent)
        .await
        .expect(200);
    w.app
        .get(&format!("/api/v1/properties/{b}"), &w.agent)
        .await
        .problem(404);
    let listed = w.app.get("/api/v1/properties", &w.agent).await;
    let codes: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["AAA"]);
    w.app
        .get(&format!("/api/v1/properties/{b}"), &w.key_read_a)
        .await
        .problem(404);
    w.app
        .get(&format!("/api/v1/customers?property_id={b}"), &w.key_read_a)
        .await
        .problem(404);
    w.app
        .get(&format!("/api/v1/customers?property_id={a}"), &w.key_read_a)
        .await
        .expect(200);
    w.app
        .get(&format!("/api/v1/customers?property_id={b}"), &w.agent)
        .await
        .problem(404);
    let everything = w.app.get("/api/v1/properties", &w.admin).await;
    assert_eq!(everything.body.as_array().unwrap().len(), 2);
}

#[actix_rt::test]
async fn personal_data_is_masked_by_role_and_unmasked_reads_are_audited() {
    let w = world().await;
    let c = w
        .app
        .create_customer(
            &w.admin,
            json!({
                "given_name": "John", "family_name": "Doe", "email": "john.doe@example.com", "phone": "+8613812345678",
                "birth_date": "1980-01-02", "tags": ["allergy:nuts"],
                "identity_document": {"type": "passport", "number": "E12345678", "issuing_country": "CN"},
                "address": {"line1": "1 Bund Rd", "city": "Shanghai", "country": "CN"}
            }),
        )
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/customers/{id}");
    let audit_path = format!("/api/v1/audit-log?target_id={id}&action=customer.read_unmasked");
    let audits = |r: &crate::support::Resp| r.body["data"].as_array().unwrap().len();
    let before = audits(&w.app.get(&audit_path, &w.admin).await);

    let agent = w.app.get(&path, &w.agent).await;
    agent.expect(200);
    let a = &agent.body;
    assert_eq!(a["personal_data"], "masked");
    assert_eq!(a["email"], "j***@example.com");
    assert_eq!(a["phone"], "+86 138****5678");
    assert_eq!(a["identity_document"]["number"], "****5678");
    assert_eq!(a["address"]["line1"], Value::Null);
    assert_eq!(a["address"]["city"], "Shanghai");
    assert_eq!(a["given_name"], "John");
    let agent_list = w.app.get("/api/v1/customers?q=john", &w.agent).await;
    assert_eq!(agent_list.body["data"][0]["email"], "j***@example.com");
    assert_eq!(
        audits(&w.app.get(&audit_path, &w.admin).await),
        before,
        "masked reads are not audited"
    );

    let analyst = w.app.get(&path, &w.analyst).await;
    analyst.expect(200);
    let n = &analyst.body;
    assert_eq!(n["personal_data"], "hidden");
    for field in [
        "given_name",
        "family_name",
        "email",
        "phone",
        "birth_date",
        "address",
        "identity_document",
        "preferences",
    ] {
        assert_eq!(n[field], Value::Null, "analyst sees {field}");
    }
    assert_eq!(n["tags"], json!([]));
    assert!(!analyst.raw.contains("john") && !analyst.raw.contains("John"));
    w.app.get("/api/v1/customers?q=john", &w.analyst).await.problem(403);
    w.app
        .get("/api/v1/customers?email=john.doe%40example.com", &w.analyst)
        .await
        .problem(403);
    w.app
        .get("/api/v1/customers?phone=%2B8613812345678", &w.analyst)
        .await
        .problem(403);
    w.app
        .get("/api/v1/customers?grade=potential", &w.analyst)
        .await
        .expect(200);

    let key = w.app.get(&path, &w.key_read).await;
    assert_eq!(key.body["personal_data"], "contact");
    assert_eq!(key.body["email"], "john.doe@example.com");
    assert_eq!(key.body["identity_document"]["number"], "****5678");

    let manager = w.app.get(&path, &w.manager).await;
    assert_eq!(manager.body["personal_data"], "full");
    assert_eq!(manager.body["email"], "john.doe@example.com");
    assert_eq!(manager.body["identity_document"]["number"], "E12345678");
    let log = w.app.get(&audit_path, &w.admin).await;
    assert_eq!(
        audits(&log),
        before + 2,
        "the key read and the manager read are audited"
    );
    assert_eq!(log.body["data"][0]["actor_kind"], "staff");
    assert_eq!(log.body["data"][1]["actor_kind"], "api_key");

    // Encrypted at rest: the stored column does not hold the number.
    use concierge::db::schema::customers;
    use diesel::prelude::*;
    let mut conn = w.app.conn();
    let stored: (Option<String>, Option<String>) = customers::table
        .find(&id)
        .select((customers::id_doc_number_enc, customers::id_doc_last4))
        .first(&mut **conn)
        .unwrap();
    let enc = stored.0.unwrap();
    assert!(!enc.contains("E12345678") && !enc.contains("12345678"));
    assert_eq!(stored.1.as_deref(), Some("5678"));
}

#[actix_rt::test]
async fn api_keys_work_in_either_header_and_stop_when_revoked() {
    let w = world().await;
    w.app
        .send(
            Method::GET,
            "/api/v1/customers",
            Auth::ApiKeyHeader(&w.key_read),
            None,
            &[],
        )
        .await
        .expect(200);
    w.app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::ApiKeyHeader(&w.key_read),
            Some(json!({"given_name": "A", "family_name": "B"})),
            &[],
        )
        .await
        .problem(403);
    let k = w
        .app
        .post(
            "/api/v1/api-keys",
            &w.admin,
            json!({"name": "soon revoked", "scopes": ["customers:read"]}),
        )
        .await;
    let (id, key) = (
        k.body["id"].as_str().unwrap().to_string(),
        k.body["key"].as_str().unwrap().to_string(),
    );
    w.app.get("/api/v1/customers", &key).await.expect(200);
    let listed = w.app.get(&format!("/api/v1/api-keys/{id}"), &w.admin).await;
    assert!(listed.body["last_used_at"].is_string(), "last use is stamped");
    w.app
        .delete(&format!("/api/v1/api-keys/{id}"), &w.admin)
        .await
        .expect(204);
    w.app.get("/api/v1/customers", &key).await.problem(401);
    w.app
        .get("/api/v1/customers", "ck_live_deadbeef_0000")
        .await
        .problem(401);
    w.app
        .send(
            Method::GET,
            "/api/v1/customers",
            Auth::ApiKeyHeader("ck_live_deadbeef_0000"),
            None,
            &[],
        )
        .await
        .problem(401);
    w.app
        .post(
            "/api/v1/api-keys",
            &w.admin,
            json!({"name": "past", "scopes": ["customers:read"], "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await
        .problem(422);
    w.app
        .post("/api/v1/api-keys", &w.admin, json!({"name": "no scopes", "scopes": []}))
        .await
        .problem(422);
    w.app
        .post(
            "/api/v1/api-keys",
            &w.admin,
            json!({"name": "bad scope", "scopes": ["everything"]}),
        )
        .await
        .problem(422);
}

#[actix_rt::test]
async fn an_expired_api_key_is_refused() {
    let w = world().await;
    let k = w
        .app
        .post(
            "/api/v1/api-keys",
            &w.admin,
            json!({"name": "short", "scopes": ["customers:read"]}),
        )
        .await;
    let (id, key) = (
        k.body["id"].as_str().unwrap().to_string(),
        k.body["key"].as_str().unwrap().to_string(),
    );
    w.app.get("/api/v1/customers", &key).await.expect(200);
    use concierge::db::schema::api_keys;
    use diesel::prelude::*;
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
    diesel::update(api_keys::table.find(&id))
        .set(api_keys::expires_at.eq(Some(past)))
        .execute(&mut **w.app.conn())
        .unwrap();
    w.app.get("/api/v1/customers", &key).await.problem(401);
}

#[actix_rt::test]
async fn deactivated_or_demoted_staff_lose_access_at_once() {
    let w = world().await;
    w.app.get("/api/v1/customers", &w.agent).await.expect(200);
    w.app
        .patch(
            &format!("/api/v1/staff/{}", w.staff_id),
            &w.admin,
            json!({"role": "analyst"}),
        )
        .await
        .expect(200);
    w.app.get("/api/v1/customers", &w.agent).await.problem(401);
    w.app
        .patch(
            &format!("/api/v1/staff/{}", w.staff_id),
            &w.admin,
            json!({"role": "agent", "active": false}),
        )
        .await
        .expect(200);
    w.app.get("/api/v1/customers", &w.agent).await.problem(401);
}

#[actix_rt::test]
async fn ticket_endpoints_by_role_and_scope() {
    let w = world().await;
    let body = json!({"property_id": w.prop_a, "kind": "complaint", "category": "noise", "severity": "low",
                      "channel": "phone", "subject": "Matrix", "description": "Matrix ticket"});
    //                          admin manager agent analyst guest key:r key:w key:l none
    check(
        &w,
        Method::POST,
        "/api/v1/tickets",
        Some(body.clone()),
        [201, 201, 201, 403, 403, 403, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        "/api/v1/tickets",
        None,
        [200, 200, 200, 403, 403, 403, 403, 403, 401],
    )
    .await;
    let t = w.app.post("/api/v1/tickets", &w.admin, body).await;
    let id = t.body["id"].as_str().unwrap().to_string();
    let one = format!("/api/v1/tickets/{id}");
    check(
        &w,
        Method::GET,
        &one,
        None,
        [200, 200, 200, 403, 403, 403, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        &format!("{one}/timeline"),
        None,
        [200, 200, 200, 403, 403, 403, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::POST,
        &format!("{one}/comments"),
        Some(json!({"body": "note"})),
        [201, 201, 201, 403, 403, 403, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::PUT,
        "/api/v1/sla-policies/low",
        Some(json!({"first_response_minutes": 1440, "resolution_minutes": 4320})),
        [200, 403, 403, 403, 403, 403, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::PUT,
        "/api/v1/ticket-categories/matrix",
        Some(json!({"name": "Matrix"})),
        [201, 403, 403, 403, 403, 403, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        "/api/v1/ticket-categories",
        None,
        [200, 200, 200, 200, 200, 200, 200, 200, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        "/api/v1/sla-policies",
        None,
        [200, 200, 200, 403, 403, 403, 403, 403, 401],
    )
    .await;
    check(
        &w,
        Method::GET,
        "/api/v1/me/tickets",
        None,
        [403, 403, 403, 403, 200, 403, 403, 403, 401],
    )
    .await;
    // The guest's path to a ticket that is not theirs: 404, as if it did not exist.
    check(
        &w,
        Method::GET,
        &format!("/api/v1/me/tickets/{id}"),
        None,
        [403, 403, 403, 403, 404, 403, 403, 403, 401],
    )
    .await;
}
