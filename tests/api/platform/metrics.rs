//! `GET /metrics`: Prometheus text with requests per route template and status, pools, jobs and
//! audit commit batches; open to an admin or to a credential-less scraper on this host, never
//! to other roles, keys or forwarded callers.

use awc::http::Method;
use serde_json::json;

use crate::support::{Auth, TestApp};

/// The value of the sample whose line starts with `prefix` (name and labels).
fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[actix_rt::test]
async fn a_local_scrape_sees_routes_by_template_pools_and_audit_batches() {
    let app = TestApp::spawn_with(8, |_| {}).await;
    let admin = app.admin_token().await;
    let c = app
        .create_customer(&admin, json!({"given_name": "Ada", "family_name": "Lo"}))
        .await;
    let path = format!("/api/v1/customers/{}", c["id"].as_str().unwrap());
    let reads = (0..32).map(|_| app.get(&path, &admin));
    for r in futures_util::future::join_all(reads).await {
        assert_eq!(r.status.as_u16(), 200);
    }
    app.get("/no/such/route/4711", &admin).await;
    let m = app.send(Method::GET, "/metrics", Auth::None, None, &[]).await;
    assert_eq!(m.status.as_u16(), 200, "{}", m.raw);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let t = &m.raw;
    let reads = value(
        t,
        "concierge_http_requests_total{route=\"/api/v1/customers/{id}\",method=\"GET\",status=\"200\"}",
    );
    assert_eq!(reads, Some(32.0), "counted under the route template:\n{t}");
    assert!(
        t.contains("concierge_http_request_duration_seconds_bucket{route=\"/api/v1/customers/{id}\",method=\"GET\",status=\"200\",le=\"+Inf\"} 32"),
        "{t}"
    );
    assert!(!t.contains("4711"), "unmatched paths are not labels");
    assert!(t.contains("route=\"unmatched\""), "{t}");
    assert!(
        value(t, "concierge_db_pool_max_connections{pool=\"main\"}") == Some(8.0),
        "{t}"
    );
    assert!(
        t.contains("concierge_db_pool_connections{pool=\"main\",state=\"idle\"}"),
        "{t}"
    );
    assert!(t.contains("concierge_job_runs_total"), "{t}");
    let rows = value(t, "concierge_audit_commit_batch_size_sum").unwrap();
    let batches = value(t, "concierge_audit_commit_batch_size_count").unwrap();
    assert_eq!(rows, 32.0, "one audit row per unmasked read: {t}");
    assert!(
        batches >= 1.0 && batches < rows,
        "concurrent reads share commits: {batches} batches for {rows} rows"
    );
}

#[actix_rt::test]
async fn metrics_refuse_other_roles_keys_and_forwarded_callers() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, agent) = app.staff_token(&admin, "agent", &[]).await;
    let (_, manager) = app.staff_token(&admin, "manager", &[]).await;
    let key = app.api_key(&admin, &["customers:read"], &[]).await;
    let get = |auth: Auth<'static>, headers: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move { app.send(Method::GET, "/metrics", auth, None, &headers).await }
    };
    let forwarded = get(Auth::None, vec![("x-forwarded-for", "203.0.113.9")]).await;
    forwarded.problem(401);
    let proxied = get(Auth::None, vec![("forwarded", "for=203.0.113.9")]).await;
    proxied.problem(401);
    for token in [agent, manager] {
        let t: &'static str = Box::leak(token.into_boxed_str());
        get(Auth::Bearer(t), vec![]).await.problem(403);
    }
    let k: &'static str = Box::leak(key.into_boxed_str());
    get(Auth::ApiKeyHeader(k), vec![]).await.problem(403);
    let a: &'static str = Box::leak(admin.into_boxed_str());
    let ok = get(Auth::Bearer(a), vec![("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(ok.status.as_u16(), 200, "an admin from anywhere: {}", ok.raw);
}
