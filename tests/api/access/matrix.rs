//! The access matrix driven by the served OpenAPI document: every operation's `x-access` rule,
//! which is generated from the Perm table (it also writes the `**Access:**` line), is tried with
//! every kind of caller. A caller the rule excludes never gets a 2xx answer (mostly a 403); a
//! caller it includes never gets 401 or 403. Drift between the documented rule and the enforced
//! one fails here. A caller without credentials always gets 401.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::Auth;
use crate::world::{kind, Kind, World};

/// Every kind of caller: each staff role, scoped to A and not, a guest, keys by scope, none.
const CALLERS: [&str; 12] = [
    "admin",
    "manager",
    "agent",
    "analyst",
    "agent_all",
    "guest",
    "key_all_a",
    "key_surveys_a",
    "key_read",
    "key_write",
    "key_loyalty",
    "none",
];

fn allowed(rule: &Value, caller: Kind) -> bool {
    let list = |f: &str| -> Vec<String> {
        rule[f]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    match caller {
        Kind::Admin => list("staff_roles").iter().any(|r| r == "admin"),
        Kind::Staff(role, _) => list("staff_roles").iter().any(|r| r == role),
        Kind::Guest(_) => rule["customer"] == true,
        Kind::Key(scopes, _) => {
            rule["any_api_key"] == true || list("api_key_scopes").iter().any(|s| scopes.contains(&s.as_str()))
        }
        Kind::Anonymous => false,
    }
}

/// A concrete path: ids are unknown (404 for whoever passes the access check).
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let j = rest[i..].find('}').unwrap() + i;
        out.push_str(match &rest[i + 1..j] {
            "severity" => "high",
            "purpose" => "marketing_email",
            _ => "00000000-0000-7000-8000-000000000000",
        });
        rest = &rest[j + 1..];
    }
    out + rest
}

#[actix_rt::test]
async fn every_operation_enforces_the_rule_its_spec_states() {
    let w = World::new().await;
    let mut callers = Vec::new();
    for who in CALLERS {
        callers.push((who, kind(who), w.cred(who).await));
    }
    let spec = w
        .app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await;
    let (mut checked, mut refused, mut refused_403, mut wrong) = (0, 0, 0, Vec::new());
    for (path, item) in spec.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let rule = &op["x-access"];
            if rule["public"] == true || (rule["link_token"] == true && rule["customer"] == false) {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m != Method::GET && m != Method::DELETE).then(|| json!({}));
            for (who, caller, cred) in &callers {
                let key = format!("matrix-{}-{method}-{path}-{who}", op["operationId"].as_str().unwrap());
                let auth = match cred {
                    Some(t) => Auth::Bearer(t),
                    None => Auth::None,
                };
                let r = w
                    .app
                    .send(
                        m.clone(),
                        &concrete(path),
                        auth,
                        body.clone(),
                        &[("Idempotency-Key", &key)],
                    )
                    .await;
                let code = r.status.as_u16();
                checked += 1;
                if *caller == Kind::Anonymous {
                    // The test client is on the loopback address: a local scrape (tested apart).
                    if code != 401 && rule["loopback"] != true {
                        wrong.push(format!("{method} {path}: no credentials got {code}: {}", r.raw));
                    }
                } else if allowed(rule, *caller) {
                    if code == 401 || code == 403 {
                        wrong.push(format!("{method} {path}: allowed {who} got {code}: {}", r.raw));
                    }
                } else {
                    refused += 1;
                    refused_403 += usize::from(code == 403);
                    if r.status.is_success() {
                        wrong.push(format!("{method} {path}: excluded {who} got {code}"));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} cases disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked > 1200, "{checked} cases");
    // Most excluded callers are refused before any lookup (403). Some operations parse the body
    // or find the record first (404/422 for everyone); the matrix still proves none succeeds.
    assert!(
        refused > 750 && refused_403 * 2 >= refused,
        "{refused_403} of {refused} refusals were 403"
    );
}
