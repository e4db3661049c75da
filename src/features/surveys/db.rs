//! Surveys' tables: derived rows and the queries on them (the only writer of `survey_*`). Other
//! features' data comes from their owners (`guests`, `stays`, `tickets`, `staff`).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{SurveySettings, SurveyTemplate, TriggerKind};
use crate::db::schema::{
    survey_aspect_scores as sa, survey_invitations as si, survey_responses as sr, survey_settings,
    survey_template_versions as sv, survey_templates as st,
};
use crate::db::DbConnection;
use crate::features::guests::model::ConsentPurpose;
use crate::platform::error::ApiError;

// ---- templates ------------------------------------------------------------------------------

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = st)]
pub struct TemplateRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub trigger_kind: String,
    pub active: bool,
    pub current_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A template at `version` (default: its current one).
pub fn load_template(conn: &mut DbConnection, id: &str, version: Option<i32>) -> Result<SurveyTemplate, ApiError> {
    let r: TemplateRow = st::table
        .find(id)
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("survey template"))?;
    let v = version.unwrap_or(r.current_version);
    let questions: String = sv::table
        .find((id, v))
        .select(sv::questions)
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("template version"))?;
    Ok(SurveyTemplate {
        id: r.id,
        code: r.code,
        name: r.name,
        trigger: TriggerKind::parse(&r.trigger_kind).unwrap_or(TriggerKind::Manual),
        active: r.active,
        version: v,
        questions: serde_json::from_str(&questions).map_err(ApiError::internal)?,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    })
}

pub fn template_with_code(conn: &mut DbConnection, code: &str) -> Result<Option<String>, ApiError> {
    Ok(st::table
        .filter(st::code.eq(code))
        .select(st::id)
        .first(conn)
        .optional()?)
}

#[derive(Insertable)]
#[diesel(table_name = st)]
pub struct NewTemplateRow<'a> {
    pub id: &'a str,
    pub code: &'a str,
    pub name: &'a str,
    pub trigger_kind: &'a str,
    pub active: bool,
    pub current_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_template(conn: &mut DbConnection, row: &NewTemplateRow) -> Result<(), ApiError> {
    diesel::insert_into(st::table).values(row).execute(conn)?;
    Ok(())
}

pub fn insert_template_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    questions: &str,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(sv::table)
        .values((
            sv::template_id.eq(id),
            sv::version.eq(version),
            sv::questions.eq(questions),
            sv::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_template_row(
    conn: &mut DbConnection,
    id: &str,
    (name, active, version): (&str, bool, i32),
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(st::table.find(id))
        .set((
            st::name.eq(name),
            st::active.eq(active),
            st::current_version.eq(version),
            st::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn template_ids(conn: &mut DbConnection) -> Result<Vec<String>, ApiError> {
    Ok(st::table.select(st::id).order(st::code).limit(500).load(conn)?)
}

/// The active template of an automatic trigger (the oldest active one).
pub fn template_for(conn: &mut DbConnection, trigger: TriggerKind) -> Result<Option<String>, ApiError> {
    Ok(st::table
        .filter(st::trigger_kind.eq(trigger.as_str()))
        .filter(st::active.eq(true))
        .select(st::id)
        .order(st::created_at)
        .first(conn)
        .optional()?)
}

/// (trigger, active) of a template.
pub fn template_trigger(conn: &mut DbConnection, id: &str) -> Result<Option<(String, bool)>, ApiError> {
    Ok(st::table
        .find(id)
        .select((st::trigger_kind, st::active))
        .first(conn)
        .optional()?)
}

pub fn template_version(conn: &mut DbConnection, id: &str) -> Result<i32, ApiError> {
    Ok(st::table.find(id).select(st::current_version).first(conn)?)
}

// ---- settings -------------------------------------------------------------------------------

pub fn settings(conn: &mut DbConnection) -> Result<SurveySettings, ApiError> {
    let rows: Vec<(String, String)> = survey_settings::table
        .select((survey_settings::name, survey_settings::value))
        .load(conn)?;
    let get = |n: &str| rows.iter().find(|r| r.0 == n).map(|r| r.1.clone());
    Ok(SurveySettings {
        post_stay_delay_minutes: get("post_stay_delay_minutes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(120),
        invitation_ttl_days: get("invitation_ttl_days").and_then(|v| v.parse().ok()).unwrap_or(14),
        completion_bonus_points: get("completion_bonus_points").and_then(|v| v.parse().ok()).unwrap_or(0),
        require_consent: get("require_consent").is_some_and(|v| v == "true"),
    })
}

pub fn write_settings(conn: &mut DbConnection, s: &SurveySettings) -> Result<(), ApiError> {
    for (name, value) in [
        ("post_stay_delay_minutes", s.post_stay_delay_minutes.to_string()),
        ("invitation_ttl_days", s.invitation_ttl_days.to_string()),
        ("completion_bonus_points", s.completion_bonus_points.to_string()),
        ("require_consent", s.require_consent.to_string()),
    ] {
        let n = diesel::update(survey_settings::table.find(name))
            .set(survey_settings::value.eq(&value))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(survey_settings::table)
                .values((survey_settings::name.eq(name), survey_settings::value.eq(&value)))
                .execute(conn)?;
        }
    }
    Ok(())
}

// ---- invitations ----------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = si)]
pub struct InvRow {
    pub id: String,
    pub template_id: String,
    pub template_version: i32,
    pub customer_id: String,
    pub property_id: String,
    pub trigger_kind: String,
    pub subject_kind: String,
    pub subject_id: Option<String>,
    pub touchpoint: Option<String>,
    pub state: String,
    pub send_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub answered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = si)]
pub struct NewInvRow<'a> {
    pub id: &'a str,
    pub template_id: &'a str,
    pub template_version: i32,
    pub customer_id: &'a str,
    pub property_id: &'a str,
    pub trigger_kind: &'a str,
    pub subject_kind: &'a str,
    pub subject_id: Option<&'a str>,
    pub touchpoint: Option<&'a str>,
    pub token_hash: &'a str,
    pub state: &'a str,
    pub send_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Inserts an invitation; false when the unique index (one open invitation per subject)
/// refused it.
pub fn insert_invitation(conn: &mut DbConnection, row: &NewInvRow) -> Result<bool, ApiError> {
    crate::db::dialect::insert_or_skip(conn, |conn: &mut DbConnection| {
        diesel::insert_into(si::table).values(row).execute(conn)
    })
}

pub fn invitation(conn: &mut DbConnection, id: &str) -> Result<Option<InvRow>, ApiError> {
    Ok(si::table.find(id).select(InvRow::as_select()).first(conn).optional()?)
}

pub fn invitation_by_token_hash(conn: &mut DbConnection, hash: &str) -> Result<Option<InvRow>, ApiError> {
    Ok(si::table
        .filter(si::token_hash.eq(hash))
        .select(InvRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn invitation_customer(conn: &mut DbConnection, id: &str) -> Result<Option<String>, ApiError> {
    Ok(si::table.find(id).select(si::customer_id).first(conn).optional()?)
}

/// How many invitations a subject ever had.
pub fn invitations_of_subject(conn: &mut DbConnection, kind: &str, id: &str) -> Result<i64, ApiError> {
    Ok(si::table
        .filter(si::subject_kind.eq(kind))
        .filter(si::subject_id.eq(id))
        .count()
        .get_result(conn)?)
}

/// The subject's scheduled or open invitation, if any.
pub fn open_of_subject(conn: &mut DbConnection, kind: &str, id: &str) -> Result<Option<InvRow>, ApiError> {
    Ok(si::table
        .filter(si::subject_kind.eq(kind))
        .filter(si::subject_id.eq(id))
        .filter(si::state.eq_any(["scheduled", "open"]))
        .select(InvRow::as_select())
        .first(conn)
        .optional()?)
}

/// Moves an invitation from one of `from` to `to`; false if it was in none of them.
pub fn move_state(conn: &mut DbConnection, id: &str, from: &[&str], to: &str) -> Result<bool, ApiError> {
    let n = diesel::update(si::table.find(id).filter(si::state.eq_any(from)))
        .set(si::state.eq(to))
        .execute(conn)?;
    Ok(n > 0)
}

/// Claims an open invitation as answered; false if it was answered or expired meanwhile.
pub fn claim_answered(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> Result<bool, ApiError> {
    let n = diesel::update(si::table.find(id).filter(si::state.eq_any(["scheduled", "open"])))
        .set((si::state.eq("answered"), si::answered_at.eq(Some(at))))
        .execute(conn)?;
    Ok(n > 0)
}

pub fn set_token_hash(conn: &mut DbConnection, id: &str, hash: &str) -> Result<(), ApiError> {
    diesel::update(si::table.find(id))
        .set(si::token_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

/// A guest's answerable invitations at `at`, newest first, a page of them.
pub fn open_invitations_of(
    conn: &mut DbConnection,
    customer_id: &str,
    at: NaiveDateTime,
    (limit, after): (i64, Option<&String>),
) -> Result<Vec<InvRow>, ApiError> {
    let mut q = si::table
        .filter(si::customer_id.eq(customer_id))
        .filter(si::state.eq_any(["scheduled", "open"]))
        .filter(si::send_at.le(at))
        .filter(si::expires_at.gt(at))
        .select(InvRow::as_select())
        .order(si::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(si::id.lt(a.clone()));
    }
    Ok(q.load(conn)?)
}

/// Filters of the staff list of invitations (`None` = any).
pub struct InvitationQuery<'a> {
    pub scope: Option<Vec<String>>,
    pub property_id: Option<&'a String>,
    pub customer_id: Option<&'a String>,
    pub state: Option<&'a str>,
    pub after: Option<&'a String>,
    pub limit: i64,
}

pub fn list_invitations(conn: &mut DbConnection, f: InvitationQuery) -> Result<Vec<InvRow>, ApiError> {
    let mut q = si::table
        .select(InvRow::as_select())
        .order(si::id.desc())
        .limit(f.limit)
        .into_boxed();
    if let Some(scope) = f.scope {
        q = q.filter(si::property_id.eq_any(scope));
    }
    if let Some(p) = f.property_id {
        q = q.filter(si::property_id.eq(p.clone()));
    }
    if let Some(c) = f.customer_id {
        q = q.filter(si::customer_id.eq(c.clone()));
    }
    if let Some(s) = f.state {
        q = q.filter(si::state.eq(s.to_string()));
    }
    if let Some(a) = f.after {
        q = q.filter(si::id.lt(a.clone()));
    }
    Ok(q.load(conn)?)
}

/// (id, property) of the invitations in `states` due by `column <= as_of`, for the job.
pub fn due_invitations(
    conn: &mut DbConnection,
    states: &[&str],
    expiring: bool,
    as_of: NaiveDateTime,
) -> Result<Vec<(String, String)>, ApiError> {
    let q = si::table
        .filter(si::state.eq_any(states))
        .select((si::id, si::property_id))
        .order(si::id)
        .into_boxed();
    let q = if expiring {
        q.filter(si::expires_at.le(as_of))
    } else {
        q.filter(si::send_at.le(as_of))
    };
    Ok(q.load(conn)?)
}

// ---- responses ------------------------------------------------------------------------------

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sr)]
pub struct RespRow {
    pub id: String,
    pub invitation_id: String,
    pub template_id: String,
    pub template_version: i32,
    pub customer_id: String,
    pub property_id: String,
    pub trigger_kind: String,
    pub subject_kind: String,
    pub subject_id: Option<String>,
    pub touchpoint: Option<String>,
    pub answers: String,
    pub nps: Option<i32>,
    pub csat: Option<i32>,
    pub ces: Option<i32>,
    pub staff_id: Option<String>,
    pub channel: String,
    pub ticket_id: Option<String>,
    pub bonus_entry_id: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = sr)]
pub struct NewRespRow<'a> {
    pub id: &'a str,
    pub invitation_id: &'a str,
    pub template_id: &'a str,
    pub template_version: i32,
    pub customer_id: &'a str,
    pub property_id: &'a str,
    pub trigger_kind: &'a str,
    pub subject_kind: &'a str,
    pub subject_id: Option<&'a str>,
    pub touchpoint: Option<&'a str>,
    pub answers: &'a str,
    pub nps: Option<i32>,
    pub csat: Option<i32>,
    pub ces: Option<i32>,
    pub staff_id: Option<&'a str>,
    pub channel: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert_response(conn: &mut DbConnection, row: &NewRespRow, aspects: &[(&str, i32)]) -> Result<(), ApiError> {
    diesel::insert_into(sr::table).values(row).execute(conn)?;
    for (aspect, score) in aspects {
        diesel::insert_into(sa::table)
            .values((sa::response_id.eq(row.id), sa::aspect.eq(aspect), sa::score.eq(score)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn response(conn: &mut DbConnection, id: &str) -> Result<RespRow, ApiError> {
    Ok(sr::table.find(id).select(RespRow::as_select()).first(conn)?)
}

pub fn set_response_ticket(conn: &mut DbConnection, id: &str, ticket_id: &str) -> Result<(), ApiError> {
    diesel::update(sr::table.find(id))
        .set(sr::ticket_id.eq(Some(ticket_id)))
        .execute(conn)?;
    Ok(())
}

pub fn set_response_bonus(conn: &mut DbConnection, id: &str, entry_id: &str) -> Result<(), ApiError> {
    diesel::update(sr::table.find(id))
        .set(sr::bonus_entry_id.eq(Some(entry_id)))
        .execute(conn)?;
    Ok(())
}

/// Filters of the list of responses and of the score report (`None` = any).
#[derive(Default)]
pub struct ResponseQuery<'a> {
    pub scope: Option<Vec<String>>,
    pub property_id: Option<&'a String>,
    pub template_id: Option<&'a String>,
    pub max_nps: Option<i32>,
    pub trigger: Option<&'a str>,
    pub touchpoint: Option<&'a String>,
    pub staff_id: Option<&'a String>,
    /// `[from, until)` of `created_at`.
    pub period: Option<(NaiveDateTime, NaiveDateTime)>,
}

fn responses_where<'a>(f: &ResponseQuery) -> sr::BoxedQuery<'a, crate::db::MultiBackend> {
    let mut q = sr::table.into_boxed();
    if let Some((start, end)) = f.period {
        q = q.filter(sr::created_at.ge(start)).filter(sr::created_at.lt(end));
    }
    if let Some(scope) = &f.scope {
        q = q.filter(sr::property_id.eq_any(scope.clone()));
    }
    if let Some(p) = f.property_id {
        q = q.filter(sr::property_id.eq(p.clone()));
    }
    if let Some(t) = f.template_id {
        q = q.filter(sr::template_id.eq(t.clone()));
    }
    if let Some(m) = f.max_nps {
        q = q.filter(sr::nps.le(m));
    }
    if let Some(v) = f.trigger {
        q = q.filter(sr::trigger_kind.eq(v.to_string()));
    }
    if let Some(v) = f.touchpoint {
        q = q.filter(sr::touchpoint.eq(v.clone()));
    }
    if let Some(v) = f.staff_id {
        q = q.filter(sr::staff_id.eq(v.clone()));
    }
    q
}

pub fn list_responses(
    conn: &mut DbConnection,
    f: &ResponseQuery,
    (limit, after): (i64, Option<&String>),
) -> Result<Vec<RespRow>, ApiError> {
    let mut q = responses_where(f)
        .select(RespRow::as_select())
        .order(sr::id.desc())
        .limit(limit);
    if let Some(a) = after {
        q = q.filter(sr::id.lt(a.clone()));
    }
    Ok(q.load(conn)?)
}

/// (answered at, nps, csat, ces) and the aspect (sum, count) of the matching responses.
#[allow(clippy::type_complexity)]
pub fn score_rows(
    conn: &mut DbConnection,
    f: &ResponseQuery,
) -> Result<(Vec<super::rules::ScoreRow>, BTreeMap<String, (i64, i64)>), ApiError> {
    let rows = responses_where(f)
        .select((sr::created_at, sr::nps, sr::csat, sr::ces))
        .load(conn)?;
    let ids: Vec<String> = responses_where(f).select(sr::id).load(conn)?;
    let mut aspects: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for chunk in ids.chunks(5000) {
        let got: Vec<(String, i32)> = sa::table
            .filter(sa::response_id.eq_any(chunk))
            .select((sa::aspect, sa::score))
            .load(conn)?;
        for (a, s) in got {
            let e = aspects.entry(a).or_default();
            e.0 += s as i64;
            e.1 += 1;
        }
    }
    Ok((rows, aspects))
}

/// (id, property) of scheduled invitations whose guest withdrew the `surveys` consent.
pub fn scheduled_of_withdrawn(conn: &mut DbConnection) -> Result<Vec<(String, String)>, ApiError> {
    let withdrawn = crate::features::guests::withdrawn(ConsentPurpose::Surveys);
    Ok(si::table
        .filter(si::state.eq("scheduled"))
        .filter(si::customer_id.eq_any(withdrawn))
        .select((si::id, si::property_id))
        .order(si::id)
        .load(conn)?)
}
