//! The one fixture: an app with its bootstrap admin and two properties (A: Shanghai, CNY; B:
//! Paris, EUR), and every kind of caller by name. A caller is made on first use (staff and
//! guests cost an Argon2 hash and a login each), so a test pays only for the callers it names,
//! and makes them where it names them: a test that counts rows or events after its setup names
//! its callers before it counts.
//!
//! | who | what |
//! | --- | --- |
//! | `admin` | the bootstrap admin (all properties) |
//! | `manager`, `agent`, `analyst`, `admin_a` | staff of that role, scoped to A |
//! | `manager_all`, `agent_all`, `analyst_all` | staff of that role, unscoped (all properties) |
//! | `manager_b`, `agent_b` | staff of that role, scoped to B |
//! | `guest`, `guest2` | app-registered guests (`g1@example.com`, `g2@example.com`) |
//! | `key_read`, `key_write`, `key_loyalty` | API keys: `customers:read`, `customers:write`, `loyalty:read` |
//! | `key_read_a` | `customers:read`, restricted to A |
//! | `key_tickets_a`, `key_surveys_a` | `tickets:write` / `surveys:write`, restricted to A |
//! | `key_all_a` | every scope, restricted to A |
//! | `pms` | a PMS: `stays:write`, `customers:write`, `loyalty:read` |
//! | `pms_a` | a PMS restricted to A: `stays:write`, `customers:write` |
//! | `none` | no credentials |

use std::cell::RefCell;
use std::collections::HashMap;

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, Resp, TestApp, ADMIN_EMAIL};

/// Every API-key scope.
pub const ALL_SCOPES: &[&str] = &[
    "customers:read",
    "customers:write",
    "stays:write",
    "loyalty:read",
    "loyalty:write",
    "tickets:read",
    "tickets:write",
    "surveys:write",
    "events:read",
    "webhooks:manage",
];

/// Where a staff user or an API key may act.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scope {
    All,
    A,
    B,
}

/// What a caller is, as the fixture makes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Admin,
    Staff(&'static str, Scope),
    Guest(&'static str),
    Key(&'static [&'static str], Scope),
    Anonymous,
}

/// The recipe of each named caller.
pub fn kind(who: &str) -> Kind {
    use Scope::*;
    match who {
        "admin" => Kind::Admin,
        "manager" => Kind::Staff("manager", A),
        "agent" => Kind::Staff("agent", A),
        "analyst" => Kind::Staff("analyst", A),
        "admin_a" => Kind::Staff("admin", A),
        "manager_all" => Kind::Staff("manager", All),
        "agent_all" => Kind::Staff("agent", All),
        "analyst_all" => Kind::Staff("analyst", All),
        "manager_b" => Kind::Staff("manager", B),
        "agent_b" => Kind::Staff("agent", B),
        "guest" => Kind::Guest("g1@example.com"),
        "guest2" => Kind::Guest("g2@example.com"),
        "key_read" => Kind::Key(&["customers:read"], All),
        "key_write" => Kind::Key(&["customers:write"], All),
        "key_loyalty" => Kind::Key(&["loyalty:read"], All),
        "key_read_a" => Kind::Key(&["customers:read"], A),
        "key_tickets_a" => Kind::Key(&["tickets:write"], A),
        "key_surveys_a" => Kind::Key(&["surveys:write"], A),
        "key_all_a" => Kind::Key(ALL_SCOPES, A),
        "pms" => Kind::Key(&["stays:write", "customers:write", "loyalty:read"], All),
        "pms_a" => Kind::Key(&["stays:write", "customers:write"], A),
        "none" => Kind::Anonymous,
        other => panic!("unknown caller {other}"),
    }
}

/// A caller once made: its id (staff user, customer or API key) and credential.
#[derive(Clone, Debug)]
pub struct Made {
    pub id: String,
    pub cred: String,
}

pub struct World {
    pub app: TestApp,
    /// The bootstrap admin's access token.
    pub admin: String,
    /// Property A (code `SHA`, Asia/Shanghai, CNY).
    pub a: String,
    /// Property B (code `PAR`, Europe/Paris, EUR).
    pub b: String,
    /// `None` while a caller is being made (a concurrent first use waits for it).
    made: RefCell<HashMap<String, Option<Made>>>,
}

/// One row of an access table: who calls, how, and the status they must get.
pub struct Row {
    pub who: &'static str,
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub status: u16,
}

pub fn row(who: &'static str, method: Method, path: &str, body: Option<Value>, status: u16) -> Row {
    Row {
        who,
        method,
        path: path.to_string(),
        body,
        status,
    }
}

impl World {
    pub async fn new() -> World {
        Self::on(TestApp::spawn().await).await
    }

    async fn on(app: TestApp) -> World {
        let admin = app.admin_token().await;
        let a = app.create_property(&admin, "SHA").await;
        let b = app
            .post(
                "/api/v1/properties",
                &admin,
                json!({"code": "PAR", "name": "Hotel PAR", "timezone": "Europe/Paris", "currency": "EUR"}),
            )
            .await;
        b.expect(201);
        let b = b.body["id"].as_str().unwrap().to_string();
        World {
            app,
            admin,
            a,
            b,
            made: RefCell::default(),
        }
    }

    /// The id of a property scope.
    pub fn props(&self, scope: Scope) -> Vec<&str> {
        match scope {
            Scope::All => vec![],
            Scope::A => vec![self.a.as_str()],
            Scope::B => vec![self.b.as_str()],
        }
    }

    /// The caller, made on first use.
    pub async fn made(&self, who: &str) -> Made {
        loop {
            let state = self.made.borrow().get(who).cloned();
            match state {
                Some(Some(m)) => return m,
                // Another future is making it: wait for it, never make it twice.
                Some(None) => actix_rt::task::yield_now().await,
                None => break,
            }
        }
        self.made.borrow_mut().insert(who.to_string(), None);
        let m = self.make(kind(who)).await;
        self.made.borrow_mut().insert(who.to_string(), Some(m.clone()));
        m
    }

    async fn make(&self, kind: Kind) -> Made {
        let app = &self.app;
        match kind {
            Kind::Admin => {
                let staff = app.get("/api/v1/staff", &self.admin).await;
                let me = staff
                    .body
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|s| s["email"] == ADMIN_EMAIL);
                Made {
                    id: me.expect("the bootstrap admin")["id"].as_str().unwrap().to_string(),
                    cred: self.admin.clone(),
                }
            }
            Kind::Staff(role, scope) => {
                let (id, cred) = app.staff_token(&self.admin, role, &self.props(scope)).await;
                Made { id, cred }
            }
            Kind::Guest(email) => {
                let (id, cred) = app.guest(email).await;
                Made { id, cred }
            }
            Kind::Key(scopes, scope) => {
                let r = app
                    .post(
                        "/api/v1/api-keys",
                        &self.admin,
                        json!({"name": "test integration", "scopes": scopes, "property_ids": self.props(scope)}),
                    )
                    .await;
                r.expect(201);
                Made {
                    id: r.body["id"].as_str().unwrap().to_string(),
                    cred: r.body["key"].as_str().unwrap().to_string(),
                }
            }
            Kind::Anonymous => panic!("`none` is never made"),
        }
    }

    /// The credential of a caller (`None` for `none`).
    pub async fn cred(&self, who: &str) -> Option<String> {
        match who {
            "none" => None,
            "admin" => Some(self.admin.clone()),
            _ => Some(self.made(who).await.cred),
        }
    }

    /// The credential of a caller who has one.
    pub async fn token(&self, who: &str) -> String {
        self.cred(who)
            .await
            .unwrap_or_else(|| panic!("{who} has no credential"))
    }

    /// The id of a caller: staff user, customer (guests) or API key.
    pub async fn id(&self, who: &str) -> String {
        self.made(who).await.id
    }

    /// The email a guest registered with.
    pub fn email(&self, who: &str) -> &'static str {
        match kind(who) {
            Kind::Guest(email) => email,
            other => panic!("{who} is not a guest but {other:?}"),
        }
    }

    /// Makes these callers now (before counting rows or events, or before using them at once).
    pub async fn with(&self, who: &[&str]) {
        for w in who {
            if *w != "none" {
                self.made(w).await;
            }
        }
    }

    pub async fn call(&self, who: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        let cred = self.cred(who).await;
        let auth = match &cred {
            Some(t) => Auth::Bearer(t),
            None => Auth::None,
        };
        self.app.send(method, path, auth, body, &[]).await
    }

    /// Runs every row in order; a failure names the row. A refusal must be problem+json.
    pub async fn run(&self, rows: Vec<Row>) {
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

    /// A customer made by the admin; returns its id.
    pub async fn customer(&self, body: Value) -> String {
        self.app.create_customer(&self.admin, body).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Audit rows (newest first) matching a query, as the admin reads them.
    pub async fn audit(&self, query: &str) -> Vec<Value> {
        let r = self.app.get(&format!("/api/v1/audit-log?{query}"), &self.admin).await;
        r.expect(200);
        r.body["data"].as_array().expect("audit data").clone()
    }
}
