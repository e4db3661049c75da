//! Single-use answer links: issuing one (staff) and what a link asks (no login).

use serde_json::json;

use super::db::{self, InvRow};
use super::invitations::{render_inv, to_answer, visible_in_tx};
use super::model::{Invitation, InvitationState, InvitationToAnswer};
use super::rules::effective_state;
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::platform::crypto::sha256_hex;
use crate::platform::error::ApiError;
use crate::platform::ids::now;

/// A fresh single-use link token for an open or scheduled invitation (shown once; any earlier
/// link stops working). Tokens are stored only as hashes.
pub fn new_link(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Invitation, ApiError> {
    // A link is a credential to answer as the guest: never issued to agents.
    who.require(Perm::SurveyLinksIssue)?;
    write_tx(conn, |conn| {
        let r = visible_in_tx(conn, who, id)?;
        let state = effective_state(&r.state, r.send_at, r.expires_at, now());
        if matches!(state, InvitationState::Answered | InvitationState::Expired) {
            return Err(ApiError::Conflict {
                detail: "the invitation is answered or expired".into(),
                existing_id: None,
            });
        }
        let token = crate::auth::random_hex(24);
        db::set_token_hash(conn, id, &sha256_hex(&token))?;
        audit::record(
            conn,
            who,
            "survey.link_issued",
            "customer",
            Some(&r.customer_id),
            json!({"invitation_id": id}),
        )?;
        let data = json!({"invitation_id": id, "state": state.as_str()});
        let ev = NewEvent::new("survey.link_issued", "survey_invitation", id).property(r.property_id.as_str());
        outbox::emit_in_tx(conn, who, ev.data(data))?;
        Ok(render_inv(r, Some(token)))
    })
}

/// What a link (token) asks, without login.
pub fn link_questions(conn: &mut DbConnection, token: &str) -> Result<InvitationToAnswer, ApiError> {
    read_tx(conn, |conn| {
        let r = by_token(conn, token)?;
        answerable(&r)?;
        let t = db::load_template(conn, &r.template_id, Some(r.template_version))?;
        Ok(to_answer(&r, &t))
    })
}

pub(crate) fn by_token(conn: &mut DbConnection, token: &str) -> Result<InvRow, ApiError> {
    db::invitation_by_token_hash(conn, &sha256_hex(token.trim()))?
        .ok_or_else(|| ApiError::not_found("invitation (unknown link)"))
}

pub(crate) fn answerable(r: &InvRow) -> Result<(), ApiError> {
    match effective_state(&r.state, r.send_at, r.expires_at, now()) {
        InvitationState::Open => Ok(()),
        InvitationState::Scheduled => Err(ApiError::Conflict {
            detail: "this survey is not open yet".into(),
            existing_id: None,
        }),
        InvitationState::Answered => Err(ApiError::Conflict {
            detail: "this survey has already been answered".into(),
            existing_id: None,
        }),
        InvitationState::Expired => Err(ApiError::Conflict {
            detail: "this survey invitation has expired".into(),
            existing_id: None,
        }),
    }
}
