//! Faults a single process can stage: bodies cut short or stalled, answers lost between the
//! commit and the stored answer, keys left by a killed process, a held row lock, connections
//! the database dropped. (`.ci/faults.py` stages the rest on a private PostgreSQL: a stopped and
//! a crashed database, a killed server, two instances.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use awc::http::Method;
use concierge::db::schema::idempotency_keys as k;
use concierge::db::{self, Backend};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;

use crate::support::{Auth, TestApp};

/// Sends `head` and `body` on a fresh connection, optionally half-closes, and reads the answer.
fn raw(app: &TestApp, head: &str, body: &[u8], close: bool) -> String {
    let addr = app.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    if close {
        s.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.windows(4).any(|w| w == b"\r\n\r\n") && out.ends_with(b"}") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn keyed(app: &TestApp, token: &str, path: &str, body: &serde_json::Value, key: &str) -> crate::support::Resp {
    app.send(
        Method::POST,
        path,
        Auth::Bearer(token),
        Some(body.clone()),
        &[("idempotency-key", key)],
    )
    .await
}

fn post_head(token: &str, key: &str, length: usize) -> String {
    format!(
        "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[actix_rt::test]
async fn a_cut_body_answers_400_and_leaves_its_key_free() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let body = json!({"given_name": "Cut", "family_name": "Short"}).to_string();
    let answer = raw(
        &app,
        &post_head(&admin, "cut-1", body.len() + 40),
        body.as_bytes(),
        true,
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("ended before its announced length"), "{answer}");
    assert_eq!(app.count("idempotency_keys"), 0, "no key claimed");
    // The retry with the same key runs.
    let r = app
        .send(
            Method::POST,
            "/api/v1/customers",
            Auth::Bearer(&admin),
            Some(serde_json::from_str(&body).unwrap()),
            &[("idempotency-key", "cut-1")],
        )
        .await;
    r.expect(201);
    assert_eq!(r.header("idempotent-replayed").as_deref(), Some("false"));
}

#[actix_rt::test]
async fn a_stalled_body_answers_408_at_the_deadline() {
    let app = TestApp::spawn_with(4, |c| c.body_timeout_secs = 1).await;
    let admin = app.admin_token().await;
    let started = Instant::now();
    let answer = raw(&app, &post_head(&admin, "stall-1", 500), b"{\"given_name\":", false);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered at the deadline");
    assert_eq!(app.count("idempotency_keys"), 0);
}

#[actix_rt::test]
async fn a_declared_oversized_body_is_refused_before_it_is_read() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let answer = raw(&app, &post_head(&admin, "big-1", 50 * 1024 * 1024), b"", false);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("256 KiB"), "{answer}");
}

/// Stages "the business transaction committed, then the process died before the answer was
/// stored": the key's answer is erased and its lease lapsed.
fn lose_the_answer(app: &TestApp, key: &str) {
    diesel::update(k::table.filter(k::idem_key.eq(key)))
        .set((
            k::status.eq(None::<i32>),
            k::response_body.eq(None::<String>),
            k::response_headers.eq(None::<String>),
            k::locked_until.eq(chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1)),
        ))
        .execute(&mut **app.conn())
        .unwrap();
}

#[actix_rt::test]
async fn a_retry_after_a_lost_answer_is_refused_never_applied_twice() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let body = json!({"given_name": "Once", "family_name": "Only"});
    let send = || {
        app.send(
            Method::POST,
            "/api/v1/customers",
            Auth::Bearer(&admin),
            Some(body.clone()),
            &[("idempotency-key", "lost-1")],
        )
    };
    send().await.expect(201);
    lose_the_answer(&app, "lost-1");
    let r = send().await;
    assert!(
        r.problem(409)["detail"].as_str().unwrap().contains("already applied"),
        "{}",
        r.raw
    );
    assert_eq!(app.count("customers"), 1, "not created twice");
    // From now on that is the key's answer.
    let again = send().await;
    again.problem(409);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(app.count("customers"), 1);
}

#[actix_rt::test]
async fn keys_of_a_killed_run_are_freed_at_restart_unless_applied() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let owner = app.state.config.instance_id.clone();
    let body = json!({"given_name": "Kill", "family_name": "Nine"});
    let send = |key: &'static str| keyed(&app, &admin, "/api/v1/customers", &body, key);
    // One request applied but unanswered, one claimed and never applied; both leases running.
    send("applied").await.expect(201);
    lose_the_answer(&app, "applied");
    send("cut").await.expect(201);
    lose_the_answer(&app, "cut");
    let later = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(60);
    diesel::update(k::table)
        .set(k::locked_until.eq(later))
        .execute(&mut **app.conn())
        .unwrap();
    diesel::update(k::table.filter(k::idem_key.eq("cut")))
        .set(k::committed_attempt.eq(None::<String>))
        .execute(&mut **app.conn())
        .unwrap();
    send("cut").await.problem(409); // still leased: "still being processed"
    let (freed, applied) = concierge::server::idempotency::release_abandoned(&mut app.conn(), &owner).unwrap();
    assert_eq!((freed, applied), (1, 1));
    let before = app.count("customers");
    send("cut").await.expect(201);
    assert_eq!(app.count("customers"), before + 1, "the never-applied request runs");
    let r = send("applied").await;
    assert!(r.problem(409)["detail"].as_str().unwrap().contains("already applied"));
    assert_eq!(app.count("customers"), before + 1);
}

#[actix_rt::test]
async fn the_applied_marker_lets_one_attempt_commit() {
    use concierge::server::idempotency::{with_request_key, RequestKey};
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().naive_utc();
    diesel::insert_into(k::table)
        .values((
            k::caller.eq("staff:x"),
            k::idem_key.eq("race"),
            k::method.eq("POST"),
            k::path.eq("/x"),
            k::request_hash.eq("h"),
            k::locked_until.eq(now),
            k::created_at.eq(now),
        ))
        .execute(&mut **app.conn())
        .unwrap();
    let attempt = |a: &str| RequestKey {
        caller: "staff:x".into(),
        key: "race".into(),
        attempt: a.into(),
        inline: None,
    };
    let mut conn = app.conn();
    let run =
        |conn: &mut db::DbConnection, a: &str| with_request_key(Some(attempt(a)), || db::write_tx(conn, |_| Ok(())));
    assert!(run(&mut conn, "first").is_ok());
    assert!(run(&mut conn, "first").is_ok(), "the same attempt may write again");
    let second = run(&mut conn, "second").unwrap_err();
    assert_eq!(actix_web::ResponseError::status_code(&second).as_u16(), 409);
    // A key whose record is gone (released by a stale attempt) cannot be guarded: refused.
    let gone = RequestKey {
        caller: "staff:x".into(),
        key: "gone".into(),
        attempt: "a".into(),
        inline: None,
    };
    let refused = with_request_key(Some(gone), || db::write_tx(&mut conn, |_| Ok(()))).unwrap_err();
    assert_eq!(actix_web::ResponseError::status_code(&refused).as_u16(), 503);
    // Outside a keyed request nothing is checked.
    assert!(db::write_tx(&mut conn, |_| Ok(())).is_ok());
}

/// PostgreSQL only: the test's own session holds a guest's account row.
#[actix_rt::test]
async fn a_held_row_lock_fails_its_own_request_fast_and_nothing_else() {
    let app = TestApp::spawn_with(4, |c| c.db_limits.lock_timeout_ms = 500).await;
    if app.state.backend != Backend::Postgres {
        return;
    }
    let admin = app.admin_token().await;
    let guest = app
        .create_customer(&admin, json!({"given_name": "Hot", "family_name": "Row"}))
        .await;
    let id = guest["id"].as_str().unwrap().to_string();
    let (path, body) = (
        format!("/api/v1/customers/{id}/loyalty/adjustments"),
        json!({"points": 100, "reason": "goodwill"}),
    );
    let adjust = |key: &'static str| keyed(&app, &admin, &path, &body, key);
    adjust("warm").await.expect(201);
    let mut holder = db::establish(&app.state.config.database).unwrap();
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM loyalty_accounts WHERE customer_id = '{id}' FOR UPDATE;"
        ))
        .unwrap();
    let started = Instant::now();
    let r = adjust("blocked").await;
    r.problem(503);
    assert!(r.header("retry-after").is_some());
    assert!(started.elapsed() < Duration::from_secs(3), "failed at the lock timeout");
    app.get("/health/ready", &admin).await.expect(200);
    app.get("/api/v1/customers", &admin).await.expect(200);
    holder.batch_execute("ROLLBACK").unwrap();
    adjust("blocked").await.expect(201);
    adjust("blocked").await.expect(201);
    let me = app.get(&format!("/api/v1/customers/{id}/loyalty"), &admin).await;
    assert_eq!(me.body["balance"], 200, "{}", me.raw);
}

/// PostgreSQL only: the database ends every session of the app (as in a restart); the pool
/// replaces them without a restart of the app, answering 503 at most once meanwhile.
#[actix_rt::test]
async fn connections_the_database_dropped_are_replaced() {
    let app = TestApp::spawn_with(2, |_| {}).await;
    if app.state.backend != Backend::Postgres {
        return;
    }
    let admin = app.admin_token().await;
    app.get("/health/ready", &admin).await.expect(200);
    let pid = |c: &mut db::DbConnection| -> i32 {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("pg_backend_pid()"))
            .get_result(c)
            .unwrap()
    };
    let mut pids = Vec::new();
    {
        let (mut a, mut b) = (app.state.pool.get().unwrap(), app.state.pool.get().unwrap());
        pids.extend([pid(&mut a), pid(&mut b)]);
        let mut r = app.state.bookkeeping.get().unwrap();
        pids.push(pid(&mut r));
    }
    let mut killer = db::establish(&app.state.config.database).unwrap();
    let list = pids.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",");
    killer
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ({list})"
        ))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get("/api/v1/customers", &admin).await.status.as_u16());
    }
    assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "{statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 503).count() <= 1, "{statuses:?}");
    assert_eq!(*statuses.last().unwrap(), 200, "{statuses:?}");
    let mut ready = Vec::new();
    for _ in 0..3 {
        ready.push(app.get("/health/ready", &admin).await.status.as_u16());
    }
    assert_eq!(*ready.last().unwrap(), 200, "{ready:?}");
}
