//! Agents see contact data masked, so search must not let them recover it: names by substring,
//! contacts only whole. Managers keep substring search.

use serde_json::json;

use crate::support::TestApp;
use crate::world::World;

/// Whether searching `query` finds the guest `id` (a refused search finds nothing).
async fn found(app: &TestApp, token: &str, query: &str, id: &str) -> bool {
    let r = app.get(&format!("/api/v1/customers?{query}"), token).await;
    match r.status.as_u16() {
        200 => r.body["data"].as_array().unwrap().iter().any(|c| c["id"] == id),
        422 => false,
        s => panic!("{query}: {s} {}", r.raw),
    }
}

#[actix_rt::test]
async fn agents_find_guests_by_whole_contacts_only_not_by_fragments() {
    let w = World::new().await;
    let (app, admin) = (&w.app, w.admin.clone());
    let agent = w.token("agent").await;
    let manager = w.token("manager").await;
    let guest = app
        .create_customer(
            &admin,
            json!({"given_name": "Wei", "family_name": "Zhang", "email": "wei.zhang@example.com", "phone": "+8613812345678"}),
        )
        .await;
    let id = guest["id"].as_str().unwrap();
    for fragment in [
        "q=5678",
        "q=138",
        "q=wei.zh",
        "q=example.com",
        "q=8613812345678",
        "phone=%2B86138",
        "phone=%2B86138123",
    ] {
        assert!(
            !found(app, &agent, fragment, id).await,
            "an agent found the guest by {fragment}"
        );
    }
    for whole in [
        "phone=%2B8613812345678",
        "email=WEI.ZHANG%40example.com",
        "q=wei.zhang%40example.com",
        "q=%2B86%20138%201234%205678",
        "q=zhang",
        "q=zhangwei",
    ] {
        assert!(
            found(app, &agent, whole, id).await,
            "an agent did not find the guest by {whole}"
        );
    }
    // Phones are searched by their digits, whatever + and separators the caller types.
    for fragment in [
        "q=5678",
        "q=wei.zh",
        "q=%2B86%20138",
        "q=%2B8613812345678",
        "q=(138)%201234",
    ] {
        assert!(
            found(app, &manager, fragment, id).await,
            "a manager did not find the guest by {fragment}"
        );
    }
    let analyst = w.token("analyst_all").await;
    app.get("/api/v1/customers?q=zhang", &analyst).await.problem(403);
}
