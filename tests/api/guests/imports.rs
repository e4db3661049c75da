//! Bulk imports: NDJSON and CSV files upserted by reference or email, a bad line failing alone,
//! progress and errors by line, access, the caller's Idempotency-Key, and an import left by one
//! instance applied by another.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, Resp, TestApp};

pub(super) async fn upload(app: &TestApp, token: &str, content_type: &str, body: &str, key: Option<&str>) -> Resp {
    let mut req = app
        .client
        .request(Method::POST, format!("{}/api/v1/customer-imports", app.base))
        .insert_header(("content-type", content_type))
        .insert_header(("authorization", format!("Bearer {token}")));
    if let Some(k) = key {
        req = req.insert_header(("idempotency-key", k));
    }
    let mut res = req.send_body(body.to_string()).await.expect("request");
    let raw = String::from_utf8_lossy(&res.body().await.expect("body")).into_owned();
    Resp {
        status: res.status(),
        headers: res.headers().clone(),
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
    }
}

/// Polls the import until it completes (at most 30 s).
pub(super) async fn completed(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..300 {
        let r = app.get(&format!("/api/v1/customer-imports/{id}"), token).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.raw);
        if r.body["state"] == "completed" {
            return r.body;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("import {id} did not complete");
}

fn errors(job: &Value) -> Vec<(i64, String)> {
    job["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_i64().unwrap(), e["field"].as_str().unwrap().to_string()))
        .collect()
}

#[actix_rt::test]
async fn an_ndjson_import_upserts_guests_and_fails_bad_lines_alone() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let by_ref = app
        .create_customer(&admin, json!({"given_name": "Ref", "family_name": "Guest", "external_refs": [{"system": "pms", "external_id": "P1"}]}))
        .await;
    let by_email = app
        .create_customer(
            &admin,
            json!({"given_name": "Mail", "family_name": "Guest", "email": "mail@example.com"}),
        )
        .await;
    app.create_customer(
        &admin,
        json!({"given_name": "Phone", "family_name": "Owner", "phone": "+8613800000001"}),
    )
    .await;
    let file = [
        r#"{"given_name":"New","family_name":"Guest","email":"new@example.com","tags":["vip"]}"#,
        r#"{"given_name":"Ref","family_name":"Guest","job_title":"CFO","external_refs":[{"system":"pms","external_id":"P1"}]}"#,
        r#"{"given_name":"Bad","family_name":"Email","email":"not-an-email"}"#,
        "this is not json",
        "",
        r#"{"given_name":"Mass","family_name":"Assign","tier":"platinum"}"#,
        r#"{"given_name":"Mail","family_name":"Guest","email":"MAIL@example.com","company":"Acme"}"#,
        r#"{"given_name":"Dup","family_name":"Phone","phone":"+8613800000001"}"#,
    ]
    .join("\n");
    let r = upload(&app, &admin, "application/x-ndjson", &file, None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.raw);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("location").unwrap(), format!("/api/v1/customer-imports/{id}"));
    assert_eq!(r.body["total"], 7, "blank lines are not guests");
    let job = completed(&app, &admin, &id).await;
    assert_eq!(
        (&job["processed"], &job["created"], &job["updated"], &job["failed"]),
        (&json!(7), &json!(1), &json!(2), &json!(4)),
        "{job}"
    );
    let errs = errors(&job);
    assert_eq!(errs.iter().map(|e| e.0).collect::<Vec<_>>(), vec![3, 4, 6, 8], "{job}");
    assert_eq!(errs[0].1, "email");
    assert_eq!(errs[1].1, "line");
    assert!(job["errors"][2]["message"].as_str().unwrap().contains("tier"), "{job}");
    let r = app
        .get(&format!("/api/v1/customers/{}", by_ref["id"].as_str().unwrap()), &admin)
        .await;
    assert_eq!(r.body["job_title"], "CFO", "matched by its reference");
    let r = app
        .get(
            &format!("/api/v1/customers/{}", by_email["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(r.body["company"], "Acme", "matched by its email");
    let found = app.get("/api/v1/customers?email=new@example.com", &admin).await;
    assert_eq!(found.body["data"][0]["tags"], json!(["vip"]));
    assert_eq!(app.count("customers"), 4, "one guest created, no line half-applied");
    assert_eq!(
        app.count("customer_import_chunks"),
        0,
        "raw lines are deleted once applied"
    );
}

#[actix_rt::test]
async fn a_csv_import_takes_a_header_quoted_cells_lists_and_consents() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let file = "\u{feff}given_name,family_name,email,tags,external_refs,consent.marketing_email,preferences.allergies,address.city\r\n\
                \"Ann\nMarie\",\"O'Neil, Jr\",ann@example.com,vip;business,pms:A1,withdrawn,nuts;shellfish,Lyon\r\n\
                Bo,Li,,,,maybe,,\r\n";
    let r = upload(&app, &admin, "text/csv; charset=utf-8", file, None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.raw);
    let job = completed(&app, &admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!((&job["created"], &job["failed"]), (&json!(1), &json!(1)), "{job}");
    assert_eq!(
        errors(&job),
        vec![(4, "line".to_string())],
        "the row after a two-line cell starts on line 4"
    );
    let g = app.get("/api/v1/customers/external/pms/A1", &admin).await;
    assert_eq!(g.status.as_u16(), 200, "{}", g.raw);
    assert_eq!(g.body["given_name"], "Ann\nMarie");
    assert_eq!(g.body["family_name"], "O'Neil, Jr");
    assert_eq!(g.body["tags"], json!(["business", "vip"]));
    assert_eq!(g.body["preferences"]["allergies"], json!(["nuts", "shellfish"]));
    let consent = g.body["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["purpose"] == "marketing_email")
        .cloned();
    assert_eq!(consent.unwrap()["granted"], false);

    let bad = upload(
        &app,
        &admin,
        "text/csv",
        "given_name,family_name,tier\nA,B,gold\n",
        None,
    )
    .await;
    assert!(bad.problem(422)["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("tier"));
    assert_eq!(upload(&app, &admin, "text/plain", "x", None).await.status.as_u16(), 415);
    assert_eq!(
        upload(&app, &admin, "application/x-ndjson", "\n\n", None)
            .await
            .status
            .as_u16(),
        422
    );
    assert_eq!(app.count("customer_imports"), 1, "refused uploads leave no import");
}

#[actix_rt::test]
async fn imports_need_customers_write_and_belong_to_their_caller() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, agent) = app.staff_token(&admin, "agent", &[]).await;
    let (_, other_agent) = app.staff_token(&admin, "agent", &[]).await;
    let (_, analyst) = app.staff_token(&admin, "analyst", &[]).await;
    let (_, guest) = app.guest("importer@example.com").await;
    let reader_key = app.api_key(&admin, &["customers:read"], &[]).await;
    let line = r#"{"given_name":"A","family_name":"B"}"#;
    for token in [&analyst, &guest, &reader_key] {
        let r = upload(&app, token, "application/x-ndjson", line, None).await;
        r.problem(403);
    }
    let r = upload(&app, &agent, "application/x-ndjson", line, None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.raw);
    let path = format!("/api/v1/customer-imports/{}", r.body["id"].as_str().unwrap());
    completed(&app, &agent, r.body["id"].as_str().unwrap()).await;
    app.get(&path, &other_agent).await.problem(404);
    assert_eq!(
        app.get(&path, &admin).await.status.as_u16(),
        200,
        "admins see every import"
    );
    let grade = r#"{"given_name":"A","family_name":"B","grade_override":{"grade":"vip","reason":"x"}}"#;
    let r = upload(&app, &agent, "application/x-ndjson", grade, None).await;
    let job = completed(&app, &agent, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["failed"], 1, "an agent's import cannot set grades: {job}");
    let anon = app.send(Method::GET, &path, Auth::None, None, &[]).await;
    anon.problem(401);
}

#[actix_rt::test]
async fn a_retried_upload_answers_the_same_import_and_another_file_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let file = "{\"given_name\":\"A\",\"family_name\":\"B\",\"email\":\"a@example.com\"}\n";
    let first = upload(&app, &admin, "application/x-ndjson", file, Some("imp-1")).await;
    assert_eq!(first.status.as_u16(), 202, "{}", first.raw);
    let again = upload(&app, &admin, "application/x-ndjson", file, Some("imp-1")).await;
    assert_eq!(again.status.as_u16(), 202, "{}", again.raw);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    let other = upload(
        &app,
        &admin,
        "application/x-ndjson",
        "{\"given_name\":\"C\",\"family_name\":\"D\"}",
        Some("imp-1"),
    )
    .await;
    assert_eq!(other.problem(422)["errors"][0]["field"], "Idempotency-Key");
    completed(&app, &admin, first.body["id"].as_str().unwrap()).await;
    assert_eq!(app.count("customers"), 1, "applied once");
    assert_eq!(app.count("customer_imports"), 1);
}

#[actix_rt::test]
async fn an_import_one_instance_stored_is_applied_by_another() {
    let a = TestApp::spawn_with(4, |c| c.import_worker = false).await;
    let admin = a.admin_token().await;
    let lines: Vec<String> = (0..1200)
        .map(|i| format!(r#"{{"given_name":"G{i}","family_name":"Bulk","email":"g{i}@example.com"}}"#))
        .collect();
    let r = upload(&a, &admin, "application/x-ndjson", &lines.join("\n"), None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.raw);
    let id = r.body["id"].as_str().unwrap().to_string();
    actix_rt::time::sleep(std::time::Duration::from_millis(500)).await;
    let waiting = a.get(&format!("/api/v1/customer-imports/{id}"), &admin).await;
    assert_eq!(waiting.body["state"], "queued", "no worker here: {}", waiting.raw);
    let per_chunk = concierge::db::dialect::batch_per_write(a.state.backend) as i64;
    assert_eq!(
        a.count("customer_import_chunks"),
        (1200 + per_chunk - 1) / per_chunk,
        "stored in chunks of {per_chunk}"
    );
    let b = a.second_instance().await;
    let job = completed(&b, &admin, &id).await;
    assert_eq!(
        (&job["total"], &job["created"], &job["failed"]),
        (&json!(1200), &json!(1200), &json!(0)),
        "{job}"
    );
    assert_eq!(a.count("customers"), 1200);
}

#[actix_rt::test]
async fn an_import_stops_when_its_importer_can_no_longer_act() {
    let a = TestApp::spawn_with(4, |c| c.import_worker = false).await;
    let admin = a.admin_token().await;
    let (agent_id, agent) = a.staff_token(&admin, "agent", &[]).await;
    let r = upload(
        &a,
        &agent,
        "application/x-ndjson",
        r#"{"given_name":"A","family_name":"B"}"#,
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.raw);
    let id = r.body["id"].as_str().unwrap().to_string();
    a.patch(&format!("/api/v1/staff/{agent_id}"), &admin, json!({"active": false}))
        .await
        .expect(200);
    let b = a.second_instance().await;
    let job = completed_or_stopped(&b, &admin, &id).await;
    assert_eq!(
        (&job["state"], &job["created"]),
        (&json!("stopped"), &json!(0)),
        "{job}"
    );
    assert_eq!(a.count("customers"), 0, "nothing applied for a deactivated importer");
    assert_eq!(a.count("customer_import_chunks"), 0, "its raw lines are deleted");
}

async fn completed_or_stopped(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..300 {
        let r = app.get(&format!("/api/v1/customer-imports/{id}"), token).await;
        if r.body["state"] == "completed" || r.body["state"] == "stopped" {
            return r.body;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("import {id} did not end");
}

#[actix_rt::test]
async fn the_command_line_imports_a_file_with_a_progress_bar() {
    let app = TestApp::spawn_with(4, |c| c.import_worker = false).await;
    let dir = std::env::temp_dir().join(format!("concierge-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("guests.csv");
    std::fs::write(
        &file,
        "given_name,family_name,email\nWei,Zhang,wei@example.com\nBad,Mail,nope\n",
    )
    .unwrap();
    let url = match &app.state.config.database {
        concierge::db::DbTarget::Sqlite(path) => format!("sqlite://{path}"),
        concierge::db::DbTarget::Postgres(url) => url.clone(),
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
        .args(["import", file.to_str().unwrap()])
        .env("DATABASE_URL", url)
        .env("CONCIERGE_JWT_SECRET", "cli-test-secret-cli-test-secret-cli-test")
        .env("CONCIERGE_ENCRYPTION_KEY", "07".repeat(32))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 guests, 1 created, 0 updated, 1 failed"), "{stdout}");
    assert!(stderr.contains("100%"), "a progress bar: {stderr}");
    assert_eq!(app.count("customers"), 1);
    let _ = std::fs::remove_dir_all(dir);
}

/// While an import applies chunk after chunk, the other writers still get their turn (on
/// SQLite the one writer's turn is handed out in arrival order): none is refused as busy.
#[actix_rt::test]
async fn other_writes_get_their_turn_while_an_import_runs() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let file: String = (0..2500)
        .map(|i| format!("{{\"given_name\":\"Bulk\",\"family_name\":\"G{i}\",\"email\":\"bulk{i}@example.com\"}}\n"))
        .collect();
    let r = upload(&app, &admin, "application/x-ndjson", &file, None).await;
    r.expect(202);
    let path = format!("/api/v1/customer-imports/{}", r.body["id"].as_str().unwrap());
    let (mut refused, mut rounds, mut during) = (Vec::new(), 0, 0);
    loop {
        let state = app.get(&path, &admin).await.body["state"].clone();
        let writes = futures_util::future::join_all((0..4).map(|k| {
            let body = json!({"given_name": "Desk", "family_name": format!("W{rounds}-{k}")});
            app.post("/api/v1/customers", &admin, body)
        }))
        .await;
        refused.extend(
            writes
                .iter()
                .filter(|w| w.status.as_u16() != 201)
                .map(|w| w.raw.clone()),
        );
        rounds += 1;
        if state == "completed" {
            break;
        }
        during += 1;
        assert!(rounds < 2000, "the import did not complete");
    }
    assert!(refused.is_empty(), "writes refused during the import: {refused:?}");
    assert!(during >= 2, "the writes ran while the import did ({during} rounds)");
}

#[actix_rt::test]
async fn a_caller_has_at_most_three_imports_open_even_when_uploading_at_once() {
    let a = TestApp::spawn_with(4, |c| c.import_worker = false).await;
    let admin = a.admin_token().await;
    let files: Vec<String> = (0..6)
        .map(|i| format!(r#"{{"given_name":"G{i}","family_name":"Open"}}"#))
        .collect();
    let answers = futures_util::future::join_all(
        files
            .iter()
            .map(|f| upload(&a, &admin, "application/x-ndjson", f, None)),
    )
    .await;
    let accepted = answers.iter().filter(|r| r.status.as_u16() == 202).count();
    assert_eq!(accepted, 3, "{:?}", answers.iter().map(|r| &r.raw).collect::<Vec<_>>());
    for r in answers.iter().filter(|r| r.status.as_u16() != 202) {
        let p = r.problem(409);
        assert!(p["detail"].as_str().unwrap().contains("3 imports"), "{p}");
    }
    // Another caller has their own three.
    let (_, manager) = a.staff_token(&admin, "manager", &[]).await;
    let r = upload(&a, &manager, "application/x-ndjson", &files[0], None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.raw);
}

#[actix_rt::test]
async fn an_unreadable_stored_chunk_stops_the_import_at_its_line_instead_of_retrying_for_ever() {
    use concierge::db::schema::customer_import_chunks as ch;
    use diesel::prelude::*;
    let a = TestApp::spawn_with(4, |c| c.import_worker = false).await;
    let admin = a.admin_token().await;
    let lines: Vec<String> = (0..1200)
        .map(|i| format!(r#"{{"given_name":"G{i}","family_name":"Bulk","email":"g{i}@example.com"}}"#))
        .collect();
    let r = upload(&a, &admin, "application/x-ndjson", &lines.join("\n"), None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.raw);
    let id = r.body["id"].as_str().unwrap().to_string();
    let (seq, first_line): (i64, i64) = {
        let mut conn = a.conn();
        let chunks: Vec<(i64, i64)> = ch::table
            .filter(ch::import_id.eq(&id))
            .order(ch::seq)
            .select((ch::seq, ch::first_line))
            .load(&mut **conn)
            .unwrap();
        assert!(chunks.len() >= 3);
        diesel::update(ch::table.find((&id, chunks[1].0)))
            .set(ch::records.eq("not the stored records"))
            .execute(&mut **conn)
            .unwrap();
        chunks[1]
    };
    let b = a.second_instance().await;
    let job = completed_or_stopped(&b, &admin, &id).await;
    assert_eq!(
        (&job["state"], &job["created"]),
        (&json!("stopped"), &json!(first_line - 1)),
        "the chunks before it applied, none after: {job}"
    );
    assert_eq!(errors(&job), vec![(first_line, "line".to_string())], "{job}");
    assert_eq!(
        a.count("customer_import_chunks"),
        0,
        "nothing left to retry (chunk {seq})"
    );
}
