//! Reading invitations: one, the staff list, the guest's own with their questions.

use std::collections::BTreeMap;

use super::db::{self, InvRow, InvitationQuery};
use super::model::{
    Invitation, InvitationFilter, InvitationPage, InvitationToAnswer, InvitationToAnswerPage, SubjectKind,
    SurveyTemplate, TriggerKind,
};
use super::rules::effective_state;
use crate::auth::{Perm, Principal};
use crate::db::{read_tx, DbConnection};
use crate::platform::error::ApiError;
use crate::platform::ids::now;
use crate::platform::page::{self as pagination, Order, PageParams};

pub(crate) fn render_inv(r: InvRow, token: Option<String>) -> Invitation {
    Invitation {
        state: effective_state(&r.state, r.send_at, r.expires_at, now()),
        id: r.id,
        template_id: r.template_id,
        template_version: r.template_version,
        customer_id: r.customer_id,
        property_id: r.property_id,
        trigger: TriggerKind::parse(&r.trigger_kind).unwrap_or(TriggerKind::Manual),
        subject_kind: SubjectKind::parse(&r.subject_kind).unwrap_or(SubjectKind::None),
        subject_id: r.subject_id,
        touchpoint: r.touchpoint,
        send_at: r.send_at.and_utc(),
        expires_at: r.expires_at.and_utc(),
        answered_at: r.answered_at.map(|d| d.and_utc()),
        token,
        created_at: r.created_at.and_utc(),
    }
}

/// What an invitation asks, with its template version's title and questions.
pub(crate) fn to_answer(r: &InvRow, t: &SurveyTemplate) -> InvitationToAnswer {
    InvitationToAnswer {
        invitation_id: r.id.clone(),
        property_id: r.property_id.clone(),
        subject_kind: SubjectKind::parse(&r.subject_kind).unwrap_or(SubjectKind::None),
        subject_id: r.subject_id.clone(),
        title: t.name.clone(),
        template_version: r.template_version,
        questions: t.questions.clone(),
        expires_at: r.expires_at.and_utc(),
    }
}

/// An invitation at one of the caller's properties (404 otherwise).
pub(crate) fn visible_in_tx(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<InvRow, ApiError> {
    db::invitation(conn, id)?
        .filter(|r| who.can_access_property(&r.property_id))
        .ok_or_else(|| ApiError::not_found("invitation"))
}

pub fn get_invitation(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Invitation, ApiError> {
    who.require(Perm::SurveyResponsesRead)?;
    read_tx(conn, |conn| Ok(render_inv(visible_in_tx(conn, who, id)?, None)))
}

/// The guest's open invitations with their questions, newest first.
pub fn my_invitations(
    conn: &mut DbConnection,
    who: &Principal,
    page: &PageParams,
) -> Result<InvitationToAnswerPage, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let rows = db::open_invitations_of(conn, &customer_id, now(), (cur.limit + 1, cur.after.as_ref()))?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        // One template read per distinct version on the page, not per invitation.
        let mut cache: BTreeMap<(String, i32), SurveyTemplate> = BTreeMap::new();
        let mut data = Vec::with_capacity(rows.len());
        for r in &rows {
            let k = (r.template_id.clone(), r.template_version);
            if !cache.contains_key(&k) {
                cache.insert(
                    k.clone(),
                    db::load_template(conn, &r.template_id, Some(r.template_version))?,
                );
            }
            data.push(to_answer(r, &cache[&k]));
        }
        Ok(InvitationToAnswerPage { data, next_cursor })
    })
}

/// Invitations at the caller's properties, newest first (stored state; `scheduled` ones past
/// their send time show as `open`).
pub fn list_invitations(
    conn: &mut DbConnection,
    who: &Principal,
    f: &InvitationFilter,
    page: &PageParams,
) -> Result<InvitationPage, ApiError> {
    who.require(Perm::SurveyResponsesRead)?;
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let q = InvitationQuery {
            scope: who.property_scope().map(|s| s.to_vec()),
            property_id: f.property_id.as_ref(),
            customer_id: f.customer_id.as_ref(),
            state: f.state.map(|s| s.as_str()),
            after: cur.after.as_ref(),
            limit: cur.limit + 1,
        };
        let rows = db::list_invitations(conn, q)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        Ok(InvitationPage {
            data: rows.into_iter().map(|r| render_inv(r, None)).collect(),
            next_cursor,
        })
    })
}
