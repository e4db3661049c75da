//! Who may call what. `matrix.rs` tries every operation of the served OpenAPI document with
//! every kind of caller against the operation's `x-access` rule. The other files are tables of
//! exact statuses for what a rule alone cannot say: ownership (a guest reading another guest),
//! property scope (another property's ids), masking by role and its audit rows, API-key
//! transport, revocation and expiry, staff whose role, scope or activity changes, fields a guest
//! may never set on themself, grade overrides by role, and tickets by role and scope.

use awc::http::Method;
use serde_json::Value;

use crate::world::{row, Row};

mod admin_only;
mod api_keys;
mod customers;
mod masking;
mod matrix;
mod property_scope;
mod self_and_grades;
mod staff;
mod tickets;

/// Every named caller but the admin and the anonymous one, as the tables use them.
const NON_ADMINS: [&str; 10] = [
    "manager",
    "agent",
    "analyst",
    "agent_all",
    "guest",
    "guest2",
    "key_read",
    "key_write",
    "key_loyalty",
    "key_read_a",
];

/// Rows for one endpoint: each caller with the status it must get, in this order.
fn table(method: Method, path: &str, body: Option<Value>, cases: &[(&'static str, u16)]) -> Vec<Row> {
    cases
        .iter()
        .map(|(who, status)| row(who, method.clone(), path, body.clone(), *status))
        .collect()
}

/// Rows for an admin-only endpoint: the admin gets `ok`, every other caller 403, no credentials
/// 401. The admin comes last, so a destructive call (a revocation) follows the refusals.
fn admin_only(method: Method, path: &str, body: Option<Value>, ok: u16) -> Vec<Row> {
    let mut rows: Vec<Row> = NON_ADMINS
        .iter()
        .map(|who| row(who, method.clone(), path, body.clone(), 403))
        .collect();
    rows.push(row("none", method.clone(), path, body.clone(), 401));
    rows.push(row("admin", method, path, body, ok));
    rows
}
