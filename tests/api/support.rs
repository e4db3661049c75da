//! Test harness: the real app on a real socket, over a fresh database per test — a temp SQLite
//! file by default, a fresh PostgreSQL schema when `TEST_DATABASE_URL=postgres://…` is set.

use std::net::TcpListener;

use actix_web::HttpServer;
use awc::http::{header, Method, StatusCode};
use concierge::db::{self, DbConnection, DbTarget};
use concierge::server::config::Config;
use concierge::{build_app, AppState};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@test.local";
/// Passes the staff password policy (≥ 12 characters, not common, without the email's name part).
pub const ADMIN_PASSWORD: &str = "bootstrap-secret-17";
/// The JWT secret of `Config::for_database` (tests forge tokens with it).
pub const JWT_SECRET: &[u8] = b"test-secret-test-secret-test-secret!!";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub client: awc::Client,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(std::path::PathBuf),
    Pg {
        base_url: String,
        schema: String,
    },
    /// A second instance on another app's database: that app cleans up.
    Shared,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Pg { base_url, schema } => {
                if let Ok(mut c) = diesel::PgConnection::establish(base_url) {
                    let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            }
            Cleanup::Shared => {}
        }
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.raw);
        self
    }
    /// Asserts a problem+json answer with this status; returns the body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        self.expect(status);
        assert!(
            self.content_type().starts_with("application/problem+json"),
            "not problem+json: {}",
            self.content_type()
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].is_string() && self.body["title"].is_string());
        &self.body
    }
    /// Field names of a 422.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    ApiKeyHeader(&'a str),
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(4, |_| {}).await
    }

    /// A test app with a pool of `pool_size` connections and configuration changes.
    pub async fn spawn_with(pool_size: u32, configure: impl FnOnce(&mut Config)) -> TestApp {
        let _ = env_logger::builder().is_test(true).try_init();
        let (target, cleanup) = match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(base_url) if base_url.starts_with("postgres") => {
                let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
                let mut c = diesel::PgConnection::establish(&base_url).expect("TEST_DATABASE_URL unreachable");
                // The extension is database-wide: create it once, serialised across test processes.
                // Three separate statements: one multi-statement query is one transaction, and
                // the unlock would then come before the commit.
                c.batch_execute("SELECT pg_advisory_lock(771177)").expect("lock");
                let created = c.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public");
                c.batch_execute("SELECT pg_advisory_unlock(771177)").expect("unlock");
                created.expect("create pg_trgm");
                c.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if base_url.contains('?') { '&' } else { '?' };
                let url = format!("{base_url}{sep}options=-c%20search_path%3D{schema}%2Cpublic");
                (DbTarget::Postgres(url), Cleanup::Pg { base_url, schema })
            }
            Some(other) => panic!("TEST_DATABASE_URL must be postgres://…, got {other}"),
            None => {
                let dir = std::env::temp_dir().join(format!("concierge-test-{}", uuid::Uuid::now_v7().simple()));
                std::fs::create_dir_all(&dir).unwrap();
                let file = dir.join("test.db");
                (
                    DbTarget::Sqlite(file.to_string_lossy().into_owned()),
                    Cleanup::Sqlite(dir),
                )
            }
        };
        db::run_migrations(&target).expect("migrations");
        let mut config = Config::for_database(target.clone());
        configure(&mut config);
        let pool = db::build_pool(&target, Some(pool_size), config.db_limits).expect("pool");
        let state = AppState::new(config, pool);
        {
            let mut conn = state.pool.get().unwrap();
            concierge::features::sessions::ensure_bootstrap_admin(&mut conn, Some(ADMIN_EMAIL), Some(ADMIN_PASSWORD))
                .expect("bootstrap admin");
        }
        Self::serve(state, cleanup)
    }

    /// Another instance of the app on this one's database (same secrets, its own pool, caches
    /// and rate limits), as a second server process of a deployment would be.
    pub async fn second_instance(&self) -> TestApp {
        let config = Config::for_database(self.state.config.database.clone());
        let pool = db::build_pool(&config.database, Some(4), config.db_limits).expect("pool");
        Self::serve(AppState::new(config, pool), Cleanup::Shared)
    }

    fn serve(state: AppState, cleanup: Cleanup) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let s = state.clone();
        let server = HttpServer::new(move || build_app(s.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
        actix_rt::spawn(server);
        concierge::app::jobs::start_workers(&state);
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            state,
            client: awc::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .finish(),
            cleanup,
        }
    }

    pub fn conn(&self) -> r2d2::PooledConnection<db::ConnectionManager> {
        self.state.pool.get().unwrap()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => req = req.insert_header((header::AUTHORIZATION, format!("Bearer {t}"))),
            Auth::ApiKeyHeader(k) => req = req.insert_header(("x-api-key", k.to_string())),
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_json(&b).await.expect("request failed"),
            None => req.send().await.expect("request failed"),
        };
        let bytes = res.body().limit(10 * 1024 * 1024).await.expect("body");
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        Resp {
            status: res.status(),
            headers: res.headers().clone(),
            body: serde_json::from_str(&raw).unwrap_or(Value::Null),
            raw,
        }
    }

    /// Sends a raw body with the given content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .insert_header(("content-type", content_type));
        if let Some(t) = token {
            req = req.insert_header((header::AUTHORIZATION, format!("Bearer {t}")));
        }
        let mut res = req.send_body(body).await.expect("request failed");
        let bytes = res.body().await.expect("body");
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        Resp {
            status: res.status(),
            headers: res.headers().clone(),
            body: serde_json::from_str(&raw).unwrap_or(Value::Null),
            raw,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(Method::GET, path, Auth::Bearer(token), None, &[]).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Auth::Bearer(token), Some(body), &[])
            .await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Auth::Bearer(token), Some(body), &[])
            .await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Auth::Bearer(token), Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.send(Method::DELETE, path, Auth::Bearer(token), None, &[]).await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .send(
                Method::POST,
                "/api/v1/auth/login",
                Auth::None,
                Some(json!({"email": email, "password": password})),
                &[],
            )
            .await;
        r.expect(200);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    pub async fn create_property(&self, admin: &str, code: &str) -> String {
        let r = self
            .post(
                "/api/v1/properties",
                admin,
                json!({"code": code, "name": format!("Hotel {code}"), "timezone": "Asia/Shanghai", "currency": "CNY"}),
            )
            .await;
        r.expect(201);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// Creates a staff user of `role` scoped to `property_ids` and logs them in.
    pub async fn staff_token(&self, admin: &str, role: &str, property_ids: &[&str]) -> (String, String) {
        let email = format!("{role}-{}@test.local", uuid::Uuid::now_v7().simple());
        let r = self
            .post(
                "/api/v1/staff",
                admin,
                json!({"email": email, "display_name": format!("Test {role}"), "role": role, "property_ids": property_ids, "password": "staff-password-1"}),
            )
            .await;
        r.expect(201);
        let id = r.body["id"].as_str().unwrap().to_string();
        (id, self.login(&email, "staff-password-1").await)
    }

    pub async fn api_key(&self, admin: &str, scopes: &[&str], property_ids: &[&str]) -> String {
        let r = self
            .post(
                "/api/v1/api-keys",
                admin,
                json!({"name": "test integration", "scopes": scopes, "property_ids": property_ids}),
            )
            .await;
        r.expect(201);
        r.body["key"].as_str().unwrap().to_string()
    }

    /// Registers a guest in the app; returns (customer id, access token).
    pub async fn guest(&self, email: &str) -> (String, String) {
        let r = self
            .send(
                Method::POST,
                "/api/v1/auth/customer/register",
                Auth::None,
                Some(json!({"email": email, "password": "guest-password-1", "given_name": "Guest", "family_name": "Tester"})),
                &[],
            )
            .await;
        r.expect(201);
        let token = r.body["access_token"].as_str().unwrap().to_string();
        let me = self.get("/api/v1/me", &token).await;
        me.expect(200);
        (me.body["id"].as_str().unwrap().to_string(), token)
    }

    pub async fn create_customer(&self, token: &str, body: Value) -> Value {
        let r = self.post("/api/v1/customers", token, body).await;
        r.expect(201);
        r.body.clone()
    }

    /// Inserts a stay directly (stay ingestion belongs to the loyalty API).
    pub fn insert_stay(&self, customer_id: &str, property_id: &str, confirmation: &str) {
        use concierge::db::schema::stays;
        use diesel::prelude::*;
        let mut conn = self.conn();
        let d = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let ts = chrono::Utc::now().naive_utc();
        diesel::insert_into(stays::table)
            .values((
                stays::id.eq(uuid::Uuid::now_v7().to_string()),
                stays::customer_id.eq(customer_id),
                stays::property_id.eq(property_id),
                stays::confirmation_number.eq(confirmation),
                stays::check_in.eq(d),
                stays::check_out.eq(d + chrono::Duration::days(2)),
                stays::status.eq("checked_out"),
                stays::created_at.eq(ts),
                stays::updated_at.eq(ts),
            ))
            .execute(&mut **conn)
            .unwrap();
    }

    pub fn count(&self, table: &str) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn();
        let c: &mut DbConnection = &mut conn;
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(c)
            .unwrap()
            .n
    }

    /// The outbox's events, oldest first: `(type, aggregate_type, aggregate_id, sequence, data)`.
    pub fn events(&self) -> Vec<Event> {
        use concierge::db::schema::events as e;
        use diesel::prelude::*;
        let mut conn = self.conn();
        let c: &mut DbConnection = &mut conn;
        let rows: Vec<(String, String, String, i64, Option<String>, String)> = e::table
            .order((e::occurred_at, e::id))
            .select((
                e::kind,
                e::aggregate_type,
                e::aggregate_id,
                e::sequence,
                e::property_id,
                e::data,
            ))
            .load(c)
            .unwrap();
        rows.into_iter()
            .map(
                |(kind, aggregate_type, aggregate_id, sequence, property_id, data)| Event {
                    kind,
                    aggregate_type,
                    aggregate_id,
                    sequence,
                    property_id,
                    data: serde_json::from_str(&data).unwrap(),
                },
            )
            .collect()
    }

    /// The events of one type, oldest first.
    pub fn events_of(&self, kind: &str) -> Vec<Event> {
        self.events().into_iter().filter(|e| e.kind == kind).collect()
    }
}

/// One outbox row as a test reads it.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub property_id: Option<String>,
    pub data: Value,
}
