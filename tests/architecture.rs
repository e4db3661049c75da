//! The shape of the code (ARCHITECTURE.md), checked: floors import only downward, no source or
//! test file is over 800 lines, and only `db/` matches on the database backend.

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

/// Floors, low to high; `db` and `auth` share one.
fn floor(top: &str) -> Option<u8> {
    Some(match top {
        "platform" => 0,
        "db" | "auth" => 1,
        "server" => 2,
        "features" => 3,
        "app" => 4,
        _ => return None,
    })
}

/// Features, low to high: a feature may use the ones before it, never the ones after.
const FEATURES: &[&str] = &[
    "audit",
    "properties",
    "staff",
    "guests",
    "stays",
    "loyalty",
    "tickets",
    "surveys",
    "events",
    "privacy",
    "segments",
    "care",
    "reports",
    "sessions",
];

fn rank(path: &[&str]) -> Option<(u8, usize)> {
    let f = floor(path.first()?)?;
    let sub = if f == 3 {
        path.get(1)
            .and_then(|n| FEATURES.iter().position(|x| x == n))
            .unwrap_or(0)
    } else {
        0
    };
    Some((f, sub))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn tree(dir: &str) -> (PathBuf, Vec<PathBuf>) {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/")).join(dir);
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    (root, files)
}

fn src() -> (PathBuf, Vec<PathBuf>) {
    tree("src")
}

/// Files over `MAX_LINES`, as `path: n lines`.
fn over_max(root: &Path, files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{}: {n} lines", f.strip_prefix(root).unwrap().display()))
        })
        .collect()
}

/// Code lines (comments dropped: a doc comment may name a higher floor).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or_default()))
}

/// Every `crate::a::b` path in a line, as segments.
fn crate_paths(line: &str) -> Vec<Vec<&str>> {
    line.match_indices("crate::")
        .map(|(i, _)| {
            line[i + 7..]
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or_default()
                .split("::")
                .filter(|s| !s.is_empty())
                .take(2)
                .collect()
        })
        .collect()
}

#[test]
fn floors_import_only_downward() {
    let (root, files) = src();
    let mut upward = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let parts: Vec<&str> = rel.split('/').collect();
        let Some(me) = rank(&parts) else { continue }; // lib.rs, main.rs
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in code_lines(&text) {
            for path in crate_paths(line) {
                if let Some(them) = rank(&path) {
                    if them > me {
                        upward.push(format!("{rel}:{n}: crate::{}", path.join("::")));
                    }
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports upward (ARCHITECTURE.md, floors):\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_source_file_is_over_800_lines() {
    let (root, files) = src();
    let big = over_max(&root, &files);
    assert!(big.is_empty(), "files over {MAX_LINES} lines:\n{}", big.join("\n"));
}

#[test]
fn no_test_file_is_over_800_lines() {
    let (root, files) = tree("tests");
    let big = over_max(&root, &files);
    assert!(big.is_empty(), "test files over {MAX_LINES} lines:\n{}", big.join("\n"));
}

#[test]
fn only_db_matches_on_the_backend() {
    let (root, files) = src();
    let needles = [
        "Backend::Sqlite",
        "Backend::Postgres",
        "DbConnection::Sqlite",
        "DbConnection::Pg",
    ];
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        // db/ is the one place (dialect.rs, tx.rs, the pool and the connection).
        if rel.starts_with("db/") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in code_lines(&text) {
            if needles.iter().any(|x| line.contains(x)) {
                found.push(format!("{rel}:{n}: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "backend matches outside db/ (use db::dialect):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_check() {
    // Guards against a check that passes because it reads nothing.
    let (_, files) = src();
    assert!(files.len() > 40, "{} source files", files.len());
    let (root, tests) = tree("tests");
    assert!(tests.len() > 20, "{} test files", tests.len());
    assert!(
        tests.iter().any(|f| f.ends_with("api/support.rs")),
        "tests/api/ is read"
    );
    let long = std::iter::repeat_n("x\n", MAX_LINES + 1).collect::<String>();
    let probe = std::env::temp_dir().join(format!("architecture-probe-{}.rs", std::process::id()));
    std::fs::write(&probe, long).unwrap();
    let found = over_max(probe.parent().unwrap(), std::slice::from_ref(&probe));
    std::fs::remove_file(&probe).unwrap();
    assert_eq!(found.len(), 1, "a file of {} lines is caught", MAX_LINES + 1);
    assert!(root.ends_with("tests"));
    let paths = crate_paths("use crate::features::tickets::service as tickets; crate::db::outbox::emit_in_tx");
    assert_eq!(paths, [vec!["features", "tickets"], vec!["db", "outbox"]]);
    assert!(rank(&["features", "surveys"]) > rank(&["features", "tickets"]));
    assert!(rank(&["app"]) > rank(&["features", "sessions"]));
}

/// Who owns each table: the one feature that reads and writes it (ARCHITECTURE.md, rule 1).
/// Other features ask the owner (`features::guests::customer_exists`, `stays::stay_parties`…).
const TABLE_OWNERS: &[(&str, &[&str])] = &[
    ("audit", &["audit_log"]),
    ("properties", &["properties"]),
    ("staff", &["staff_users", "api_keys"]),
    ("sessions", &["refresh_tokens", "customer_accounts"]),
    (
        "guests",
        &[
            "customers",
            "customer_consents",
            "consent_events",
            "customer_external_refs",
            "customer_tags",
            "interactions",
            "customer_imports",
            "customer_import_chunks",
            "customer_import_errors",
        ],
    ),
    ("stays", &["stays", "spend_lines"]),
    (
        "loyalty",
        &[
            "loyalty_accounts",
            "ledger_entries",
            "ledger_lot_consumptions",
            "ledger_lot_closures",
            "loyalty_settings",
            "loyalty_property_rules",
            "rewards",
            "redemptions",
            "tier_changes",
        ],
    ),
    (
        "tickets",
        &[
            "tickets",
            "ticket_entries",
            "ticket_compensations",
            "ticket_categories",
            "ticket_settings",
            "sla_policies",
            "business_calendars",
            "escalation_contacts",
        ],
    ),
    (
        "surveys",
        &[
            "survey_templates",
            "survey_template_versions",
            "survey_invitations",
            "survey_responses",
            "survey_aspect_scores",
            "survey_settings",
        ],
    ),
    (
        "events",
        &["events", "event_settings", "webhook_endpoints", "webhook_deliveries"],
    ),
];

/// Reads kept across features, with the reason. The guest read shows recent stays and the guest
/// list filters by the property of a stay: the 360° view (issue #16) is to be composed above the
/// features, and this read moves there with it.
const FOREIGN_READS: &[(&str, &str)] = &[("guests", "stays")];

/// The tables a source file names through `db::schema`.
fn schema_tables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("db::schema::") {
        let rest = &text[i + 12..];
        let names = if let Some(list) = rest.strip_prefix('{') {
            list.split('}').next().unwrap_or_default()
        } else {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default()
        };
        for n in names.split(',') {
            let n = n.split_whitespace().next().unwrap_or_default();
            if !n.is_empty() && n != "self" {
                out.push(n.to_string());
            }
        }
    }
    out
}

#[test]
fn features_touch_only_their_own_tables() {
    let (root, files) = src();
    let owner = |t: &str| TABLE_OWNERS.iter().find(|(_, ts)| ts.contains(&t)).map(|(f, _)| *f);
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let Some(feature) = rel.strip_prefix("features/").and_then(|r| r.split('/').next()) else {
            continue;
        };
        let feature = feature.trim_end_matches(".rs");
        let text: String = code_lines(&std::fs::read_to_string(file).unwrap())
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        for t in schema_tables(&text) {
            match owner(&t) {
                Some(o) if o == feature || FOREIGN_READS.contains(&(feature, t.as_str())) => {}
                Some(o) => found.push(format!("{rel}: `{t}` belongs to {o}")),
                None => found.push(format!("{rel}: `{t}` has no owner in TABLE_OWNERS")),
            }
        }
    }
    assert!(
        found.is_empty(),
        "a feature names another's table (ask the owner's mod.rs instead):\n{}",
        found.join("\n")
    );
    let sample = schema_tables("use crate::db::schema::{customers, stays as s};\nuse crate::db::schema::tickets as t;");
    assert_eq!(
        sample,
        ["customers", "stays", "tickets"],
        "the check reads what it checks"
    );
}
