//! Property scope: staff and keys scoped to A do not see B (404, as if it did not exist), on
//! properties, customer filters and interactions; unscoped callers see both.

use awc::http::Method;
use serde_json::json;

use crate::support::Resp;
use crate::world::{row, World};

#[actix_rt::test]
async fn property_scope_hides_other_properties() {
    let w = World::new().await;
    let (a, b) = (w.a.clone(), w.b.clone());
    let prop = |id: &str| format!("/api/v1/properties/{id}");
    let filter = |id: &str| format!("/api/v1/customers?property_id={id}");
    w.run(vec![
        row("agent", Method::GET, &prop(&a), None, 200),
        row("agent", Method::GET, &prop(&b), None, 404),
        row("agent_all", Method::GET, &prop(&b), None, 200),
        row("key_read_a", Method::GET, &prop(&a), None, 200),
        row("key_read_a", Method::GET, &prop(&b), None, 404),
        row("key_read", Method::GET, &prop(&b), None, 200),
        row("key_read_a", Method::GET, &filter(&b), None, 404),
        row("key_read_a", Method::GET, &filter(&a), None, 200),
        row("key_read", Method::GET, &filter(&b), None, 200),
        row("agent", Method::GET, &filter(&b), None, 404),
    ])
    .await;

    let (agent, agent_all, key_read_a) = (
        w.token("agent").await,
        w.token("agent_all").await,
        w.token("key_read_a").await,
    );
    let ids = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .expect("property list")
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = w.app.get("/api/v1/properties", &agent).await;
    assert_eq!(ids(&listed), vec![a.clone()]);
    let codes: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["SHA"]);
    assert_eq!(
        ids(&w.app.get("/api/v1/properties", &key_read_a).await),
        vec![a.clone()]
    );
    let all = ids(&w.app.get("/api/v1/properties", &agent_all).await);
    assert!(
        all.contains(&a) && all.contains(&b),
        "unscoped agent sees both: {all:?}"
    );
    let everything = w.app.get("/api/v1/properties", &w.admin).await;
    assert_eq!(everything.body.as_array().unwrap().len(), 2);

    // Interactions logged at B stay out of A-scoped views, and A-scoped staff cannot log at B.
    let cid = w.customer(json!({"given_name": "Two", "family_name": "Hotels"})).await;
    let path = format!("/api/v1/customers/{cid}/interactions");
    let at = |prop: &str, summary: &str| json!({"channel": "phone", "direction": "inbound", "summary": summary, "property_id": prop});
    w.app.post(&path, &w.admin, at(&a, "at A")).await.expect(201);
    w.app.post(&path, &w.admin, at(&b, "at B")).await.expect(201);
    let r = w.app.post(&path, &agent, at(&b, "agent at B")).await;
    r.problem(422);
    assert_eq!(r.fields(), vec!["property_id".to_string()], "{}", r.raw);
    let summaries = |r: &Resp| -> Vec<String> {
        r.body["data"]
            .as_array()
            .expect("interaction page")
            .iter()
            .map(|i| i["summary"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(summaries(&w.app.get(&path, &agent).await), vec!["at A"]);
    assert_eq!(summaries(&w.app.get(&path, &key_read_a).await), vec!["at A"]);
    assert_eq!(summaries(&w.app.get(&path, &w.admin).await), vec!["at B", "at A"]);
}
