//! Tickets: the lifecycle, SLA clocks and the sweep (with a simulated clock), escalation,
//! compensation and its limits, reports and settings, and their events. Tickets by role and
//! scope are in `access/tickets.rs`.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::{json, Value};

use crate::support::Resp;
use crate::world::World;

mod compensation;
mod compensation_limits;
mod events;
mod lifecycle;
mod reports;
mod sla;

/// The desk's extension of the World: tickets at property A about the guest.
impl World {
    /// A complaint at A about `guest`, opened by `who`.
    pub async fn open(&self, who: &str, severity: &str, channel: &str) -> Value {
        let r = self
            .app
            .post(
                "/api/v1/tickets",
                &self.token(who).await,
                json!({"property_id": self.a, "customer_id": self.id("guest").await, "kind": "complaint",
                       "category": "cleanliness", "severity": severity, "channel": channel,
                       "subject": "Bathroom not cleaned", "description": "Room 1208 found the bathroom uncleaned at 16:00."}),
            )
            .await;
        r.expect(201);
        r.body.clone()
    }
    pub async fn move_to(&self, token: &str, id: &str, body: Value) -> Resp {
        self.app
            .post(&format!("/api/v1/tickets/{id}/transitions"), token, body)
            .await
    }
    pub async fn timeline(&self, token: &str, path: &str) -> Vec<Value> {
        let r = self.app.get(path, token).await;
        r.expect(200);
        r.body["data"].as_array().unwrap().clone()
    }
    pub fn sweep(&self, at: NaiveDateTime) -> concierge::app::jobs::JobReport {
        concierge::app::jobs::run_once(&self.app.state.pool, at).unwrap()
    }
}

pub fn ts(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

pub fn later(d: Duration) -> NaiveDateTime {
    Utc::now().naive_utc() + d
}

pub fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| match e["kind"].as_str().unwrap() {
            "sla" => format!("sla:{}", e["data"]["event"].as_str().unwrap()),
            "state_change" => format!("state:{}", e["data"]["to"].as_str().unwrap()),
            k => k.to_string(),
        })
        .collect()
}

/// The desk: the World with its agent and manager at A and the guest made up front.
pub async fn desk() -> World {
    let w = World::new().await;
    w.with(&["agent", "manager", "guest"]).await;
    w
}
