//! Expiry and the yearly tier review: jobs that act once, with months as data.

use serde_json::json;

use super::{assert_invariants, hotel, in_future};

#[actix_rt::test]
async fn expiry_job_expires_what_lots_still_hold_once() {
    let w = hotel().await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let manager = w.token("manager_all").await;
    let lot = w.adjust(&manager, 300, "lot").await;
    w.adjust(&manager, -100, "spend-some").await.expect(201);
    // Nothing is due today.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(0)).unwrap();
    assert_eq!(r.expired_entries, 0);
    // 25 months on, the lot's 200 remaining points expire.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(25 * 31)).unwrap();
    assert_eq!(r.expired_entries, 1);
    let s = w.app.get("/api/v1/me/loyalty", &guest).await;
    assert_eq!(s.body["balance"], 0);
    let e = w.app.get("/api/v1/me/loyalty/entries", &guest).await;
    let expire = &e.body["data"][0];
    assert_eq!(expire["kind"], "expire");
    assert_eq!(expire["points"], -200);
    assert_eq!(
        expire["lots"],
        json!([{"lot_id": lot.body["id"], "points": 200}]),
        "an expiry names its lot"
    );
    // Running again (or on a second instance) changes nothing.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(25 * 31)).unwrap();
    assert_eq!(r.expired_entries, 0);
    assert_eq!(
        w.app.get("/api/v1/me/loyalty/entries", &guest).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_invariants(&w.app, &guest_id);
}

#[actix_rt::test]
async fn expiry_months_are_data_and_the_summary_shows_what_expires_soon() {
    let w = hotel().await;
    let guest = w.token("guest").await;
    {
        use concierge::db::schema::loyalty_settings as s;
        use diesel::prelude::*;
        diesel::update(s::table.find("expiry_months"))
            .set(s::value.eq("2"))
            .execute(&mut **w.app.conn())
            .unwrap();
    }
    let manager = w.token("manager_all").await;
    w.adjust(&manager, 50, "short-lived").await.expect(201);
    let s = w.app.get("/api/v1/me/loyalty", &guest).await;
    assert_eq!(s.body["expiring_in_90_days"], 50);
    assert_eq!(s.body["expiring_soon"].as_array().unwrap().len(), 1);
    assert_eq!(s.body["expiring_soon"][0]["points"], 50);
}

#[actix_rt::test]
async fn the_yearly_review_downgrades_and_only_then() {
    let w = hotel().await;
    let pms = w.token("pms").await;
    let guest_id = w.id("guest").await;
    let guest = w.token("guest").await;
    let a = w.stay("CNF-T", "in_house").await;
    w.spend("CNF-T", "T1", "room", "5000.00").await;
    w.app
        .patch(&format!("/api/v1/stays/{a}"), &pms, json!({"status": "checked_out"}))
        .await
        .expect(200);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &guest).await.body["tier"], "silver");
    // Before the review date nothing changes, even far from the threshold.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(200)).unwrap();
    assert_eq!(r.tiers_downgraded, 0);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &guest).await.body["tier"], "silver");
    // A year on, with no qualifying points in the last 12 months: back to regular, recorded.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(370)).unwrap();
    assert_eq!(r.tiers_downgraded, 1);
    assert_eq!(w.app.get("/api/v1/me/loyalty", &guest).await.body["tier"], "regular");
    use concierge::db::schema::tier_changes as t;
    use diesel::prelude::*;
    let changes: Vec<(String, String, String)> = t::table
        .filter(t::customer_id.eq(&guest_id))
        .select((t::from_tier, t::to_tier, t::reason))
        .order(t::id)
        .load(&mut **w.app.conn())
        .unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!((changes[0].0.as_str(), changes[0].1.as_str()), ("regular", "silver"));
    assert_eq!((changes[1].0.as_str(), changes[1].1.as_str()), ("silver", "regular"));
    assert!(changes[1].2.starts_with("yearly review"));
    // The next review is a year later: running again the same day does nothing.
    let r = concierge::app::jobs::run_once(&w.app.state.pool, in_future(370)).unwrap();
    assert_eq!(r.tiers_reviewed, 0);
}
