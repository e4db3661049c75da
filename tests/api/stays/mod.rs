//! Stays: what a PMS pushes (stays, spend) and who may see it.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, Resp};
use crate::world::World;

mod pushes;

/// The World with the guest that its A-restricted PMS (`pms_a`) created as opera P-1; returns
/// (world, guest id).
pub async fn pms_guest() -> (World, String) {
    let w = World::new().await;
    let c = w
        .app
        .put(
            "/api/v1/customers/external/opera/P-1",
            &w.token("pms_a").await,
            json!({"given_name": "Wei", "family_name": "Zhang", "email": "wei@example.com"}),
        )
        .await;
    c.expect(201);
    let guest = c.body["customer"]["id"].as_str().unwrap().to_string();
    (w, guest)
}

/// A push by the PMS, with its Idempotency-Key.
pub async fn push(w: &World, path: &str, body: Value, key: &str) -> Resp {
    w.app
        .send(
            Method::POST,
            path,
            Auth::Bearer(&w.token("pms_a").await),
            Some(body),
            &[("idempotency-key", key)],
        )
        .await
}

/// A stay at A for opera P-1.
pub fn stay(w: &World, cn: &str, status: &str) -> Value {
    json!({
        "property_id": w.a, "confirmation_number": cn, "customer_ref": {"system": "opera", "external_id": "P-1"},
        "check_in": "2026-11-01", "check_out": "2026-11-04", "room_type": "deluxe_king", "room_number": "1208",
        "rate": {"amount": "1280.00", "currency": "CNY"}, "status": status
    })
}
