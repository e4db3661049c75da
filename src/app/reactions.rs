//! Who reacts to which domain event: the one list of cross-feature effects. Each runs in the
//! transaction that wrote the event (`db::outbox::emit_in_tx`), so a change and its effects
//! commit or roll back together; a reaction's own events react in turn.
//!
//! | event | reaction |
//! |---|---|
//! | `stay.checked_out` | loyalty earns for the stay; surveys invite to the post-stay survey |
//! | `stay.cancelled` (after check-out) | loyalty reverses the stay's earning |
//! | `spend.upserted` | loyalty settles the stays the charge touches |
//! | `ticket.state_changed` to `closed` | surveys invite to the post-ticket survey |
//! | `survey.response_received` | a detractor opens a feedback ticket; the completion bonus posts |
//! | `staff.updated` with `sessions_ended` | sessions revoke the user's refresh tokens |

use serde_json::Value;

use crate::auth::Principal;
use crate::db::outbox::{self, Event};
use crate::db::DbConnection;
use crate::features::loyalty::ledger as loyalty;
use crate::features::sessions;
use crate::features::surveys::service as surveys;
use crate::features::tickets::service as tickets;
use crate::platform::error::ApiError;

/// Installs the table below as the outbox's reactions (idempotent; `build_app`, jobs, seed).
pub fn install() {
    outbox::install_reactions(react);
}

fn react(conn: &mut DbConnection, who: &Principal, ev: &Event) -> Result<(), ApiError> {
    let data = ev.payload();
    let text = |f: &str| data.get(f).and_then(Value::as_str).map(str::to_string);
    let property = ev.property_id.clone().unwrap_or_default();
    match ev.kind.as_str() {
        "stay.checked_out" => {
            let customer = text("customer_id").ok_or_else(|| malformed(ev))?;
            let check_out = text("check_out")
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| malformed(ev))?;
            loyalty::earn_for_stay(conn, who, &ev.aggregate_id, &customer)?;
            surveys::invite_after_stay_in_tx(conn, &ev.aggregate_id, &customer, &property, check_out)
        }
        "stay.cancelled" if text("previous_status").as_deref() == Some("checked_out") => {
            loyalty::reverse_for_stay(conn, who, &ev.aggregate_id).map(drop)
        }
        "spend.upserted" => {
            for stay in [text("previous_stay_id"), text("stay_id")].into_iter().flatten() {
                loyalty::settle_stay(conn, who, &stay)?;
            }
            Ok(())
        }
        "ticket.state_changed" if text("to").as_deref() == Some("closed") => {
            match (text("customer_id"), text("source_kind").as_deref()) {
                (Some(customer), source) if source != Some("survey_response") => {
                    surveys::invite_after_ticket_in_tx(conn, &ev.aggregate_id, &customer, &property)
                }
                _ => Ok(()),
            }
        }
        "survey.response_received" => after_survey_answer(conn, who, ev, &data),
        "staff.updated" if data.get("sessions_ended").and_then(Value::as_bool) == Some(true) => {
            sessions::revoke_refresh_tokens_in_tx(conn, "staff", &ev.aggregate_id)
        }
        _ => Ok(()),
    }
}

/// Service recovery and the completion bonus (once per surveyed subject).
fn after_survey_answer(conn: &mut DbConnection, who: &Principal, ev: &Event, data: &Value) -> Result<(), ApiError> {
    let text = |f: &str| data.get(f).and_then(Value::as_str).map(str::to_string);
    let customer = text("customer_id").ok_or_else(|| malformed(ev))?;
    let property = ev.property_id.clone().unwrap_or_default();
    let response = &ev.aggregate_id;
    let (subject_kind, subject_id) = (text("subject_kind").unwrap_or_default(), text("subject_id"));
    if data.get("detractor").and_then(Value::as_bool) == Some(true) {
        let score = |f: &str| data.get(f).and_then(Value::as_i64);
        let stay = subject_id.clone().filter(|_| subject_kind == "stay");
        let title = surveys::feedback_subject(score("nps"), score("csat"));
        let ticket = tickets::open_for_survey(conn, who, &property, &customer, stay, response, &title)?;
        surveys::link_ticket_in_tx(conn, response, &ticket)?;
    }
    // A subject-less invitation cannot be used to mint points.
    let Some(subject) = subject_id.map(|id| format!("{subject_kind}:{id}")) else {
        return Ok(());
    };
    let bonus = surveys::completion_bonus_in_tx(conn)?;
    if bonus > 0 && !loyalty::survey_bonus_paid(conn, &customer, &subject)? {
        let (entry, _) = loyalty::post_survey_bonus(conn, who, &customer, bonus, &property, &subject)?;
        surveys::link_bonus_in_tx(conn, response, &entry.id)?;
    }
    Ok(())
}

fn malformed(ev: &Event) -> ApiError {
    ApiError::internal(format!(
        "event {} ({}) lacks a field its reaction needs",
        ev.id, ev.kind
    ))
}
