//! Input PostgreSQL refuses (NUL), odd unicode, and numbers at the edges of i64: always a 4xx
//! naming the field, never a 500, and nothing written.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, TestApp};

#[actix_rt::test]
async fn nul_in_a_path_id_or_a_query_parameter_is_422_naming_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cases = [
        ("/api/v1/customers/%00", "id"),
        ("/api/v1/tickets/a%00b", "id"),
        ("/api/v1/stays/%00", "id"),
        ("/api/v1/customers/external/pms/x%00", "external_id"),
        ("/api/v1/customers/a%00/loyalty/entries", "id"),
        ("/api/v1/properties/%00/business-calendar", "id"),
        ("/api/v1/customers?q=%00", "q"),
        ("/api/v1/customers?cursor=%00", "cursor"),
        ("/api/v1/tickets?state=open&property_id=p%00", "property_id"),
        ("/api/v1/audit-log?x%00=1", "x\\u0000"),
    ];
    for (path, field) in cases {
        let r = app.get(path, &admin).await;
        assert_eq!(r.status.as_u16(), 422, "{path}: {}", r.raw);
        r.problem(422);
        assert_eq!(r.fields(), vec![field], "{path}");
    }
    // Writes too, before anything is stored.
    let r = app.put("/api/v1/ticket-categories/a%00", &admin, json!({})).await;
    assert_eq!(r.fields(), vec!["code"], "{}", r.raw);
    let r = app
        .post(
            "/api/v1/customers?x=%00",
            &admin,
            json!({"given_name": "A", "family_name": "B"}),
        )
        .await;
    r.problem(422);
    assert_eq!(app.count("customers"), 0);
}

#[actix_rt::test]
async fn nul_in_a_json_string_or_key_is_422_naming_its_path() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app
        .create_customer(&admin, json!({"given_name": "A", "family_name": "B"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cases: [(Method, String, Value, &str); 5] = [
        (
            Method::POST,
            "/api/v1/customers".into(),
            json!({"given_name": "A\u{0}", "family_name": "B"}),
            "given_name",
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            json!({"given_name": "A", "family_name": "B", "tags": ["ok", "\u{0}"]}),
            "tags[1]",
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            json!({"given_name": "A", "family_name": "B", "preferences": {"k\u{0}": "v"}}),
            "preferences.k\\u0000",
        ),
        (
            Method::PATCH,
            format!("/api/v1/customers/{id}"),
            json!({"job_title": "\u{0}"}),
            "job_title",
        ),
        (
            Method::POST,
            "/api/v1/properties".into(),
            json!({"code": "X\u{0}", "name": "n", "timezone": "UTC", "currency": "CNY"}),
            "code",
        ),
    ];
    for (method, path, body, field) in cases {
        let r = app.send(method, &path, Auth::Bearer(&admin), Some(body), &[]).await;
        r.problem(422);
        assert_eq!(r.fields(), vec![field], "{path}: {}", r.raw);
    }
    assert_eq!(app.count("customers"), 1);
    assert_eq!(app.count("properties"), 0);
}

#[actix_rt::test]
async fn invalid_utf8_and_lone_surrogates_are_4xx() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for path in [
        "/api/v1/customers/%FF",
        "/api/v1/customers?q=%FF%FE",
        "/api/v1/tickets?cursor=%C3%28",
    ] {
        let r = app.get(path, &admin).await;
        assert!(
            r.status.is_client_error() || r.status.is_success(),
            "{path}: {} {}",
            r.status,
            r.raw
        );
    }
    let bodies: [&[u8]; 3] = [
        br#"{"given_name": "\ud800", "family_name": "B"}"#,
        br#"{"given_name": "\udc00x", "family_name": "B"}"#,
        b"{\"given_name\": \"\xff\xfe\", \"family_name\": \"B\"}",
    ];
    for body in bodies {
        let r = app
            .send_raw(
                Method::POST,
                "/api/v1/customers",
                Some(&admin),
                "application/json",
                body.to_vec(),
            )
            .await;
        r.problem(400);
    }
    assert_eq!(app.count("customers"), 0);
}

#[actix_rt::test]
async fn odd_unicode_in_an_identity_document_number_is_422() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let odd = [
        "１２３４",
        "12\u{301}34",
        "😀😀😀😀",
        "\u{202e}1234",
        "1",
        "ＡＢ12",
        "1234\u{301}",
        "ß123",
        "İ1234",
    ];
    for number in odd {
        let doc = json!({"type": "passport", "number": number, "issuing_country": "CN"});
        let r = app
            .post(
                "/api/v1/customers",
                &admin,
                json!({"given_name": "A", "family_name": "B", "identity_document": doc}),
            )
            .await;
        r.problem(422);
        assert_eq!(r.fields(), vec!["identity_document.number"], "{number:?}: {}", r.raw);
    }
    assert_eq!(app.count("customers"), 0);
    let doc = json!({"type": "passport", "number": "e1234567", "issuing_country": "CN"});
    let c = app
        .create_customer(
            &admin,
            json!({"given_name": "A", "family_name": "B", "identity_document": doc}),
        )
        .await;
    assert_eq!(c["identity_document"]["number"], "E1234567");
}

/// An enrolled guest with a ticket, and a reward: (guest id, reward id, ticket id).
async fn points_world(app: &TestApp, admin: &str) -> (String, String, String) {
    let prop = app.create_property(admin, "EDGE").await;
    let guest = app
        .create_customer(admin, json!({"given_name": "A", "family_name": "B"}))
        .await;
    let gid = guest["id"].as_str().unwrap().to_string();
    let enrol = format!("/api/v1/customers/{gid}/loyalty/enrolment");
    assert!(app.post(&enrol, admin, json!({})).await.status.is_success());
    let reward = app
        .post(
            "/api/v1/rewards",
            admin,
            json!({"code": "R1", "name": "R", "points_cost": 10}),
        )
        .await;
    let reward = reward.body["id"].as_str().unwrap().to_string();
    let ticket = app
        .post(
            "/api/v1/tickets",
            admin,
            json!({"property_id": prop, "customer_id": gid, "kind": "complaint",
              "category": "noise", "severity": "low", "channel": "phone", "subject": "S", "description": "D"}),
        )
        .await;
    let ticket = ticket.body["id"].as_str().unwrap().to_string();
    (gid, reward, ticket)
}

type BodyOf = fn(Value) -> Value;

/// i64::MIN, i64::MAX, past i64, floats and out-of-range integers for every integer and money
/// field of the points and spend operations: 422 naming the field, nothing written.
#[actix_rt::test]
async fn numbers_at_the_edges_of_i64_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (gid, reward, ticket) = points_world(&app, &admin).await;
    let edges: Vec<Value> = [
        "-9223372036854775808",
        "9223372036854775807",
        "18446744073709551615",
        "1e30",
        "1.5",
        "0",
        "-1",
    ]
    .iter()
    .map(|v| serde_json::from_str(v).unwrap())
    .collect();
    let ops: [(Method, String, &str, BodyOf); 4] = [
        (
            Method::POST,
            format!("/api/v1/customers/{gid}/loyalty/adjustments"),
            "points",
            |v| json!({"points": v, "reason": "r"}),
        ),
        (
            Method::POST,
            "/api/v1/rewards".into(),
            "points_cost",
            |v| json!({"code": "R2", "name": "R", "points_cost": v}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/rewards/{reward}"),
            "points_cost",
            |v| json!({"points_cost": v}),
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{ticket}/compensations"),
            "points",
            |v| json!({"kind": "points", "points": v, "note": "n"}),
        ),
    ];
    for (method, path, field, body) in &ops {
        for v in &edges {
            // −1 is a legal deduction: with no balance it is refused as insufficient (409).
            let expected = if *field == "points" && path.contains("adjustments") && v == &json!(-1) {
                409
            } else {
                422
            };
            let r = app
                .send(
                    method.clone(),
                    path,
                    Auth::Bearer(&admin),
                    Some(body(v.clone())),
                    &[("idempotency-key", &format!("{path}{v}"))],
                )
                .await;
            assert_eq!(r.status.as_u16(), expected, "{method} {path} {v}: {}", r.raw);
            if expected == 422 {
                assert_eq!(r.fields(), vec![field.to_string()], "{path} {v}");
            }
        }
    }
    for table in ["ledger_entries", "ticket_compensations"] {
        assert_eq!(app.count(table), 0, "{table}");
    }
    assert_eq!(app.count("rewards"), 1);
}

/// Money past Decimal's range (its `*` panics), past i64, or with too many decimals, and page
/// limits at the edges of i64: 422, nothing written.
#[actix_rt::test]
async fn amounts_and_limits_at_the_edges_are_422() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "EDGE").await;
    let guest = app
        .create_customer(&admin, json!({"given_name": "A", "family_name": "B"}))
        .await;
    let gid = guest["id"].as_str().unwrap();
    for amount in [
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
        "10000000000000000000",
        "1e30",
        "0.001",
    ] {
        let body = json!({"property_id": prop, "external_id": format!("L{amount}"), "customer_id": gid, "outlet": "spa",
                          "amount": {"amount": amount, "currency": "CNY"}, "spent_on": "2026-05-01"});
        let r = app
            .send(
                Method::POST,
                "/api/v1/spend",
                Auth::Bearer(&admin),
                Some(body),
                &[("idempotency-key", amount)],
            )
            .await;
        r.problem(422);
        assert_eq!(r.fields(), vec!["amount.amount"], "{amount}: {}", r.raw);
    }
    for limit in [
        i64::MIN.to_string(),
        i64::MAX.to_string(),
        "1e30".into(),
        "1.5".into(),
        "-1".into(),
    ] {
        app.get(&format!("/api/v1/customers?limit={limit}"), &admin)
            .await
            .problem(422);
    }
    assert_eq!(app.count("spend_lines"), 0);
}
