//! The access matrix driven by the served OpenAPI document: every operation's `x-access` rule,
//! which is generated from the Perm table (it also writes the `**Access:**` line), is tried with
//! every kind of caller. A caller the rule excludes never gets a 2xx answer (mostly a 403); a
//! caller it includes never gets 401 or 403. Drift between the documented rule and the enforced
//! one fails here.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::{Auth, TestApp};

const ALL_SCOPES: &[&str] = &[
    "customers:read",
    "customers:write",
    "stays:write",
    "loyalty:read",
    "loyalty:write",
    "tickets:read",
    "tickets:write",
    "surveys:write",
];

enum Caller {
    Staff(&'static str),
    Guest,
    Key(&'static [&'static str]),
}

fn allowed(rule: &Value, caller: &Caller) -> bool {
    let list = |f: &str| -> Vec<String> {
        rule[f]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    match caller {
        Caller::Staff(role) => list("staff_roles").iter().any(|r| r == role),
        Caller::Guest => rule["customer"] == true,
        Caller::Key(scopes) => {
            rule["any_api_key"] == true || list("api_key_scopes").iter().any(|s| scopes.contains(&s.as_str()))
        }
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
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let prop = app.create_property(&admin, "ACC-SPEC").await;
    let mut callers: Vec<(Caller, String)> = vec![(Caller::Staff("admin"), admin.clone())];
    for role in ["manager", "agent", "analyst"] {
        callers.push((Caller::Staff(role), app.staff_token(&admin, role, &[&prop]).await.1));
    }
    callers.push((Caller::Guest, app.guest("matrix.guest@example.com").await.1));
    callers.push((Caller::Key(ALL_SCOPES), app.api_key(&admin, ALL_SCOPES, &[&prop]).await));
    callers.push((
        Caller::Key(&["surveys:write"]),
        app.api_key(&admin, &["surveys:write"], &[&prop]).await,
    ));
    let spec = app
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
            for (i, (caller, token)) in callers.iter().enumerate() {
                let key = format!("matrix-{}-{method}-{path}-{i}", op["operationId"].as_str().unwrap());
                let r = app
                    .send(
                        m.clone(),
                        &concrete(path),
                        Auth::Bearer(token),
                        body.clone(),
                        &[("Idempotency-Key", &key)],
                    )
                    .await;
                let code = r.status.as_u16();
                checked += 1;
                if allowed(rule, caller) {
                    if code == 401 || code == 403 {
                        wrong.push(format!("{method} {path}: allowed caller #{i} got {code}: {}", r.raw));
                    }
                } else {
                    refused += 1;
                    refused_403 += usize::from(code == 403);
                    if r.status.is_success() {
                        wrong.push(format!("{method} {path}: excluded caller #{i} got {code}"));
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
    assert!(checked > 600, "{checked} cases");
    // Most excluded callers are refused before any lookup (403). Some operations parse the body
    // or find the record first (404/422 for everyone); the matrix still proves none succeeds.
    assert!(
        refused > 300 && refused_403 * 2 >= refused,
        "{refused_403} of {refused} refusals were 403"
    );
}
