//! Reading responses: personal data by role; unmasked staff reads are audited.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::db::{self, RespRow, ResponseQuery};
use super::model::{
    Question, QuestionType, ResponseFilter, SubjectKind, SurveyResponse, SurveyResponsePage, TriggerKind,
};
use crate::auth::{Actor, Perm, Principal};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::mask_email;
use crate::platform::page::{self as pagination, Order, PageParams};

fn render_resp(r: RespRow, email: Option<String>, who: &Principal, questions: Option<&[Question]>) -> SurveyResponse {
    use crate::auth::PersonalView::*;
    let view = who.personal_view();
    let mut answers: Value = serde_json::from_str(&r.answers).unwrap_or(Value::Null);
    if view == Hidden {
        // Analysts: scores and choices only, no free text.
        if let (Some(obj), Some(qs)) = (answers.as_object_mut(), questions) {
            for q in qs.iter().filter(|q| q.kind == QuestionType::Text) {
                obj.remove(&q.id);
            }
        }
    }
    let hidden = view == Hidden;
    SurveyResponse {
        id: r.id,
        invitation_id: if hidden { String::new() } else { r.invitation_id },
        template_id: r.template_id,
        template_version: r.template_version,
        customer_id: (view != Hidden).then_some(r.customer_id),
        customer_email: match view {
            Hidden => None,
            Masked => email.map(|e| mask_email(&e)),
            _ => email,
        },
        property_id: r.property_id,
        trigger: TriggerKind::parse(&r.trigger_kind).unwrap_or(TriggerKind::Manual),
        subject_kind: SubjectKind::parse(&r.subject_kind).unwrap_or(SubjectKind::None),
        subject_id: if hidden { None } else { r.subject_id },
        touchpoint: r.touchpoint,
        answers,
        nps: r.nps,
        csat: r.csat,
        ces: r.ces,
        staff_id: if hidden { None } else { r.staff_id },
        channel: r.channel,
        ticket_id: r.ticket_id,
        bonus_entry_id: r.bonus_entry_id,
        created_at: r.created_at.and_utc(),
    }
}

pub(crate) fn load_response(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<SurveyResponse, ApiError> {
    let r = db::response(conn, id)?;
    let email = crate::features::guests::customer_emails(conn, std::slice::from_ref(&r.customer_id))?
        .remove(&r.customer_id)
        .flatten();
    let t = db::load_template(conn, &r.template_id, Some(r.template_version))?;
    Ok(render_resp(r, email, who, Some(&t.questions)))
}

/// Responses at the caller's properties, newest first; personal data by role.
pub fn list_responses(
    conn: &mut DbConnection,
    who: &Principal,
    f: &ResponseFilter,
    page: &PageParams,
) -> Result<SurveyResponsePage, ApiError> {
    who.require(Perm::SurveyResponsesRead)?;
    let cur = page.resolve(Order::Desc)?;
    // Unmasked staff reads are audited (SPEC §9): those run as a write transaction.
    let audited = who.personal_view() == crate::auth::PersonalView::Full && matches!(who.actor, Actor::Staff(_));
    let run = |conn: &mut DbConnection| {
        let q = ResponseQuery {
            scope: who.property_scope().map(|s| s.to_vec()),
            property_id: f.property_id.as_ref(),
            template_id: f.template_id.as_ref(),
            max_nps: f.max_nps,
            ..ResponseQuery::default()
        };
        let rows = db::list_responses(conn, &q, (cur.limit + 1, cur.after.as_ref()))?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        // One query for the e-mails, one per template version (few), no N+1 per response.
        let ids: Vec<String> = rows.iter().map(|r| r.customer_id.clone()).collect();
        let emails = crate::features::guests::customer_emails(conn, &ids)?;
        let mut templates: BTreeMap<(String, i32), Vec<Question>> = BTreeMap::new();
        for r in &rows {
            let k = (r.template_id.clone(), r.template_version);
            if let std::collections::btree_map::Entry::Vacant(e) = templates.entry(k) {
                e.insert(db::load_template(conn, &r.template_id, Some(r.template_version))?.questions);
            }
        }
        if audited && !rows.is_empty() {
            audit::record(
                conn,
                who,
                "survey.responses_read",
                "survey_response",
                None,
                json!({"responses": rows.len(), "customers": ids.len()}),
            )?;
        }
        let data = rows
            .into_iter()
            .map(|r| {
                let email = emails.get(&r.customer_id).cloned().flatten();
                let qs = templates.get(&(r.template_id.clone(), r.template_version)).cloned();
                render_resp(r, email, who, qs.as_deref())
            })
            .collect();
        Ok(SurveyResponsePage { data, next_cursor })
    };
    if audited {
        write_tx(conn, run)
    } else {
        read_tx(conn, run)
    }
}
