//! The feed never skips an event a slower transaction commits later, and never repeats one:
//! a deterministic slow-transaction case (PostgreSQL, where writers are concurrent) and 16
//! concurrent writers with a consumer polling all along (both databases).

use concierge::auth::Principal;
use concierge::db::outbox::{emit_in_tx, NewEvent};
use concierge::db::DbConnection;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;

use super::feed::{drain, drain_now};
use crate::support::TestApp;

fn emit(conn: &mut DbConnection, aggregate: &str) {
    let ev = NewEvent::new("webhook_endpoint.updated", "webhook_endpoint", aggregate)
        .data(json!({"webhook_endpoint_id": aggregate, "fields": []}));
    emit_in_tx(conn, &Principal::system("test"), ev).unwrap();
}

fn stored_ids(app: &TestApp) -> Vec<String> {
    use concierge::db::schema::events as e;
    let mut conn = app.conn();
    let c: &mut DbConnection = &mut conn;
    e::table.select(e::id).load(c).unwrap()
}

/// Follows the feed until `n` events came (other databases' transactions on a shared
/// PostgreSQL cluster may hold the horizon back for a moment), for at most 20 s.
async fn drain_until(app: &TestApp, token: &str, cursor: &str, n: usize) -> (Vec<serde_json::Value>, String) {
    let (mut got, mut cursor) = (Vec::new(), cursor.to_string());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while got.len() < n && std::time::Instant::now() < deadline {
        let (page, next) = drain_now(app, token, "", &cursor).await;
        got.extend(page);
        cursor = next;
        actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (page, next) = drain(app, token, "", &cursor).await;
    got.extend(page);
    (got, next)
}

#[actix_rt::test]
async fn an_event_committed_late_by_a_slow_transaction_is_not_skipped() {
    let app = TestApp::spawn_with(6, |_| {}).await;
    if !matches!(app.state.config.database, concierge::db::DbTarget::Postgres(_)) {
        return; // SQLite has one writer: a later transaction cannot commit first.
    }
    let admin = app.admin_token().await;
    let (_, start) = drain(&app, &admin, "", "").await;
    let mut slow = app.conn();
    slow.batch_execute("BEGIN").unwrap();
    emit(&mut slow, "slow");
    {
        let mut fast = app.conn();
        fast.transaction(|c| {
            emit(c, "fast");
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    }
    let (seen, cursor) = drain_now(&app, &admin, "", &start).await;
    assert!(
        seen.is_empty(),
        "nothing is served past a transaction in flight: {seen:?}"
    );
    slow.batch_execute("COMMIT").unwrap();
    let (seen, _) = drain_until(&app, &admin, &cursor, 2).await;
    let order: Vec<&str> = seen.iter().map(|e| e["aggregate"]["id"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        ["slow", "fast"],
        "both, in the order their transactions began writing"
    );
}

#[actix_rt::test]
async fn sixteen_writers_and_a_polling_reader_agree_on_every_event() {
    let app = TestApp::spawn_with(12, |c| c.rate_limit_per_minute = 100_000).await;
    let admin = app.admin_token().await;
    let (_, start) = drain(&app, &admin, "", "").await;
    let before = stored_ids(&app).len();
    let writers = futures_util::future::join_all((0..16).map(|w| {
        let (app, admin) = (&app, &admin);
        async move {
            for i in 0..8 {
                let body = json!({"given_name": format!("W{w}"), "family_name": format!("N{i}")});
                app.post("/api/v1/customers", admin, body).await.expect(201);
            }
        }
    }));
    let done = std::cell::Cell::new(false);
    let reader = async {
        let (mut got, mut cursor) = (Vec::new(), start.clone());
        while !done.get() {
            let (page, next) = drain_now(&app, &admin, "limit=7", &cursor).await;
            got.extend(page);
            cursor = next;
            actix_rt::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let expected = stored_ids(&app).len() - before;
        let (rest, _) = drain_until(&app, &admin, &cursor, expected.saturating_sub(got.len())).await;
        got.extend(rest);
        got
    };
    let writing = async {
        writers.await;
        done.set(true);
    };
    let (_, got) = futures_util::future::join(writing, reader).await;
    let got: Vec<String> = got.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    let unique: std::collections::HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "no event served twice");
    let all = stored_ids(&app);
    assert_eq!(all.len() - before, got.len(), "every committed event served once");
    assert!(got.len() >= 16 * 8);
    assert!(got.iter().all(|id| all.contains(id)));
}
