//! Guest search finds the same guests whichever way the database is asked: on SQLite a rare
//! text is looked up through the trigram table, a common one (over `dialect::FEW_MATCHES`
//! guests, or under three letters) walks guests in id order, and a tag's guests drive the walk
//! a growing chunk at a time. Every page of every combination is checked against the guests
//! themselves, read without filters.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::imports::{completed, upload};
use crate::support::TestApp;

const GUESTS: usize = 2_300;

/// Guest `i`: family "Commonname" (2,297 of them) or "Rareword" (3); "business" on every other
/// guest (1,150: more than one chunk of a tag), "quiet-floor" on 5, a VIP override on 8.
fn line(i: usize) -> String {
    let family = if i % 1000 == 2 { "Rareword" } else { "Commonname" };
    let mut tags = Vec::new();
    if i.is_multiple_of(2) {
        tags.push("business");
    }
    if i % 500 == 7 {
        tags.push("quiet-floor");
    }
    let mut g = json!({"given_name": format!("Guest{i:04}"), "family_name": family, "tags": tags});
    if i.is_multiple_of(300) {
        g["grade_override"] = json!({"grade": "vip", "reason": "owner's list"});
    }
    g.to_string()
}

/// Every page of `query` (with `limit=97`, in the given `sort`), its ids in order.
async fn walk(app: &TestApp, token: &str, query: &str, sort: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = String::new();
    for _ in 0..100 {
        let r = app
            .get(&format!("/api/v1/customers?{query}&sort={sort}&limit=97{after}"), token)
            .await;
        assert_eq!(r.status.as_u16(), 200, "{query}: {}", r.raw);
        ids.extend(
            r.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => after = format!("&cursor={c}"),
            None => return ids,
        }
    }
    panic!("{query}: more than 100 pages");
}

/// The guests themselves, every one, read without a filter.
async fn everyone(app: &TestApp, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = String::new();
    for _ in 0..100 {
        let r = app.get(&format!("/api/v1/customers?limit=200{after}"), token).await;
        all.extend(r.body["data"].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => after = format!("&cursor={c}"),
            None => return all,
        }
    }
    panic!("more than 100 pages of guests");
}

fn expected(all: &[Value], keep: impl Fn(&Value) -> bool, desc: bool) -> Vec<String> {
    let mut ids: Vec<String> = all
        .iter()
        .filter(|c| keep(c))
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    if desc {
        ids.reverse();
    }
    ids
}

fn has_tag(c: &Value, tag: &str) -> bool {
    c["tags"].as_array().unwrap().iter().any(|t| t == tag)
}

fn family(c: &Value, name: &str) -> bool {
    c["family_name"] == name
}

#[actix_rt::test]
async fn every_search_plan_finds_every_match_once_in_page_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let file: Vec<String> = (0..GUESTS).map(line).collect();
    let r = upload(&app, &admin, "application/x-ndjson", &file.join("\n"), None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.raw);
    let job = completed(&app, &admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["created"], GUESTS, "{job}");
    let all = everyone(&app, &admin).await;
    assert_eq!(all.len(), GUESTS);
    let (_, agent) = app.staff_token(&admin, "agent", &[]).await;

    type Keep = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(&str, Keep)> = vec![
        ("q=commonname", Box::new(|c| family(c, "Commonname"))),
        ("q=rareword", Box::new(|c| family(c, "Rareword"))),
        ("q=co", Box::new(|c| family(c, "Commonname"))),
        (
            "q=commonname&tag=business",
            Box::new(|c| family(c, "Commonname") && has_tag(c, "business")),
        ),
        (
            "q=commonname&tag=quiet-floor",
            Box::new(|c| family(c, "Commonname") && has_tag(c, "quiet-floor")),
        ),
        (
            "q=rareword&tag=business",
            Box::new(|c| family(c, "Rareword") && has_tag(c, "business")),
        ),
        ("tag=business", Box::new(|c| has_tag(c, "business"))),
        (
            "q=commonname&grade=vip",
            Box::new(|c| family(c, "Commonname") && c["grade"] == "vip"),
        ),
        // Few of the tag's guests match: the page takes more than one chunk of them.
        (
            "q=commonname&tag=business&grade=vip",
            Box::new(|c| family(c, "Commonname") && has_tag(c, "business") && c["grade"] == "vip"),
        ),
        (
            "q=guest2&tag=business&grade=vip",
            Box::new(|c| {
                c["given_name"].as_str().unwrap().starts_with("Guest2") && has_tag(c, "business") && c["grade"] == "vip"
            }),
        ),
    ];
    for (query, keep) in &cases {
        for (sort, desc) in [("created_at", false), ("-created_at", true)] {
            let want = expected(&all, keep, desc);
            assert!(!want.is_empty(), "{query}: the case finds someone");
            let got = walk(&app, &admin, query, sort).await;
            assert_eq!(got.len(), want.len(), "{query} {sort}: how many");
            assert_eq!(got, want, "{query} {sort}: the guests, once each, in page order");
        }
    }
    // LIKE's wildcards in `q` are the characters themselves (no guest has them), whichever plan.
    for q in ["guest_", "%25", "guest%5C", "_", "commonnam_"] {
        let r = app.get(&format!("/api/v1/customers?q={q}"), &admin).await;
        assert_eq!(r.status.as_u16(), 200, "{q}: {}", r.raw);
        assert_eq!(r.body["data"], json!([]), "q={q} matches a literal wildcard only");
    }
    // Agents see names only; the same walks, the same guests.
    let got = walk(&app, &agent, "q=commonname&tag=business", "created_at").await;
    assert_eq!(
        got,
        expected(&all, |c| family(c, "Commonname") && has_tag(c, "business"), false)
    );
    let distinct: BTreeSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), got.len());
}
