//! The access matrix, table-driven: every kind of caller (each staff role, property-scoped and
//! unscoped staff, guests, API keys by scope and property restriction, no credentials) against
//! the admin-only, customer and `/me` endpoints; then guest self-escalation, grade overrides,
//! property scope, personal-data masking with its audit trail, API-key transport and revocation,
//! and staff tokens that stop working when the user is deactivated or their role changes.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, Resp, TestApp};

/// Everyone who calls, in one app.
struct World {
    app: TestApp,
    admin: String,
    manager: String,
    manager_id: String,
    agent: String,
    analyst: String,
    /// An agent without a property scope (all properties).
    agent_all: String,
    guest: String,
    guest_id: String,
    guest2: String,
    guest2_id: String,
    key_read: String,
    key_write: String,
    key_loyalty: String,
    /// `customers:read`, restricted to property A.
    key_read_a: String,
    prop_a: String,
    prop_b: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop_a = app.create_property(&admin, "ACA").await;
    let prop_b = app.create_property(&admin, "ACB").await;
    let (manager_id, manager) = app.staff_token(&admin, "manager", &[&prop_a]).await;
    let (_, agent) = app.staff_token(&admin, "agent", &[&prop_a]).await;
    let (_, analyst) = app.staff_token(&admin, "analyst", &[&prop_a]).await;
    let (_, agent_all) = app.staff_token(&admin, "agent", &[]).await;
    let (guest_id, guest) = app.guest("g1@example.com").await;
    let (guest2_id, guest2) = app.guest("g2@example.com").await;
    let key_read = app.api_key(&admin, &["customers:read"], &[]).await;
    let key_write = app.api_key(&admin, &["customers:write"], &[]).await;
    let key_loyalty = app.api_key(&admin, &["loyalty:read"], &[]).await;
    let key_read_a = app.api_key(&admin, &["customers:read"], &[&prop_a]).await;
    World {
        app,
        admin,
        manager,
        manager_id,
        agent,
        analyst,
        agent_all,
        guest,
        guest_id,
        guest2,
        guest2_id,
        key_read,
        key_write,
        key_loyalty,
        key_read_a,
        prop_a,
        prop_b,
    }
}

/// Every caller but the admin and the anonymous one.
const NON_ADMINS: [&str; 10] = [
    "manager",
    "agent",
    "analyst",
    "agent_all",
    "guest",
    "guest2",
    "key_read",
    "key_write",
    "key_loyalty",
    "key_read_a",
];

/// One row of the matrix: who calls, how, and the status they must get.
struct Row {
    who: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
}

fn row(who: &'static str, method: Method, path: &str, body: Option<Value>, status: u16) -> Row {
    Row {
        who,
        method,
        path: path.to_string(),
        body,
        status,
    }
}

impl World {
    /// The credential of a caller (`None` for "none").
    fn cred(&self, who: &str) -> Option<&str> {
        Some(match who {
            "admin" => &self.admin,
            "manager" => &self.manager,
            "agent" => &self.agent,
            "analyst" => &self.analyst,
            "agent_all" => &self.agent_all,
            "guest" => &self.guest,
            "guest2" => &self.guest2,
            "key_read" => &self.key_read,
            "key_write" => &self.key_write,
            "key_loyalty" => &self.key_loyalty,
            "key_read_a" => &self.key_read_a,
            "none" => return None,
            other => panic!("unknown caller {other}"),
        })
    }

    async fn call(&self, who: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        let auth = match self.cred(who) {
            Some(t) => Auth::Bearer(t),
            None => Auth::None,
        };
        self.app.send(method, path, auth, body, &[]).await
    }

    /// Runs every row in order; a failure names the row.
    async fn run(&self, rows: Vec<Row>) {
        for (i, r) in rows.into_iter().enumerate() {
            let what = format!("row {i}: {} {} {}", r.who, r.method, r.path);
            let got = self.call(r.who, r.method.clone(), &r.path, r.body).await;
            assert_eq!(got.status.as_u16(), r.status, "{what}: body {}", got.raw);
            if r.status >= 400 {
                assert!(
                    got.content_type().starts_with("application/problem+json"),
                    "{what}: not problem+json but {}",
                    got.content_type()
                );
                assert_eq!(got.body["status"], r.status, "{what}: problem status");
            }
        }
    }

    /// Rows for an admin-only endpoint: admin gets `ok`, every other caller 403, no credentials 401.
    fn admin_only(&self, method: Method, path: &str, body: Option<Value>, ok: u16) -> Vec<Row> {
        let mut rows: Vec<Row> = NON_ADMINS
            .iter()
            .map(|who| row(who, method.clone(), path, body.clone(), 403))
            .collect();
        rows.push(row("none", method.clone(), path, body.clone(), 401));
        // The admin last, so a destructive call (revocation) comes after the refusals.
        rows.push(row("admin", method, path, body, ok));
        rows
    }

    async fn customer(&self, body: Value) -> String {
        self.app.create_customer(&self.admin, body).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn audit(&self, query: &str) -> Vec<Value> {
        let r = self.app.get(&format!("/api/v1/audit-log?{query}"), &self.admin).await;
        r.expect(200);
        r.body["data"].as_array().expect("audit data").clone()
    }
}

#[actix_rt::test]
async fn admin_only_endpoints_refuse_everyone_else() {
    let w = world().await;
    let admin = w.admin.clone();
    let (spare_staff_id, _) = w.app.staff_token(&admin, "agent", &[]).await;
    let spare_key = w
        .app
        .post(
            "/api/v1/api-keys",
            &admin,
            json!({"name": "spare", "scopes": ["tickets:read"]}),
        )
        .await;
    spare_key.expect(201);
    let spare_key_id = spare_key.body["id"].as_str().unwrap().to_string();
    let staff_path = format!("/api/v1/staff/{spare_staff_id}");
    let key_path = format!("/api/v1/api-keys/{spare_key_id}");
    let prop_path = format!("/api/v1/properties/{}", w.prop_a);

    let mut rows = Vec::new();
    rows.extend(w.admin_only(Method::GET, "/api/v1/staff", None, 200));
    rows.extend(w.admin_only(
        Method::POST,
        "/api/v1/staff",
        Some(json!({"email": "matrix.staff@test.local", "display_name": "Matrix", "role": "agent", "password": "staff-password-1"})),
        201,
    ));
    rows.extend(w.admin_only(Method::GET, &staff_path, None, 200));
    rows.extend(w.admin_only(
        Method::PATCH,
        &staff_path,
        Some(json!({"display_name": "Renamed"})),
        200,
    ));
    rows.extend(w.admin_only(Method::GET, "/api/v1/api-keys", None, 200));
    rows.extend(w.admin_only(
        Method::POST,
        "/api/v1/api-keys",
        Some(json!({"name": "matrix", "scopes": ["customers:read"]})),
        201,
    ));
    rows.extend(w.admin_only(Method::GET, &key_path, None, 200));
    rows.extend(w.admin_only(Method::GET, "/api/v1/audit-log", None, 200));
    rows.extend(w.admin_only(
        Method::POST,
        "/api/v1/properties",
        Some(json!({"code": "ACN", "name": "New", "timezone": "UTC", "currency": "EUR"})),
        201,
    ));
    rows.extend(w.admin_only(Method::PATCH, &prop_path, Some(json!({"name": "Renamed"})), 200));
    rows.extend(w.admin_only(Method::DELETE, &key_path, None, 204));
    w.run(rows).await;

    // The refusals changed nothing: one staff user, one key, one property made (by the admin).
    let staff = w.app.get("/api/v1/staff", &admin).await;
    let made = staff
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["email"] == "matrix.staff@test.local")
        .count();
    assert_eq!(made, 1);
    let renamed = w.app.get(&staff_path, &admin).await;
    assert_eq!(renamed.body["display_name"], "Renamed");
    let revoked = w.app.get(&key_path, &admin).await;
    assert!(
        revoked.body["revoked_at"].is_string(),
        "revoked by the admin: {}",
        revoked.raw
    );
    let props = w.app.get("/api/v1/properties", &admin).await;
    assert_eq!(props.body.as_array().unwrap().len(), 3);
}

#[actix_rt::test]
async fn customer_endpoints_by_role_scope_and_ownership() {
    let w = world().await;
    let cid = w.customer(json!({"given_name": "Matrix", "family_name": "Row"})).await;
    let (g1, g2) = (w.guest_id.clone(), w.guest2_id.clone());
    let one = format!("/api/v1/customers/{cid}");
    let interactions = format!("/api/v1/customers/{cid}/interactions");
    let list = "/api/v1/customers";
    let mut rows = Vec::new();

    // GET /customers
    for (who, status) in [
        ("admin", 200),
        ("manager", 200),
        ("agent", 200),
        ("analyst", 200),
        ("agent_all", 200),
        ("guest", 403),
        ("key_read", 200),
        ("key_read_a", 200),
        ("key_write", 403),
        ("key_loyalty", 403),
        ("none", 401),
    ] {
        rows.push(row(who, Method::GET, list, None, status));
    }

    // POST /customers, with a unique email per row so creations never collide.
    for (i, (who, status)) in [
        ("admin", 201),
        ("manager", 201),
        ("agent", 201),
        ("agent_all", 201),
        ("analyst", 403),
        ("guest", 403),
        ("key_write", 201),
        ("key_read", 403),
        ("key_loyalty", 403),
        ("none", 401),
    ]
    .into_iter()
    .enumerate()
    {
        let body =
            json!({"given_name": "New", "family_name": format!("Row{i}"), "email": format!("new.row{i}@example.com")});
        rows.push(row(who, Method::POST, list, Some(body), status));
    }

    // GET /customers/{id}
    for (who, status) in [
        ("admin", 200),
        ("manager", 200),
        ("agent", 200),
        ("analyst", 200),
        ("agent_all", 200),
        ("key_read", 200),
        ("key_write", 403),
        ("key_loyalty", 403),
        ("guest", 404),
        ("none", 401),
    ] {
        rows.push(row(who, Method::GET, &one, None, status));
    }
    rows.push(row("guest", Method::GET, &format!("/api/v1/customers/{g1}"), None, 200));
    rows.push(row("guest", Method::GET, &format!("/api/v1/customers/{g2}"), None, 404));
    rows.push(row(
        "guest2",
        Method::GET,
        &format!("/api/v1/customers/{g2}"),
        None,
        200,
    ));
    rows.push(row(
        "guest2",
        Method::GET,
        &format!("/api/v1/customers/{g1}"),
        None,
        404,
    ));

    // PATCH /customers/{id}
    // A distinct value per row, so every accepted PATCH is a real change.
    let mut n = 0;
    let mut patch = || {
        n += 1;
        Some(json!({"job_title": format!("Engineer {n}")}))
    };
    for (who, status) in [
        ("analyst", 403),
        ("key_read", 403),
        ("key_loyalty", 403),
        ("guest", 403),
        ("none", 401),
        ("agent", 200),
        ("agent_all", 200),
        ("manager", 200),
        ("admin", 200),
        ("key_write", 200),
    ] {
        rows.push(row(who, Method::PATCH, &one, patch(), status));
    }
    // Guests change themselves at /me, never here, not even their own profile.
    rows.push(row(
        "guest",
        Method::PATCH,
        &format!("/api/v1/customers/{g1}"),
        patch(),
        403,
    ));
    rows.push(row(
        "guest",
        Method::PATCH,
        &format!("/api/v1/customers/{g2}"),
        patch(),
        403,
    ));

    // POST /customers/{id}/interactions
    let note = || Some(json!({"channel": "phone", "direction": "inbound", "summary": "Asked for a late checkout"}));
    for (who, status) in [
        ("analyst", 403),
        ("guest", 403),
        ("key_read", 403),
        ("key_loyalty", 403),
        ("none", 401),
        ("agent", 201),
        ("agent_all", 201),
        ("manager", 201),
        ("admin", 201),
        ("key_write", 201),
    ] {
        rows.push(row(who, Method::POST, &interactions, note(), status));
    }

    // GET /me: guests only.
    for (who, status) in [
        ("guest", 200),
        ("guest2", 200),
        ("admin", 403),
        ("manager", 403),
        ("agent", 403),
        ("analyst", 403),
        ("agent_all", 403),
        ("key_read", 403),
        ("key_write", 403),
        ("key_loyalty", 403),
        ("key_read_a", 403),
        ("none", 401),
    ] {
        rows.push(row(who, Method::GET, "/api/v1/me", None, status));
    }
    w.run(rows).await;

    // Each guest's /me is their own profile.
    assert_eq!(w.app.get("/api/v1/me", &w.guest).await.body["id"], g1);
    assert_eq!(w.app.get("/api/v1/me", &w.guest2).await.body["id"], g2);
    // Five staff/key PATCHes succeeded; the refused ones left no trace.
    let after = w.app.get(&one, &w.admin).await;
    assert_eq!(after.body["version"], 6, "{}", after.raw);
    // Own profile untouched by the refused PATCH at /customers/{own id}.
    let me = w.app.get("/api/v1/me", &w.guest).await;
    assert_eq!(me.body["job_title"], Value::Null);
    // Five interactions were logged.
    let logged = w.app.get(&interactions, &w.admin).await;
    logged.expect(200);
    assert_eq!(logged.body["data"].as_array().unwrap().len(), 5, "{}", logged.raw);
}

#[actix_rt::test]
async fn a_guest_cannot_set_grade_tier_points_or_staff_fields_on_themself() {
    let w = world().await;
    let before = w.app.get("/api/v1/me", &w.guest).await;
    before.expect(200);
    let version = before.body["version"].clone();
    assert_eq!(before.body["grade"], "potential");
    for (field, value) in [
        ("grade", json!("vip")),
        ("tier", json!("platinum")),
        ("points", json!(100000)),
        ("grade_override", json!({"grade": "vip", "reason": "x"})),
        ("tags", json!(["vip"])),
        ("email", json!("x@y.com")),
    ] {
        let r = w.app.patch("/api/v1/me", &w.guest, json!({ field: value })).await;
        r.problem(422);
        assert!(
            r.fields().iter().any(|f| f == field),
            "422 for {field} names it: {}",
            r.raw
        );
    }
    let me = w.app.get("/api/v1/me", &w.guest).await;
    me.expect(200);
    assert_eq!(me.body["grade"], "potential");
    assert_eq!(me.body["grade_override"], Value::Null);
    assert_eq!(me.body["tags"], json!([]));
    assert_eq!(me.body["email"], "g1@example.com");
    assert_eq!(me.body["version"], version, "nothing was written");
}

#[actix_rt::test]
async fn grade_override_is_for_managers_not_agents() {
    let w = world().await;
    let cid = w
        .customer(json!({"given_name": "Grade", "family_name": "Target"}))
        .await;
    let path = format!("/api/v1/customers/{cid}");
    let before = w.app.get(&path, &w.admin).await;
    let version = before.body["version"].clone();
    let body = json!({"grade_override": {"grade": "vip", "reason": "regular since 2019"}});

    w.app.patch(&path, &w.agent, body.clone()).await.problem(403);
    w.app.patch(&path, &w.agent_all, body.clone()).await.problem(403);
    let unchanged = w.app.get(&path, &w.admin).await;
    assert_eq!(unchanged.body["version"], version, "the refused override wrote nothing");
    assert_eq!(unchanged.body["grade"], before.body["grade"]);
    assert_eq!(unchanged.body["grade_override"], Value::Null);

    let r = w.app.patch(&path, &w.manager, body).await;
    r.expect(200);
    assert_eq!(r.body["grade"], "vip");
    assert_eq!(r.body["grade_override"]["reason"], "regular since 2019");
    assert_ne!(r.body["version"], version);
}

#[actix_rt::test]
async fn property_scope_hides_other_properties() {
    let w = world().await;
    let (a, b) = (w.prop_a.clone(), w.prop_b.clone());
    let rows = vec![
        row("agent", Method::GET, &format!("/api/v1/properties/{a}"), None, 200),
        row("agent", Method::GET, &format!("/api/v1/properties/{b}"), None, 404),
        row("agent_all", Method::GET, &format!("/api/v1/properties/{b}"), None, 200),
        row("key_read_a", Method::GET, &format!("/api/v1/properties/{a}"), None, 200),
        row("key_read_a", Method::GET, &format!("/api/v1/properties/{b}"), None, 404),
        row("key_read", Method::GET, &format!("/api/v1/properties/{b}"), None, 200),
        row(
            "key_read_a",
            Method::GET,
            &format!("/api/v1/customers?property_id={b}"),
            None,
            404,
        ),
        row(
            "key_read_a",
            Method::GET,
            &format!("/api/v1/customers?property_id={a}"),
            None,
            200,
        ),
        row(
            "key_read",
            Method::GET,
            &format!("/api/v1/customers?property_id={b}"),
            None,
            200,
        ),
    ];
    w.run(rows).await;

    let ids = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .expect("property list")
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&w.app.get("/api/v1/properties", &w.agent).await), vec![a.clone()]);
    assert_eq!(
        ids(&w.app.get("/api/v1/properties", &w.key_read_a).await),
        vec![a.clone()]
    );
    let all = ids(&w.app.get("/api/v1/properties", &w.agent_all).await);
    assert!(
        all.contains(&a) && all.contains(&b),
        "unscoped agent sees both: {all:?}"
    );

    // Interactions logged at B stay out of A-scoped views, and A-scoped staff cannot log at B.
    let cid = w.customer(json!({"given_name": "Two", "family_name": "Hotels"})).await;
    let path = format!("/api/v1/customers/{cid}/interactions");
    let at = |prop: &str, summary: &str| json!({"channel": "phone", "direction": "inbound", "summary": summary, "property_id": prop});
    w.app.post(&path, &w.admin, at(&a, "at A")).await.expect(201);
    w.app.post(&path, &w.admin, at(&b, "at B")).await.expect(201);
    let r = w.app.post(&path, &w.agent, at(&b, "agent at B")).await;
    r.problem(422);
    assert_eq!(r.fields(), vec!["property_id".to_string()], "{}", r.raw);
    let summaries = |r: &Resp| -> Vec<String> {
        r.body["data"]
            .as_array()
            .expect("interaction page")
            .iter()
            .map(|i| i["summary"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(summaries(&w.app.get(&path, &w.agent).await), vec!["at A"]);
    assert_eq!(summaries(&w.app.get(&path, &w.key_read_a).await), vec!["at A"]);
    assert_eq!(summaries(&w.app.get(&path, &w.admin).await), vec!["at B", "at A"]);
}

#[actix_rt::test]
async fn personal_data_is_masked_by_role_and_unmasked_staff_reads_are_audited() {
    let w = world().await;
    let id = w
        .customer(json!({
            "given_name": "John", "family_name": "Doe",
            "email": "john.doe@example.com", "phone": "+8613812345678",
            "identity_document": {"type": "passport", "number": "E12345678", "issuing_country": "CN"},
            "address": {"line1": "1 Bund Rd", "city": "Shanghai", "country": "CN"}
        }))
        .await;
    let path = format!("/api/v1/customers/{id}");
    let unmasked_reads = format!("target_id={id}&action=customer.read_unmasked");
    let before = w.audit(&unmasked_reads).await.len();

    // Agent: masked contact data, last four of the document, no street.
    let agent = w.app.get(&path, &w.agent).await;
    agent.expect(200);
    let a = &agent.body;
    assert_eq!(a["personal_data"], "masked");
    assert_eq!(a["email"], "j***@example.com");
    assert_eq!(a["phone"], "+86 138****5678");
    assert_eq!(a["identity_document"]["number"], "****5678");
    assert_eq!(a["address"]["line1"], Value::Null);
    assert_eq!(a["address"]["city"], "Shanghai");
    assert!(!agent.raw.contains("E12345678") && !agent.raw.contains("john.doe"));
    assert_eq!(
        w.audit(&unmasked_reads).await.len(),
        before,
        "masked reads are not audited"
    );

    // Analyst: no personal fields, and no searching by them.
    let analyst = w.app.get(&path, &w.analyst).await;
    analyst.expect(200);
    let n = &analyst.body;
    assert_eq!(n["personal_data"], "hidden");
    for field in ["given_name", "family_name", "email", "phone", "identity_document"] {
        assert_eq!(n[field], Value::Null, "analyst sees {field}: {}", analyst.raw);
    }
    assert!(!analyst.raw.contains("5678") && !analyst.raw.contains("John"));
    w.app.get("/api/v1/customers?q=john", &w.analyst).await.problem(403);
    w.app
        .get("/api/v1/customers?email=john.doe%40example.com", &w.analyst)
        .await
        .problem(403);
    assert_eq!(
        w.audit(&unmasked_reads).await.len(),
        before,
        "hidden reads are not audited"
    );

    // Manager: everything, and the read is audited with the manager as actor.
    let manager = w.app.get(&path, &w.manager).await;
    manager.expect(200);
    let m = &manager.body;
    assert_eq!(m["personal_data"], "full");
    assert_eq!(m["given_name"], "John");
    assert_eq!(m["family_name"], "Doe");
    assert_eq!(m["email"], "john.doe@example.com");
    assert_eq!(m["phone"], "+8613812345678");
    assert_eq!(m["identity_document"]["number"], "E12345678");
    assert_eq!(m["address"]["line1"], "1 Bund Rd");
    let log = w.audit(&unmasked_reads).await;
    assert_eq!(log.len(), before + 1, "one audit entry for the manager read: {log:?}");
    let entry = log
        .iter()
        .find(|e| e["actor_id"] == w.manager_id.as_str())
        .unwrap_or_else(|| panic!("no entry by the manager: {log:?}"));
    assert_eq!(entry["actor_kind"], "staff");
    assert_eq!(entry["action"], "customer.read_unmasked");
    assert_eq!(entry["target_id"], id.as_str());

    // Another masked agent read still adds nothing.
    w.app.get(&path, &w.agent).await.expect(200);
    assert_eq!(w.audit(&unmasked_reads).await.len(), before + 1);

    // Integration key: contact data whole, document masked.
    let key = w.app.get(&path, &w.key_read).await;
    key.expect(200);
    assert_eq!(key.body["personal_data"], "contact");
    assert_eq!(key.body["email"], "john.doe@example.com");
    assert_eq!(key.body["phone"], "+8613812345678");
    assert_eq!(key.body["identity_document"]["number"], "****5678");
    assert!(!key.raw.contains("E12345678"));

    // Encrypted at rest.
    use concierge::db::schema::customers;
    use diesel::prelude::*;
    let mut conn = w.app.conn();
    let stored: Option<String> = customers::table
        .find(&id)
        .select(customers::id_doc_number_enc)
        .first(&mut **conn)
        .unwrap();
    let stored = stored.expect("an encrypted document number is stored");
    assert!(!stored.is_empty());
    assert!(!stored.contains("E12345678"), "plaintext at rest: {stored}");
}

#[actix_rt::test]
async fn api_keys_in_either_header_revocation_and_unknown_keys() {
    let w = world().await;
    // The X-Api-Key header answers exactly as the Bearer form does.
    let (prop_a, prop_b) = (
        format!("/api/v1/properties/{}", w.prop_a),
        format!("/api/v1/properties/{}", w.prop_b),
    );
    let probes: Vec<(&str, Method, &str, Option<Value>)> = vec![
        (&w.key_read, Method::GET, "/api/v1/customers", None),
        (
            &w.key_read,
            Method::POST,
            "/api/v1/customers",
            Some(json!({"given_name": "Hdr", "family_name": "Read"})),
        ),
        (&w.key_loyalty, Method::GET, "/api/v1/customers", None),
        (&w.key_read, Method::GET, "/api/v1/staff", None),
        (&w.key_read, Method::GET, "/api/v1/me", None),
        (&w.key_read_a, Method::GET, &prop_b, None),
        (&w.key_read_a, Method::GET, &prop_a, None),
    ];
    for (i, (key, method, path, body)) in probes.into_iter().enumerate() {
        let bearer = w
            .app
            .send(method.clone(), path, Auth::Bearer(key), body.clone(), &[])
            .await;
        let header = w
            .app
            .send(method.clone(), path, Auth::ApiKeyHeader(key), body, &[])
            .await;
        assert_eq!(
            bearer.status, header.status,
            "probe {i} {method} {path}: bearer {} vs header {}",
            bearer.raw, header.raw
        );
    }
    let made = w
        .app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::ApiKeyHeader(&w.key_write),
            Some(json!({"given_name": "Hdr", "family_name": "Write", "email": "hdr.write@example.com"})),
            &[],
        )
        .await;
    made.expect(201);

    // Revocation works at once, in both forms.
    let k = w
        .app
        .post(
            "/api/v1/api-keys",
            &w.admin,
            json!({"name": "to revoke", "scopes": ["customers:read"]}),
        )
        .await;
    k.expect(201);
    let id = k.body["id"].as_str().unwrap().to_string();
    let key = k.body["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ck_"), "{key}");
    w.app.get("/api/v1/customers", &key).await.expect(200);
    w.app
        .send(Method::GET, "/api/v1/customers", Auth::ApiKeyHeader(&key), None, &[])
        .await
        .expect(200);
    w.app
        .delete(&format!("/api/v1/api-keys/{id}"), &w.admin)
        .await
        .expect(204);
    w.app.get("/api/v1/customers", &key).await.problem(401);
    w.app
        .send(Method::GET, "/api/v1/customers", Auth::ApiKeyHeader(&key), None, &[])
        .await
        .problem(401);

    // Unknown keys.
    let unknown = "ck_live_0123456789abcdef0123456789abcdef";
    w.app.get("/api/v1/customers", unknown).await.problem(401);
    w.app
        .send(Method::GET, "/api/v1/customers", Auth::ApiKeyHeader(unknown), None, &[])
        .await
        .problem(401);

    // A key cannot be born expired.
    let r = w
        .app
        .post(
            "/api/v1/api-keys",
            &w.admin,
            json!({"name": "expired", "scopes": ["customers:read"], "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    r.problem(422);
    assert!(r.fields().iter().any(|f| f == "expires_at"), "{}", r.raw);
}

/// A staff user with a known email and password; returns (id, access token).
async fn staff_with_login(w: &World, email: &str, role: &str) -> (String, String) {
    let r = w
        .app
        .post(
            "/api/v1/staff",
            &w.admin,
            json!({"email": email, "display_name": "Moving Staff", "role": role, "property_ids": [w.prop_a], "password": "staff-password-1"}),
        )
        .await;
    r.expect(201);
    (
        r.body["id"].as_str().unwrap().to_string(),
        w.app.login(email, "staff-password-1").await,
    )
}

async fn login_status(w: &World, email: &str) -> u16 {
    w.app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": email, "password": "staff-password-1"})),
            &[],
        )
        .await
        .status
        .as_u16()
}

#[actix_rt::test]
async fn deactivated_or_re_roled_staff_lose_their_old_tokens() {
    let w = world().await;
    let admin = w.admin.clone();

    let (gone_id, gone) = staff_with_login(&w, "gone@test.local", "agent").await;
    w.app.get("/api/v1/customers", &gone).await.expect(200);
    let r = w
        .app
        .patch(&format!("/api/v1/staff/{gone_id}"), &admin, json!({"active": false}))
        .await;
    r.expect(200);
    assert_eq!(r.body["active"], false);
    w.app.get("/api/v1/customers", &gone).await.problem(401);
    w.app.get("/api/v1/properties", &gone).await.problem(401);
    assert_eq!(
        login_status(&w, "gone@test.local").await,
        401,
        "a deactivated user cannot log in"
    );

    let (moved_id, moved) = staff_with_login(&w, "moved@test.local", "agent").await;
    w.app.get("/api/v1/customers", &moved).await.expect(200);
    let r = w
        .app
        .patch(&format!("/api/v1/staff/{moved_id}"), &admin, json!({"role": "manager"}))
        .await;
    r.expect(200);
    assert_eq!(r.body["role"], "manager");
    // Even a promotion: the old token carries the old role and is refused.
    w.app.get("/api/v1/customers", &moved).await.problem(401);
    w.app.get("/api/v1/properties", &moved).await.problem(401);
    // Logging in again gives a token for the new role.
    let fresh = w.app.login("moved@test.local", "staff-password-1").await;
    let cid = w
        .customer(json!({"given_name": "Role", "family_name": "Check", "email": "role.check@example.com"}))
        .await;
    let seen = w.app.get(&format!("/api/v1/customers/{cid}"), &fresh).await;
    seen.expect(200);
    assert_eq!(seen.body["personal_data"], "full", "the new token acts as a manager");

    // A flip-flop (agent → manager → agent) does not revive a token from the first stint.
    let (ff_id, ff) = staff_with_login(&w, "flipflop@test.local", "agent").await;
    for role in ["manager", "agent"] {
        w.app
            .patch(&format!("/api/v1/staff/{ff_id}"), &admin, json!({"role": role}))
            .await
            .expect(200);
    }
    w.app.get("/api/v1/customers", &ff).await.problem(401);

    // A staff user who kept their role keeps working.
    w.app.get("/api/v1/customers", &w.agent).await.expect(200);
}

#[actix_rt::test]
async fn a_property_scope_change_applies_to_the_existing_token() {
    let w = world().await;
    let (id, token) = w.app.staff_token(&w.admin, "agent", &[&w.prop_a]).await;
    let (a, b) = (
        format!("/api/v1/properties/{}", w.prop_a),
        format!("/api/v1/properties/{}", w.prop_b),
    );
    w.app.get(&a, &token).await.expect(200);
    w.app.get(&b, &token).await.problem(404);
    w.app
        .patch(
            &format!("/api/v1/staff/{id}"),
            &w.admin,
            json!({"property_ids": [w.prop_b]}),
        )
        .await
        .expect(200);
    w.app.get(&a, &token).await.problem(404);
    w.app.get(&b, &token).await.expect(200);
}

#[actix_rt::test]
async fn sessions_from_before_a_deactivation_stay_dead_after_reactivation() {
    let w = world().await;
    let email = "compromised@test.local";
    let r = w
        .app
        .post(
            "/api/v1/staff",
            &w.admin,
            json!({"email": email, "display_name": "Compromised", "role": "agent", "password": "staff-password-1"}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let login = w
        .app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": email, "password": "staff-password-1"})),
            &[],
        )
        .await;
    login.expect(200);
    let old_access = login.body["access_token"].as_str().unwrap().to_string();
    let old_refresh = login.body["refresh_token"].as_str().unwrap().to_string();

    // The usual response to a stolen session: deactivate, reset the password, reactivate.
    let staff = format!("/api/v1/staff/{id}");
    w.app
        .patch(&staff, &w.admin, json!({"active": false}))
        .await
        .expect(200);
    w.app.get("/api/v1/customers", &old_access).await.problem(401);
    w.app
        .patch(
            &staff,
            &w.admin,
            json!({"password": "new-staff-password-2", "active": true}),
        )
        .await
        .expect(200);

    let refreshed = w
        .app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            Auth::None,
            Some(json!({"refresh_token": old_refresh})),
            &[],
        )
        .await;
    assert_eq!(
        refreshed.status.as_u16(),
        401,
        "a refresh token from before the deactivation still works: {}",
        refreshed.raw
    );
    w.app.get("/api/v1/customers", &old_access).await.problem(401);
}
