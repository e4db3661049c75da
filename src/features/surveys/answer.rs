//! Answering an invitation: from the app (customer JWT) or a single-use link, once; the
//! `survey.response_received` event carries what service recovery and the bonus need.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::db::{self, NewRespRow};
use super::links::{answerable, by_token};
use super::model::{Answers, LinkAnswers, SurveyResponse};
use super::responses::load_response;
use super::rules::{is_detractor, validate};
use crate::auth::{Actor, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::{write_tx, DbConnection};
use crate::platform::error::ApiError;
use crate::platform::ids::{new_id, now};

/// Records an answer to an open invitation, once; a detractor opens a feedback ticket and the
/// completion bonus (if any) posts once.
fn record(
    conn: &mut DbConnection,
    who: &Principal,
    inv_id: &str,
    answers: BTreeMap<String, Value>,
    staff_id: Option<String>,
    channel: &str,
) -> Result<String, ApiError> {
    // Claim the invitation first: a concurrent second answer finds it answered.
    let at = now();
    let r = db::invitation(conn, inv_id)?.ok_or_else(|| ApiError::not_found("invitation"))?;
    answerable(&r)?;
    let t = db::load_template(conn, &r.template_id, Some(r.template_version))?;
    let (nps, csat, ces, aspects) = validate(&t.questions, &answers)?;
    if let Some(s) = &staff_id {
        if !crate::features::staff::staff_exists(conn, s)? {
            return Err(ApiError::field("staff_id", "unknown staff member"));
        }
    }
    if !db::claim_answered(conn, inv_id, at)? {
        return Err(ApiError::Conflict {
            detail: "this survey has already been answered".into(),
            existing_id: None,
        });
    }
    let id = new_id();
    let answers_json = serde_json::to_string(&answers).map_err(ApiError::internal)?;
    let row = NewRespRow {
        id: &id,
        invitation_id: inv_id,
        template_id: &r.template_id,
        template_version: r.template_version,
        customer_id: &r.customer_id,
        property_id: &r.property_id,
        trigger_kind: &r.trigger_kind,
        subject_kind: &r.subject_kind,
        subject_id: r.subject_id.as_deref(),
        touchpoint: r.touchpoint.as_deref(),
        answers: &answers_json,
        nps,
        csat,
        ces,
        staff_id: staff_id.as_deref(),
        channel,
        created_at: at,
    };
    let aspects: Vec<(&str, i32)> = aspects.iter().map(|(a, s)| (a.as_str(), *s)).collect();
    db::insert_response(conn, &row, &aspects)?;
    // Service recovery (a detractor's feedback ticket) and the completion bonus follow the
    // event (`app::reactions`).
    let data = json!({
        "invitation_id": inv_id, "customer_id": r.customer_id, "template_id": r.template_id,
        "template_version": r.template_version, "trigger": r.trigger_kind, "subject_kind": r.subject_kind,
        "subject_id": r.subject_id, "channel": channel,
        "nps": nps, "csat": csat, "ces": ces, "detractor": is_detractor(nps, csat),
    });
    let ev = NewEvent::new("survey.response_received", "survey_response", &id).property(r.property_id.as_str());
    outbox::emit_in_tx(conn, who, ev.data(data))?;
    Ok(id)
}

/// Links a response to the feedback ticket its answer opened.
pub(crate) fn link_ticket_in_tx(conn: &mut DbConnection, response_id: &str, ticket_id: &str) -> Result<(), ApiError> {
    db::set_response_ticket(conn, response_id, ticket_id)
}

/// Links a response to the bonus entry it earned.
pub(crate) fn link_bonus_in_tx(conn: &mut DbConnection, response_id: &str, entry_id: &str) -> Result<(), ApiError> {
    db::set_response_bonus(conn, response_id, entry_id)
}

pub fn answer_mine(
    conn: &mut DbConnection,
    who: &Principal,
    inv_id: &str,
    input: Answers,
) -> Result<SurveyResponse, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    write_tx(conn, |conn| {
        let owner = db::invitation_customer(conn, inv_id)?;
        if owner.as_deref() != Some(customer_id.as_str()) {
            return Err(ApiError::not_found("invitation"));
        }
        let id = record(conn, who, inv_id, input.answers, input.staff_id, "app")?;
        load_response(conn, who, &id)
    })
}

/// The guest a link speaks for.
fn link_guest(customer_id: &str) -> Principal {
    Principal {
        actor: Actor::Customer {
            customer_id: customer_id.to_string(),
        },
        ..Principal::system("survey-link")
    }
}

/// Answers invitation `id` with its link token (the token must be this invitation's: 404
/// otherwise, as for an unknown one).
pub fn answer_with_token(conn: &mut DbConnection, id: &str, token: &str, input: Answers) -> Result<String, ApiError> {
    write_tx(conn, |conn| {
        let r = by_token(conn, token)?;
        if r.id != id {
            return Err(ApiError::not_found("invitation (unknown link)"));
        }
        record(
            conn,
            &link_guest(&r.customer_id),
            &r.id,
            input.answers,
            input.staff_id,
            "link",
        )
    })
}

/// Answers through the link: the token names the invitation; it works once.
pub fn answer_link(conn: &mut DbConnection, input: LinkAnswers) -> Result<String, ApiError> {
    write_tx(conn, |conn| {
        let r = by_token(conn, &input.token)?;
        record(
            conn,
            &link_guest(&r.customer_id),
            &r.id,
            input.answers,
            input.staff_id,
            "link",
        )
    })
}
