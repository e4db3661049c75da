//! Loyalty: earning from stays and spend, the ledger and its invariants, rewards and
//! redemptions, expiry and tier reviews, the programme's rules, who may do what, and events.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, Resp, TestApp};
use crate::world::World;

mod access;
mod earning;
mod events;
mod expiry;
mod ledger;
mod ledger_props;
mod one_commit;
mod programme;
mod redemptions;

/// balance = Σ entries = the account row; every balance_after follows from the one before; ≥ 0.
pub fn assert_invariants(app: &TestApp, customer_id: &str) {
    use concierge::db::schema::{ledger_entries as le, loyalty_accounts as la};
    use diesel::prelude::*;
    let mut conn = app.conn();
    let rows: Vec<(String, i64, i64)> = le::table
        .filter(le::customer_id.eq(customer_id))
        .select((le::id, le::points, le::balance_after))
        .order(le::id)
        .load(&mut **conn)
        .unwrap();
    let mut running = 0;
    for (id, points, after) in &rows {
        running += points;
        assert_eq!(running, *after, "balance_after of {id}");
        assert!(*after >= 0);
    }
    let balance: i64 = la::table
        .find(customer_id)
        .select(la::balance)
        .first(&mut **conn)
        .unwrap_or(0);
    assert_eq!(balance, running, "account balance = Σ entries");
}

/// The World whose guest, registered in the app, the PMS then knows by its own profile id
/// (opera P-1).
pub async fn hotel() -> World {
    let w = World::new().await;
    let pms = w.token("pms").await;
    w.with(&["guest"]).await;
    let linked = w
        .app
        .put(
            "/api/v1/customers/external/opera/P-1",
            &pms,
            json!({"given_name": "Wei", "family_name": "Zhang", "email": w.email("guest")}),
        )
        .await;
    linked.expect(200);
    assert_eq!(linked.body["outcome"], "linked");
    w
}

/// The loyalty desk's extension of the World: the PMS (`pms`) pushes stays and spend at A for
/// the guest it knows as opera P-1.
impl World {
    pub async fn push(&self, path: &str, body: Value, key: &str) -> Resp {
        self.app
            .send(
                Method::POST,
                path,
                Auth::Bearer(&self.token("pms").await),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await
    }
    pub async fn stay(&self, cn: &str, status: &str) -> String {
        let r = self
            .push(
                "/api/v1/stays",
                json!({"property_id": self.a, "confirmation_number": cn, "customer_ref": {"system": "opera", "external_id": "P-1"},
                       "check_in": "2026-11-01", "check_out": "2026-11-04", "status": status}),
                &format!("stay-{cn}-{status}"),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.raw);
        r.body["id"].as_str().unwrap().to_string()
    }
    pub async fn spend(&self, cn: &str, line: &str, outlet: &str, amount: &str) {
        self.push(
            "/api/v1/spend",
            json!({"property_id": self.a, "external_id": line, "confirmation_number": cn, "outlet": outlet,
                   "amount": {"amount": amount, "currency": "CNY"}, "spent_on": "2026-11-02"}),
            &format!("spend-{line}"),
        )
        .await
        .expect(201);
    }
    pub async fn balance(&self) -> i64 {
        self.app
            .get("/api/v1/me/loyalty", &self.token("guest").await)
            .await
            .body["balance"]
            .as_i64()
            .unwrap()
    }
    /// A POS correction of an existing line (same external id, new amount).
    pub async fn correct(&self, line: &str, outlet: &str, amount: &str) {
        self.push(
            "/api/v1/spend",
            json!({"property_id": self.a, "external_id": line, "confirmation_number": "CNF-1", "outlet": outlet,
                   "amount": {"amount": amount, "currency": "CNY"}, "spent_on": "2026-11-02"}),
            &format!("spend-{line}-{amount}"),
        )
        .await
        .expect(200);
    }
    pub async fn adjust(&self, token: &str, points: i64, key: &str) -> Resp {
        self.app
            .send(
                Method::POST,
                &format!("/api/v1/customers/{}/loyalty/adjustments", self.id("guest").await),
                Auth::Bearer(token),
                Some(json!({"points": points, "reason": "test adjustment"})),
                &[("idempotency-key", key)],
            )
            .await
    }
}

pub fn in_future(days: i64) -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc() + chrono::Duration::days(days)
}

pub fn programme_body(points_per_unit: f64, silver: i64) -> Value {
    json!({
        "points_per_unit": points_per_unit,
        "expiry_months": 24,
        "outlet_weights": {"room": 1, "food_beverage": 1, "banquet": 1, "spa": 1, "fitness": 1, "other": 0},
        "tiers": [
            {"tier": "platinum", "threshold": 50000, "multiplier": 2.0},
            {"tier": "regular", "threshold": 0, "multiplier": 1.0},
            {"tier": "silver", "threshold": silver, "multiplier": 1.25},
            {"tier": "gold", "threshold": 20000, "multiplier": 1.5},
        ],
    })
}
