use awc::http::Method;

use crate::support::{Auth, TestApp};

#[actix_rt::test]
async fn served_spec_equals_the_committed_file() {
    let app = TestApp::spawn().await;
    let r = app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await;
    r.expect(200);
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    assert!(
        r.body == committed,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
    assert_eq!(r.body["openapi"], "3.1.0");
}

#[actix_rt::test]
async fn spec_declares_security_and_problem_responses() {
    let app = TestApp::spawn().await;
    let spec = app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await
        .body
        .clone();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["name"], "X-Api-Key");
    let mut ops = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops += 1;
            let public = path.starts_with("/health")
                || path.starts_with("/api/v1/auth/")
                || path.starts_with("/api/v1/survey-links/");
            let security = op["security"].as_array().cloned().unwrap_or_default();
            let secured = security.iter().any(|s| s.as_object().is_some_and(|o| !o.is_empty()));
            assert_eq!(secured, !public, "{method} {path}: security requirement");
            if secured {
                assert!(
                    op["responses"]["401"].is_object() && op["responses"]["403"].is_object(),
                    "{method} {path}"
                );
                assert_eq!(
                    op["responses"]["401"]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(op["responses"]["422"].is_object(), "{method} {path}: 422");
            }
        }
    }
    assert!(ops >= 35, "only {ops} operations documented");
}

#[actix_rt::test]
async fn swagger_ui_is_served_offline() {
    let app = TestApp::spawn().await;
    let r = app.send(Method::GET, "/docs/", Auth::None, None, &[]).await;
    r.expect(200);
    assert!(r.raw.contains("swagger"), "not the Swagger UI page");
    let r = app
        .send(Method::GET, "/docs/swagger-ui-bundle.js", Auth::None, None, &[])
        .await;
    r.expect(200);
    assert!(r.raw.len() > 100_000, "bundle not vendored");
    // `/docs` redirects to `/docs/` (the client follows it).
    let r = app.send(Method::GET, "/docs", Auth::None, None, &[]).await;
    r.expect(200);
    assert!(r.raw.contains("swagger"));
}

/// Every documented operation, driven from the served spec (so a new route cannot skip it):
/// without credentials → 401; with a guest's token, anything outside the guest's own surface
/// is refused (never a 2xx) and nothing is written.
#[actix_rt::test]
async fn every_documented_operation_refuses_anonymous_callers_and_guests() {
    let app = TestApp::spawn().await;
    let spec = app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await
        .body
        .clone();
    let (_, guest) = app.guest("matrix.guest@example.com").await;
    // The guest's own surface: their profile, loyalty and redemptions, and what the app shows.
    let guest_may = |method: &str, path: &str| {
        path.starts_with("/api/v1/me")
            || (method == "get"
                && (path == "/api/v1/rewards"
                    || path == "/api/v1/loyalty/programme"
                    || path == "/api/v1/ticket-categories"))
    };
    let audit_before = app.count("audit_log");
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s.as_object().is_some_and(|o| !o.is_empty())));
            // `/metrics` is open to a credential-less scraper on loopback (this client): its
            // refusals are tested in `platform::metrics`.
            if !secured || op["x-access"]["loopback"] == true {
                continue;
            }
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        "0190aaaa-0000-7000-8000-000000000000"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m != Method::GET && m != Method::DELETE).then(|| serde_json::json!({}));
            let key = [("idempotency-key", "matrix-key")];
            let anon = app.send(m.clone(), &concrete, Auth::None, body.clone(), &key).await;
            assert_eq!(
                anon.status.as_u16(),
                401,
                "{method} {path} without credentials: {}",
                anon.raw
            );
            if !guest_may(method, path) {
                let g = app.send(m.clone(), &concrete, Auth::Bearer(&guest), body, &key).await;
                let s = g.status.as_u16();
                assert!(
                    [403, 404, 422, 428].contains(&s),
                    "{method} {path} as a guest answered {s}: {}",
                    g.raw
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} secured operations");
    assert_eq!(app.count("audit_log"), audit_before, "refused calls wrote nothing");
}

/// Every `$ref` of the served document names a registered component: a dangling one stops
/// client generators (openapi-typescript) at once.
#[actix_rt::test]
async fn every_ref_resolves_to_a_registered_component() {
    let app = TestApp::spawn().await;
    let spec = app
        .send(Method::GET, "/api-docs/openapi.json", Auth::None, None, &[])
        .await
        .body
        .clone();
    let mut refs = Vec::new();
    collect_refs(&spec, &mut refs);
    assert!(refs.len() > 100, "only {} refs found", refs.len());
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let dangling: Vec<&String> = refs
        .iter()
        .filter(|r| {
            r.strip_prefix("#/components/schemas/")
                .is_none_or(|name| !schemas.contains_key(name))
        })
        .collect();
    assert!(dangling.is_empty(), "dangling $refs: {dangling:?}");
}

fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("$ref", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// utoipa names a component after the Rust type (or its `#[schema(as = …)]`): two types of one
/// name in different modules render as ONE component and the spec lies about one of them. This
/// reads every `ToSchema` type (and `string_enum!`) in `src/` and fails on a shared name.
#[test]
fn no_two_schema_types_share_a_component_name() {
    let mut names: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut files = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            for name in schema_names(&text) {
                names.entry(name).or_default().push(p.display().to_string());
            }
        }
    }
    assert!(names.len() > 50, "only {} schema types found", names.len());
    let shared: Vec<_> = names.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(shared.is_empty(), "component names used by several types: {shared:?}");
}

/// The component names a source file defines: `#[derive(… ToSchema …)]` items and
/// `string_enum!` invocations, renamed by `#[schema(as = …)]`.
fn schema_names(text: &str) -> Vec<String> {
    let item = regex::Regex::new(r"^pub(?:\([a-z]+\))? (?:struct|enum) (\w+)").unwrap();
    let one_line_enum = regex::Regex::new(r"^string_enum!\((\w+) \{").unwrap();
    let macro_body = regex::Regex::new(r"^(\w+) \{").unwrap();
    let alias = regex::Regex::new(r"#\[schema\([^\]]*\bas = (?:\w+::)*(\w+)").unwrap();
    let mut out = Vec::new();
    let (mut attrs, mut depth, mut in_macro) = (String::new(), 0i32, false);
    for line in text.lines() {
        let t = line.trim();
        if depth > 0 || t.starts_with("#[") || t.starts_with("///") {
            depth += t.matches('[').count() as i32 - t.matches(']').count() as i32;
            attrs.push_str(t);
            attrs.push('\n');
            continue;
        }
        let named = |c: regex::Captures| alias.captures(&attrs).map_or(c[1].to_string(), |a| a[1].to_string());
        if t == "string_enum!(" {
            in_macro = true;
        } else if let Some(c) = one_line_enum.captures(t) {
            out.push(c[1].to_string());
        } else if let Some(c) = macro_body.captures(t).filter(|_| in_macro) {
            out.push(named(c));
            in_macro = false;
        } else if let Some(c) = item.captures(t).filter(|_| attrs.contains("ToSchema")) {
            out.push(named(c));
        }
        attrs.clear();
        depth = 0;
    }
    out
}
