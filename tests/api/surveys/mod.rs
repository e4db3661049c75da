//! Surveys: invitations from check-outs and closed tickets, answers in the app or by link,
//! scores, recovery tickets and bonuses, templates, who may do what, and events.

use actix_web::http::Method;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::support::Auth;
use crate::world::World;

mod access;
mod events;
mod responses;

/// The World of `loyalty::hotel()` (the guest, known to the PMS as opera P-1) with the
/// manager at A made up front.
pub async fn desk() -> World {
    let w = crate::loyalty::hotel().await;
    w.with(&["manager"]).await;
    w
}

/// The survey desk's extension of the World.
impl World {
    /// A stay pushed in house, then checked out; returns its id.
    pub async fn check_out(&self, cn: &str) -> String {
        let mut id = String::new();
        let today = Utc::now().date_naive();
        let (check_in, check_out) = (today - Duration::days(2), today);
        for status in ["in_house", "checked_out"] {
            let key = format!("{cn}-{status}");
            let r = self
                .app
                .send(
                    Method::POST,
                    "/api/v1/stays",
                    Auth::Bearer(&self.token("pms").await),
                    Some(json!({"property_id": self.a, "confirmation_number": cn,
                                "customer_ref": {"system": "opera", "external_id": "P-1"},
                                "check_in": check_in, "check_out": check_out, "status": status})),
                    &[("idempotency-key", &key)],
                )
                .await;
            assert!(r.status.is_success(), "{}", r.raw);
            id = r.body["id"].as_str().unwrap().to_string();
        }
        id
    }
    pub async fn survey_settings(&self, delay: i64, bonus: i64) {
        self.app
            .put(
                "/api/v1/survey-settings",
                &self.admin,
                json!({"post_stay_delay_minutes": delay, "invitation_ttl_days": 14, "completion_bonus_points": bonus, "require_consent": false}),
            )
            .await
            .expect(200);
    }
    pub async fn open_invitations(&self) -> Vec<Value> {
        let r = self
            .app
            .get("/api/v1/me/survey-invitations", &self.token("guest").await)
            .await;
        r.expect(200);
        r.body["data"].as_array().unwrap().clone()
    }
    pub async fn scores(&self) -> Value {
        let r = self
            .app
            .get(
                &format!("/api/v1/survey-scores?property_id={}", self.a),
                &self.token("manager").await,
            )
            .await;
        r.expect(200);
        r.body.clone()
    }
}
