//! Customer endpoints and `/me` by every caller (role, property scope, key scope), and guests
//! who may read and change only themselves.

use awc::http::Method;
use serde_json::{json, Value};

use super::table;
use crate::world::{row, World};

#[actix_rt::test]
async fn customer_endpoints_by_role_scope_and_key() {
    let w = World::new().await;
    let cid = w.customer(json!({"given_name": "Matrix", "family_name": "Row"})).await;
    let one = format!("/api/v1/customers/{cid}");
    let interactions = format!("/api/v1/customers/{cid}/interactions");
    let list = "/api/v1/customers";
    let mut rows = Vec::new();

    rows.extend(table(
        Method::GET,
        list,
        None,
        &[
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
        ],
    ));

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

    rows.extend(table(
        Method::GET,
        &one,
        None,
        &[
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
        ],
    ));

    // PATCH /customers/{id}: a distinct value per row, so every accepted PATCH is a real change.
    for (n, (who, status)) in [
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
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"job_title": format!("Engineer {n}")});
        rows.push(row(who, Method::PATCH, &one, Some(body), status));
    }

    let note = json!({"channel": "phone", "direction": "inbound", "summary": "Asked for a late checkout"});
    rows.extend(table(
        Method::POST,
        &interactions,
        Some(note),
        &[
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
        ],
    ));

    // GET /me: guests only.
    rows.extend(table(
        Method::GET,
        "/api/v1/me",
        None,
        &[
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
        ],
    ));
    w.run(rows).await;

    // Five staff/key PATCHes succeeded; the refused ones left no trace.
    let after = w.app.get(&one, &w.admin).await;
    assert_eq!(after.body["version"], 6, "{}", after.raw);
    // Five interactions were logged.
    let logged = w.app.get(&interactions, &w.admin).await;
    logged.expect(200);
    assert_eq!(logged.body["data"].as_array().unwrap().len(), 5, "{}", logged.raw);

    // The rest of the guest surface, consents and external references.
    let nine = |method: Method, path: &str, body: Option<Value>, want: [u16; 9]| {
        let who = [
            "admin",
            "manager",
            "agent",
            "analyst",
            "guest",
            "key_read",
            "key_write",
            "key_loyalty",
            "none",
        ];
        let cases: Vec<(&'static str, u16)> = who.into_iter().zip(want).collect();
        table(method, path, body, &cases)
    };
    let mut rows = Vec::new();
    //                                                      admin manager agent analyst guest read write loyalty none
    rows.extend(nine(
        Method::GET,
        &interactions,
        None,
        [200, 200, 200, 403, 403, 200, 403, 403, 401],
    ));
    rows.extend(nine(
        Method::PUT,
        &format!("{one}/consents/surveys"),
        Some(json!({"granted": true})),
        [200, 200, 200, 403, 403, 403, 200, 403, 401],
    ));
    rows.extend(nine(
        Method::GET,
        &format!("{one}/consents/history"),
        None,
        [200, 200, 200, 200, 403, 200, 403, 403, 401],
    ));
    rows.extend(nine(
        Method::GET,
        "/api/v1/customers/external/pms/none",
        None,
        [404, 404, 404, 404, 403, 404, 403, 403, 401],
    ));
    // The first upsert creates (201), the others update (200).
    rows.extend(nine(
        Method::PUT,
        "/api/v1/customers/external/pms/M-1",
        Some(json!({"given_name": "Ext", "family_name": "Ref"})),
        [201, 200, 200, 403, 403, 403, 200, 403, 401],
    ));
    rows.extend(nine(
        Method::GET,
        "/api/v1/properties",
        None,
        [200, 200, 200, 200, 403, 200, 200, 200, 401],
    ));
    rows.extend(nine(
        Method::PATCH,
        "/api/v1/me",
        Some(json!({"job_title": "x"})),
        [403, 403, 403, 403, 200, 403, 403, 403, 401],
    ));
    rows.extend(nine(
        Method::GET,
        "/api/v1/me/consents/history",
        None,
        [403, 403, 403, 403, 200, 403, 403, 403, 401],
    ));
    w.run(rows).await;
}

#[actix_rt::test]
async fn a_guest_reads_and_changes_only_themself() {
    let w = World::new().await;
    let (g1, g2) = (w.id("guest").await, w.id("guest2").await);
    let customer = |id: &str| format!("/api/v1/customers/{id}");
    let patch = || Some(json!({"job_title": "x"}));
    w.run(vec![
        row("guest", Method::GET, &customer(&g1), None, 200),
        row("guest", Method::GET, &customer(&g2), None, 404),
        row("guest2", Method::GET, &customer(&g2), None, 200),
        row("guest2", Method::GET, &customer(&g1), None, 404),
        // Guests change themselves at /me, never here, not even their own profile.
        row("guest", Method::PATCH, &customer(&g1), patch(), 403),
        row("guest", Method::PATCH, &customer(&g2), patch(), 403),
        row(
            "guest",
            Method::PUT,
            &format!("/api/v1/customers/{g2}/consents/surveys"),
            Some(json!({"granted": true})),
            403,
        ),
    ])
    .await;

    // Each guest's /me is their own profile.
    let me = w.app.get("/api/v1/me", &w.token("guest").await).await;
    assert_eq!(me.body["id"], g1);
    assert_eq!(w.app.get("/api/v1/me", &w.token("guest2").await).await.body["id"], g2);
    // Own profile untouched by the refused PATCH at /customers/{own id}; the other's too.
    assert_eq!(me.body["job_title"], Value::Null);
    let other_now = w.app.get(&customer(&g2), &w.admin).await;
    assert_eq!(other_now.body["version"], 1);
}
