//! Surveys (SPEC §5): versioned templates; invitations per guest and subject (a stay, a ticket)
//! issued on check-out, ticket close, touchpoints or by hand, respecting consent; answers from
//! the app (customer JWT) or a single-use link token; scores; and service recovery (a detractor
//! opens a `feedback` ticket; an optional completion bonus posts to the ledger once).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::auth::scope::report_period;
use crate::auth::{Actor, Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{
    customer_consents, customers, stays, survey_aspect_scores as sa, survey_invitations as si, survey_responses as sr,
    survey_settings, survey_template_versions as sv, survey_templates as st,
};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::platform::crypto::sha256_hex;
use crate::platform::error::ApiError;
use crate::platform::fields::{mask_email, Checks};
use crate::platform::ids::{new_id, now};
use crate::platform::page::{self as pagination, Order, Page, PageItem, PageParams};

string_enum!(
    /// What issues a template's invitations.
    TriggerKind { PostStay => "post_stay", PostTicket => "post_ticket", Touchpoint => "touchpoint", Manual => "manual" }
);
string_enum!(
    /// `nps` 0–10, `csat` 1–5, `ces` 1–7, `rating` 1–5 for an aspect, `single_choice`, `text`.
    QuestionType { Nps => "nps", Csat => "csat", Ces => "ces", Rating => "rating", SingleChoice => "single_choice", Text => "text" }
);
string_enum!(Aspect { Reservation => "reservation", FrontDesk => "front_desk", Room => "room", Dining => "dining", Facilities => "facilities", Overall => "overall" });
string_enum!(
    /// `scheduled` until its send time, then `open` until answered or expired.
    InvitationState { Scheduled => "scheduled", Open => "open", Answered => "answered", Expired => "expired" }
);
string_enum!(SubjectKind { Stay => "stay", Ticket => "ticket", None => "none" });

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Unique in the template: a-z, 0-9, `_`.
    #[schema(example = "nps")]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    #[schema(example = "How likely are you to recommend us to a friend?")]
    pub text: String,
    /// Default true.
    #[serde(default = "yes")]
    pub required: bool,
    /// Required for `rating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect: Option<Aspect>,
    /// Required for `single_choice` (2–20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyTemplate {
    pub id: String,
    pub code: String,
    pub name: String,
    pub trigger: TriggerKind,
    pub active: bool,
    pub version: i32,
    pub questions: Vec<Question>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateCreate {
    #[schema(example = "POST_STAY_2026")]
    pub code: String,
    #[schema(example = "After your stay")]
    pub name: String,
    pub trigger: TriggerKind,
    pub questions: Vec<Question>,
    /// Default true. One active template per automatic trigger is used (the oldest).
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateUpdate {
    pub name: Option<String>,
    pub active: Option<bool>,
    /// New questions make a new version; answers keep the version they answered.
    pub questions: Option<Vec<Question>>,
}

fn check_questions(c: &mut Checks, qs: &[Question]) {
    if qs.is_empty() || qs.len() > 30 {
        c.fail("questions", "must have 1 to 30 questions");
        return;
    }
    let mut ids = HashSet::new();
    let mut scored = HashSet::new();
    let mut rated = HashSet::new();
    for (i, q) in qs.iter().enumerate() {
        let f = format!("questions[{i}]");
        if !(1..=40).contains(&q.id.len())
            || !q
                .id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        {
            c.fail(format!("{f}.id"), "must be 1 to 40 characters of a-z, 0-9 and '_'");
        } else if !ids.insert(q.id.clone()) {
            c.fail(format!("{f}.id"), "is used twice");
        }
        c.text(&format!("{f}.text"), &q.text, 1, 500);
        match q.kind {
            QuestionType::Nps | QuestionType::Csat | QuestionType::Ces if !scored.insert(q.kind) => {
                c.fail(format!("{f}.type"), "at most one question of this type per template")
            }
            QuestionType::Rating => match q.aspect {
                None => c.fail(format!("{f}.aspect"), "is required for a rating"),
                Some(a) if !rated.insert(a) => c.fail(format!("{f}.aspect"), "at most one rating per aspect"),
                Some(_) => {}
            },
            QuestionType::SingleChoice => match &q.options {
                Some(o) if (2..=20).contains(&o.len()) && o.iter().all(|x| !x.trim().is_empty() && x.len() <= 200) => {}
                _ => c.fail(format!("{f}.options"), "must list 2 to 20 non-empty options"),
            },
            _ => {}
        }
        if q.kind != QuestionType::Rating && q.aspect.is_some() {
            c.fail(format!("{f}.aspect"), "only for ratings");
        }
        if q.kind != QuestionType::SingleChoice && q.options.is_some() {
            c.fail(format!("{f}.options"), "only for single_choice");
        }
    }
}

type TemplateRow = (String, String, String, String, bool, i32, NaiveDateTime, NaiveDateTime);

fn load_template(conn: &mut DbConnection, id: &str, version: Option<i32>) -> Result<SurveyTemplate, ApiError> {
    let r: TemplateRow = st::table
        .find(id)
        .select((
            st::id,
            st::code,
            st::name,
            st::trigger_kind,
            st::active,
            st::current_version,
            st::created_at,
            st::updated_at,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("survey template"))?;
    let v = version.unwrap_or(r.5);
    let questions: String = sv::table
        .find((id, v))
        .select(sv::questions)
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("template version"))?;
    Ok(SurveyTemplate {
        id: r.0,
        code: r.1,
        name: r.2,
        trigger: TriggerKind::parse(&r.3).unwrap_or(TriggerKind::Manual),
        active: r.4,
        version: v,
        questions: serde_json::from_str(&questions).map_err(ApiError::internal)?,
        created_at: r.6.and_utc(),
        updated_at: r.7.and_utc(),
    })
}

pub fn create_template(
    conn: &mut DbConnection,
    who: &Principal,
    input: TemplateCreate,
) -> Result<SurveyTemplate, ApiError> {
    who.require(Perm::SurveysManage)?;
    let mut c = Checks::new();
    let code = c.code("code", &input.code);
    let name = c.text("name", &input.name, 1, 200);
    check_questions(&mut c, &input.questions);
    c.finish()?;
    write_tx(conn, |conn| {
        let existing: Option<String> = st::table
            .filter(st::code.eq(&code))
            .select(st::id)
            .first(conn)
            .optional()?;
        if let Some(existing_id) = existing {
            return Err(ApiError::Conflict {
                detail: format!("a template with code {code} exists"),
                existing_id: Some(existing_id),
            });
        }
        let id = new_id();
        let ts = now();
        diesel::insert_into(st::table)
            .values((
                st::id.eq(&id),
                st::code.eq(&code),
                st::name.eq(&name),
                st::trigger_kind.eq(input.trigger.as_str()),
                st::active.eq(input.active.unwrap_or(true)),
                st::current_version.eq(1),
                st::created_at.eq(ts),
                st::updated_at.eq(ts),
            ))
            .execute(conn)?;
        diesel::insert_into(sv::table)
            .values((
                sv::template_id.eq(&id),
                sv::version.eq(1),
                sv::questions.eq(serde_json::to_string(&input.questions).map_err(ApiError::internal)?),
                sv::created_at.eq(ts),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "survey.template_created",
            "survey_template",
            Some(&id),
            json!({"code": code}),
        )?;
        load_template(conn, &id, None)
    })
}

pub fn update_template(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: TemplateUpdate,
) -> Result<SurveyTemplate, ApiError> {
    who.require(Perm::SurveysManage)?;
    let mut c = Checks::new();
    let name = input.name.as_deref().map(|n| c.text("name", n, 1, 200));
    if let Some(q) = &input.questions {
        check_questions(&mut c, q);
    }
    c.finish()?;
    write_tx(conn, |conn| {
        let cur = load_template(conn, id, None)?;
        let ts = now();
        let mut version = cur.version;
        if let Some(q) = &input.questions {
            if *q != cur.questions {
                version += 1;
                diesel::insert_into(sv::table)
                    .values((
                        sv::template_id.eq(id),
                        sv::version.eq(version),
                        sv::questions.eq(serde_json::to_string(q).map_err(ApiError::internal)?),
                        sv::created_at.eq(ts),
                    ))
                    .execute(conn)?;
            }
        }
        diesel::update(st::table.find(id))
            .set((
                st::name.eq(name.unwrap_or(cur.name)),
                st::active.eq(input.active.unwrap_or(cur.active)),
                st::current_version.eq(version),
                st::updated_at.eq(ts),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "survey.template_updated",
            "survey_template",
            Some(id),
            json!({"version": version}),
        )?;
        load_template(conn, id, None)
    })
}

pub fn get_template(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    version: Option<i32>,
) -> Result<SurveyTemplate, ApiError> {
    who.require(Perm::SurveysRead)?;
    read_tx(conn, |conn| load_template(conn, id, version))
}

pub fn list_templates(conn: &mut DbConnection, who: &Principal) -> Result<Vec<SurveyTemplate>, ApiError> {
    who.require(Perm::SurveysRead)?;
    read_tx(conn, |conn| {
        let ids: Vec<String> = st::table.select(st::id).order(st::code).limit(500).load(conn)?;
        ids.iter().map(|id| load_template(conn, id, None)).collect()
    })
}

// ---- settings -------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SurveySettings {
    /// Post-stay invitations are sent this long after check-out (0–10,080).
    #[schema(minimum = 0, maximum = 10_080)]
    pub post_stay_delay_minutes: i64,
    /// Invitations expire this many days after they are sent (1–90).
    #[schema(minimum = 1, maximum = 90)]
    pub invitation_ttl_days: i64,
    /// Points for completing a survey (0 = none; at most 10,000).
    #[schema(minimum = 0, maximum = 10_000)]
    pub completion_bonus_points: i64,
    /// Invite only guests who granted the `surveys` consent (otherwise: all but those who
    /// withdrew it).
    pub require_consent: bool,
}

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

pub fn get_settings(conn: &mut DbConnection, who: &Principal) -> Result<SurveySettings, ApiError> {
    who.require(Perm::SurveysRead)?;
    settings(conn)
}

pub fn set_settings(conn: &mut DbConnection, who: &Principal, s: SurveySettings) -> Result<SurveySettings, ApiError> {
    who.require_group_wide(Perm::SurveysConfigure)?;
    let mut c = Checks::new();
    if !(0..=10_080).contains(&s.post_stay_delay_minutes) {
        c.fail("post_stay_delay_minutes", "must be between 0 and 10,080 (7 days)");
    }
    if !(1..=90).contains(&s.invitation_ttl_days) {
        c.fail("invitation_ttl_days", "must be between 1 and 90");
    }
    if !(0..=10_000).contains(&s.completion_bonus_points) {
        c.fail("completion_bonus_points", "must be between 0 and 10,000");
    }
    c.finish()?;
    write_tx(conn, |conn| {
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
        audit::record(conn, who, "survey.settings_updated", "survey_settings", None, json!(s))?;
        settings(conn)
    })
}

// ---- invitations ----------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub id: String,
    pub template_id: String,
    pub template_version: i32,
    pub customer_id: String,
    pub property_id: String,
    pub trigger: TriggerKind,
    pub subject_kind: SubjectKind,
    pub subject_id: Option<String>,
    pub touchpoint: Option<String>,
    pub state: InvitationState,
    pub send_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The single-use link token, shown once: when the invitation is created by hand or a new
    /// link is issued (`POST /api/v1/survey-invitations/{id}/link`). Stored only as a hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An invitation as the guest sees it: what to answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationToAnswer {
    pub invitation_id: String,
    pub property_id: String,
    pub subject_kind: SubjectKind,
    pub subject_id: Option<String>,
    pub title: String,
    pub template_version: i32,
    pub questions: Vec<Question>,
    pub expires_at: DateTime<Utc>,
}

pub type InvitationToAnswerPage = Page<InvitationToAnswer>;

impl PageItem for InvitationToAnswer {
    const PAGE: &'static str = "InvitationToAnswerPage";
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationCreate {
    pub template_id: String,
    pub customer_id: String,
    pub property_id: String,
    /// `stay` or `ticket` with `subject_id`; default `none`.
    pub subject_kind: Option<SubjectKind>,
    pub subject_id: Option<String>,
    /// e.g. `dining` for a touchpoint survey.
    #[schema(max_length = 40)]
    pub touchpoint: Option<String>,
    /// Default now.
    pub send_at: Option<DateTime<Utc>>,
}

type InvRow = (
    String,
    String,
    i32,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
fn inv_cols() -> (
    si::id,
    si::template_id,
    si::template_version,
    si::customer_id,
    si::property_id,
    si::trigger_kind,
    si::subject_kind,
    si::subject_id,
    si::touchpoint,
    si::state,
    si::send_at,
    si::expires_at,
    si::answered_at,
    si::created_at,
) {
    (
        si::id,
        si::template_id,
        si::template_version,
        si::customer_id,
        si::property_id,
        si::trigger_kind,
        si::subject_kind,
        si::subject_id,
        si::touchpoint,
        si::state,
        si::send_at,
        si::expires_at,
        si::answered_at,
        si::created_at,
    )
}

/// The state as of `at`: scheduled invitations past their send time are open, anything
/// unanswered past its expiry is expired (the job writes the same down later).
fn effective_state(
    stored: &str,
    send_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    at: NaiveDateTime,
) -> InvitationState {
    let s = InvitationState::parse(stored).unwrap_or(InvitationState::Expired);
    match s {
        InvitationState::Answered | InvitationState::Expired => s,
        _ if at >= expires_at => InvitationState::Expired,
        _ if at >= send_at => InvitationState::Open,
        _ => InvitationState::Scheduled,
    }
}

fn render_inv(r: InvRow, token: Option<String>) -> Invitation {
    Invitation {
        state: effective_state(&r.9, r.10, r.11, now()),
        id: r.0,
        template_id: r.1,
        template_version: r.2,
        customer_id: r.3,
        property_id: r.4,
        trigger: TriggerKind::parse(&r.5).unwrap_or(TriggerKind::Manual),
        subject_kind: SubjectKind::parse(&r.6).unwrap_or(SubjectKind::None),
        subject_id: r.7,
        touchpoint: r.8,
        send_at: r.10.and_utc(),
        expires_at: r.11.and_utc(),
        answered_at: r.12.map(|d| d.and_utc()),
        token,
        created_at: r.13.and_utc(),
    }
}

/// Whether the guest may be invited: not if they withdrew the `surveys` consent, nor (when
/// consent is required) if they never gave it.
fn consents(conn: &mut DbConnection, customer_id: &str, require: bool) -> Result<bool, ApiError> {
    let granted: Option<bool> = customer_consents::table
        .find((customer_id, "surveys"))
        .select(customer_consents::granted)
        .first(conn)
        .optional()?;
    Ok(match granted {
        Some(g) => g,
        None => !require,
    })
}

pub struct NewInvitation<'a> {
    pub template_id: &'a str,
    pub customer_id: &'a str,
    pub property_id: &'a str,
    pub trigger: TriggerKind,
    pub subject: (SubjectKind, Option<String>),
    pub touchpoint: Option<String>,
    pub send_at: NaiveDateTime,
}

/// Why an invitation was not issued.
#[derive(Debug, PartialEq)]
pub enum Skipped {
    NoConsent,
    OpenForSubject(String),
    /// Automatic triggers ask about a stay or ticket once, whatever happened to that invitation.
    AlreadySurveyed,
}

/// Issues an invitation in the caller's transaction; `Err(Skipped)` inside `Ok` when the rules
/// say not to (consent, one open invitation per subject).
pub fn issue(conn: &mut DbConnection, n: NewInvitation) -> Result<Result<(String, String), Skipped>, ApiError> {
    let s = settings(conn)?;
    if !consents(conn, n.customer_id, s.require_consent)? {
        return Ok(Err(Skipped::NoConsent));
    }
    let at = now();
    let automatic = matches!(n.trigger, TriggerKind::PostStay | TriggerKind::PostTicket);
    if let (true, Some(sid)) = (automatic, &n.subject.1) {
        let before: i64 = si::table
            .filter(si::subject_kind.eq(n.subject.0.as_str()))
            .filter(si::subject_id.eq(sid))
            .count()
            .get_result(conn)?;
        if before > 0 {
            return Ok(Err(Skipped::AlreadySurveyed));
        }
    }
    if let Some(sid) = &n.subject.1 {
        let open: Option<(String, String, NaiveDateTime, NaiveDateTime)> = si::table
            .filter(si::subject_kind.eq(n.subject.0.as_str()))
            .filter(si::subject_id.eq(sid))
            .filter(si::state.eq_any(["scheduled", "open"]))
            .select((si::id, si::state, si::send_at, si::expires_at))
            .first(conn)
            .optional()?;
        if let Some((id, state, send, exp)) = open {
            if effective_state(&state, send, exp, at) != InvitationState::Expired {
                return Ok(Err(Skipped::OpenForSubject(id)));
            }
            // Expired but not yet swept: retire it so the subject may be asked again.
            diesel::update(si::table.find(&id))
                .set(si::state.eq("expired"))
                .execute(conn)?;
        }
    }
    let version: i32 = st::table.find(n.template_id).select(st::current_version).first(conn)?;
    let Some(expires_at) = n.send_at.checked_add_signed(Duration::days(s.invitation_ttl_days)) else {
        return Err(ApiError::field("send_at", "out of range"));
    };
    let token = crate::auth::random_hex(24);
    let id = new_id();
    let insert = |conn: &mut DbConnection| {
        diesel::insert_into(si::table)
            .values((
                si::id.eq(&id),
                si::template_id.eq(n.template_id),
                si::template_version.eq(version),
                si::customer_id.eq(n.customer_id),
                si::property_id.eq(n.property_id),
                si::trigger_kind.eq(n.trigger.as_str()),
                si::subject_kind.eq(n.subject.0.as_str()),
                si::subject_id.eq(&n.subject.1),
                si::touchpoint.eq(&n.touchpoint),
                si::token_hash.eq(sha256_hex(&token)),
                si::state.eq(if n.send_at <= at { "open" } else { "scheduled" }),
                si::send_at.eq(n.send_at),
                si::expires_at.eq(expires_at),
                si::created_at.eq(at),
            ))
            .execute(conn)
    };
    // A concurrent issuer for the same subject (a PMS retry, a manual invitation) may insert
    // first: the unique index refuses the second, which is then skipped, not an error (the
    // caller's transaction, a check-out, carries on).
    if !crate::db::dialect::insert_or_skip(conn, insert)? {
        return Ok(Err(Skipped::OpenForSubject(String::new())));
    }
    Ok(Ok((id, token)))
}

/// The active template of an automatic trigger (the oldest active one).
fn template_for(conn: &mut DbConnection, trigger: TriggerKind) -> Result<Option<String>, ApiError> {
    Ok(st::table
        .filter(st::trigger_kind.eq(trigger.as_str()))
        .filter(st::active.eq(true))
        .select(st::id)
        .order(st::created_at)
        .first(conn)
        .optional()?)
}

/// Check-out: invite the guest to the post-stay survey after the configured delay.
pub(crate) fn invite_after_stay_in_tx(
    conn: &mut DbConnection,
    stay_id: &str,
    customer_id: &str,
    property_id: &str,
    check_out: chrono::NaiveDate,
) -> Result<(), ApiError> {
    let Some(template) = template_for(conn, TriggerKind::PostStay)? else {
        return Ok(());
    };
    // History imports (stays that ended days ago) are not surveyed.
    if check_out < Utc::now().date_naive() - Duration::days(7) {
        return Ok(());
    }
    let delay = settings(conn)?.post_stay_delay_minutes;
    issue(
        conn,
        NewInvitation {
            template_id: &template,
            customer_id,
            property_id,
            trigger: TriggerKind::PostStay,
            subject: (SubjectKind::Stay, Some(stay_id.to_string())),
            touchpoint: None,
            send_at: now() + Duration::minutes(delay),
        },
    )?
    .ok();
    Ok(())
}

/// A ticket closed: invite its guest to the post-ticket survey at once.
pub(crate) fn invite_after_ticket_in_tx(
    conn: &mut DbConnection,
    ticket_id: &str,
    customer_id: &str,
    property_id: &str,
) -> Result<(), ApiError> {
    let Some(template) = template_for(conn, TriggerKind::PostTicket)? else {
        return Ok(());
    };
    issue(
        conn,
        NewInvitation {
            template_id: &template,
            customer_id,
            property_id,
            trigger: TriggerKind::PostTicket,
            subject: (SubjectKind::Ticket, Some(ticket_id.to_string())),
            touchpoint: None,
            send_at: now(),
        },
    )?
    .ok();
    Ok(())
}

/// Manual and touchpoint invitations (staff, integrations).
pub fn create_invitation(
    conn: &mut DbConnection,
    who: &Principal,
    input: InvitationCreate,
) -> Result<Invitation, ApiError> {
    who.require(Perm::SurveysInvite)?;
    let mut c = Checks::new();
    let touchpoint = c.opt_text("touchpoint", input.touchpoint.as_deref(), 40);
    let kind = input.subject_kind.unwrap_or(SubjectKind::None);
    match (kind, &input.subject_id) {
        (SubjectKind::None, Some(_)) => c.fail("subject_id", "needs subject_kind stay or ticket"),
        (SubjectKind::Stay | SubjectKind::Ticket, None) => c.fail("subject_id", "is required for this subject_kind"),
        _ => {}
    }
    if let Some(at) = input.send_at {
        let now = Utc::now();
        if at < now - Duration::days(1) || at > now + Duration::days(90) {
            c.fail("send_at", "must be between a day ago and 90 days ahead");
        }
    }
    c.finish()?;
    if !who.can_access_property(&input.property_id) {
        return Err(ApiError::field("property_id", "unknown property"));
    }
    write_tx(conn, |conn| {
        crate::features::properties::ensure_exist(conn, std::slice::from_ref(&input.property_id), "property_id")?;
        let n: i64 = customers::table.find(&input.customer_id).count().get_result(conn)?;
        if n == 0 {
            return Err(ApiError::field("customer_id", "unknown guest"));
        }
        let t: Option<(String, bool)> = st::table
            .find(&input.template_id)
            .select((st::trigger_kind, st::active))
            .first(conn)
            .optional()?;
        let Some((trigger, active)) = t else {
            return Err(ApiError::field("template_id", "unknown template"));
        };
        if !active {
            return Err(ApiError::field("template_id", "the template is not active"));
        }
        if let (SubjectKind::Stay, Some(sid)) = (kind, &input.subject_id) {
            let owner: Option<(String, String)> = stays::table
                .find(sid)
                .select((stays::customer_id, stays::property_id))
                .first(conn)
                .optional()?;
            if owner != Some((input.customer_id.clone(), input.property_id.clone())) {
                return Err(ApiError::field(
                    "subject_id",
                    "not a stay of this guest at this property",
                ));
            }
        }
        if let (SubjectKind::Ticket, Some(tid)) = (kind, &input.subject_id) {
            use crate::db::schema::tickets;
            let owner: Option<(Option<String>, String)> = tickets::table
                .find(tid)
                .select((tickets::customer_id, tickets::property_id))
                .first(conn)
                .optional()?;
            if owner != Some((Some(input.customer_id.clone()), input.property_id.clone())) {
                return Err(ApiError::field(
                    "subject_id",
                    "not a ticket of this guest at this property",
                ));
            }
        }
        let trigger = TriggerKind::parse(&trigger).unwrap_or(TriggerKind::Manual);
        let issued = issue(
            conn,
            NewInvitation {
                template_id: &input.template_id,
                customer_id: &input.customer_id,
                property_id: &input.property_id,
                trigger: if trigger == TriggerKind::Touchpoint {
                    TriggerKind::Touchpoint
                } else {
                    TriggerKind::Manual
                },
                subject: (kind, input.subject_id.clone()),
                touchpoint,
                send_at: input.send_at.map(|d| d.naive_utc()).unwrap_or_else(now),
            },
        )?;
        let (id, token) = match issued {
            Ok(v) => v,
            Err(Skipped::NoConsent) => {
                return Err(ApiError::Conflict {
                    detail: "the guest has not consented to surveys".into(),
                    existing_id: None,
                })
            }
            Err(Skipped::OpenForSubject(existing)) => {
                return Err(ApiError::Conflict {
                    detail: "this subject already has an open invitation".into(),
                    existing_id: Some(existing).filter(|e| !e.is_empty()),
                })
            }
            Err(Skipped::AlreadySurveyed) => {
                return Err(ApiError::internal("manual invitations are never skipped as surveyed"))
            }
        };
        audit::record(
            conn,
            who,
            "survey.invitation_created",
            "customer",
            Some(&input.customer_id),
            json!({"invitation_id": id}),
        )?;
        let r: InvRow = si::table.find(&id).select(inv_cols()).first(conn)?;
        Ok(render_inv(r, who.may_mint_survey_links().then_some(token)))
    })
}

pub fn get_invitation(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Invitation, ApiError> {
    who.require(Perm::SurveyResponsesRead)?;
    read_tx(conn, |conn| {
        let r: InvRow = si::table
            .find(id)
            .select(inv_cols())
            .first(conn)
            .optional()?
            .filter(|r: &InvRow| who.can_access_property(&r.4))
            .ok_or_else(|| ApiError::not_found("invitation"))?;
        Ok(render_inv(r, None))
    })
}

/// A fresh single-use link token for an open or scheduled invitation (shown once; any earlier
/// link stops working). Tokens are stored only as hashes.
pub fn new_link(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Invitation, ApiError> {
    who.require(Perm::SurveysInvite)?;
    if !who.may_mint_survey_links() {
        return Err(ApiError::Forbidden(
            "answer links are issued to managers, admins and messaging integrations only".into(),
        ));
    }
    write_tx(conn, |conn| {
        let r: InvRow = si::table
            .find(id)
            .select(inv_cols())
            .first(conn)
            .optional()?
            .filter(|r: &InvRow| who.can_access_property(&r.4))
            .ok_or_else(|| ApiError::not_found("invitation"))?;
        if matches!(
            effective_state(&r.9, r.10, r.11, now()),
            InvitationState::Answered | InvitationState::Expired
        ) {
            return Err(ApiError::Conflict {
                detail: "the invitation is answered or expired".into(),
                existing_id: None,
            });
        }
        let token = crate::auth::random_hex(24);
        diesel::update(si::table.find(id))
            .set(si::token_hash.eq(sha256_hex(&token)))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "survey.link_issued",
            "customer",
            Some(&r.3),
            json!({"invitation_id": id}),
        )?;
        Ok(render_inv(r, Some(token)))
    })
}

fn to_answer(conn: &mut DbConnection, r: &InvRow) -> Result<InvitationToAnswer, ApiError> {
    let t = load_template(conn, &r.1, Some(r.2))?;
    Ok(InvitationToAnswer {
        invitation_id: r.0.clone(),
        property_id: r.4.clone(),
        subject_kind: SubjectKind::parse(&r.6).unwrap_or(SubjectKind::None),
        subject_id: r.7.clone(),
        title: t.name,
        template_version: r.2,
        questions: t.questions,
        expires_at: r.11.and_utc(),
    })
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
        let at = now();
        let mut q = si::table
            .filter(si::customer_id.eq(&customer_id))
            .filter(si::state.eq_any(["scheduled", "open"]))
            .filter(si::send_at.le(at))
            .filter(si::expires_at.gt(at))
            .select(inv_cols())
            .order(si::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(a) = &cur.after {
            q = q.filter(si::id.lt(a.clone()));
        }
        let rows: Vec<InvRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.0);
        Ok(InvitationToAnswerPage {
            // One template read per distinct version on the page, not per invitation.
            data: {
                let mut cache: BTreeMap<(String, i32), SurveyTemplate> = BTreeMap::new();
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let k = (r.1.clone(), r.2);
                    if !cache.contains_key(&k) {
                        cache.insert(k.clone(), load_template(conn, &r.1, Some(r.2))?);
                    }
                    let t = &cache[&k];
                    out.push(InvitationToAnswer {
                        invitation_id: r.0.clone(),
                        property_id: r.4.clone(),
                        subject_kind: SubjectKind::parse(&r.6).unwrap_or(SubjectKind::None),
                        subject_id: r.7.clone(),
                        title: t.name.clone(),
                        template_version: r.2,
                        questions: t.questions.clone(),
                        expires_at: r.11.and_utc(),
                    });
                }
                out
            },
            next_cursor,
        })
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationFilter {
    pub state: Option<InvitationState>,
    pub customer_id: Option<String>,
    pub property_id: Option<String>,
}

pub type InvitationPage = Page<Invitation>;

impl PageItem for Invitation {
    const PAGE: &'static str = "InvitationPage";
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
        let mut q = si::table
            .select(inv_cols())
            .order(si::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(scope) = who.property_scope() {
            q = q.filter(si::property_id.eq_any(scope.to_vec()));
        }
        if let Some(p) = &f.property_id {
            q = q.filter(si::property_id.eq(p.clone()));
        }
        if let Some(c) = &f.customer_id {
            q = q.filter(si::customer_id.eq(c.clone()));
        }
        if let Some(s) = f.state {
            q = q.filter(si::state.eq(s.as_str()));
        }
        if let Some(a) = &cur.after {
            q = q.filter(si::id.lt(a.clone()));
        }
        let rows: Vec<InvRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.0);
        Ok(InvitationPage {
            data: rows.into_iter().map(|r| render_inv(r, None)).collect(),
            next_cursor,
        })
    })
}

/// What a link (token) asks, without login.
pub fn link_questions(conn: &mut DbConnection, token: &str) -> Result<InvitationToAnswer, ApiError> {
    read_tx(conn, |conn| {
        let r = by_token(conn, token)?;
        answerable(&r)?;
        to_answer(conn, &r)
    })
}

fn by_token(conn: &mut DbConnection, token: &str) -> Result<InvRow, ApiError> {
    si::table
        .filter(si::token_hash.eq(sha256_hex(token.trim())))
        .select(inv_cols())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("invitation (unknown link)"))
}

fn answerable(r: &InvRow) -> Result<(), ApiError> {
    match effective_state(&r.9, r.10, r.11, now()) {
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

// ---- answers --------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// Question id → answer: an integer for `nps`/`csat`/`ces`/`rating`, one of the options
    /// for `single_choice`, text (≤ 2,000 characters) for `text`.
    #[schema(value_type = Object, example = json!({"nps": 9, "room": 4, "comment": "Lovely view"}))]
    pub answers: BTreeMap<String, Value>,
    /// The staff member the guest names (e.g. "who looked after you?"), if any.
    pub staff_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkAnswers {
    /// The invitation's single-use token from the link.
    pub token: String,
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, Value>,
    pub staff_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkToken {
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyResponse {
    pub id: String,
    pub invitation_id: String,
    pub template_id: String,
    pub template_version: i32,
    /// Null for analysts.
    pub customer_id: Option<String>,
    /// Managers and admins: whole; agents: masked; analysts: null.
    pub customer_email: Option<String>,
    pub property_id: String,
    pub trigger: TriggerKind,
    pub subject_kind: SubjectKind,
    pub subject_id: Option<String>,
    pub touchpoint: Option<String>,
    /// Free-text answers are left out for analysts.
    #[schema(value_type = Object)]
    pub answers: Value,
    pub nps: Option<i32>,
    pub csat: Option<i32>,
    pub ces: Option<i32>,
    pub staff_id: Option<String>,
    /// `app` or `link`.
    pub channel: String,
    /// The service-recovery ticket a low score opened.
    pub ticket_id: Option<String>,
    pub bonus_entry_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Checks answers against the questions; returns (nps, csat, ces, aspects).
#[allow(clippy::type_complexity)]
fn validate(
    questions: &[Question],
    answers: &BTreeMap<String, Value>,
) -> Result<(Option<i32>, Option<i32>, Option<i32>, Vec<(Aspect, i32)>), ApiError> {
    let mut c = Checks::new();
    let known: HashSet<&str> = questions.iter().map(|q| q.id.as_str()).collect();
    for k in answers.keys() {
        if !known.contains(k.as_str()) {
            c.fail(format!("answers.{k}"), "is not a question of this survey");
        }
    }
    let (mut nps, mut csat, mut ces, mut aspects) = (None, None, None, Vec::new());
    for q in questions {
        let f = format!("answers.{}", q.id);
        let Some(v) = answers.get(&q.id).filter(|v| !v.is_null()) else {
            if q.required {
                c.fail(f, "is required");
            }
            continue;
        };
        let range = match q.kind {
            QuestionType::Nps => Some((0, 10)),
            QuestionType::Csat | QuestionType::Rating => Some((1, 5)),
            QuestionType::Ces => Some((1, 7)),
            _ => None,
        };
        if let Some((lo, hi)) = range {
            match v.as_i64().filter(|n| (lo..=hi).contains(n)) {
                Some(n) => {
                    let n = n as i32;
                    match q.kind {
                        QuestionType::Nps => nps = Some(n),
                        QuestionType::Csat => csat = Some(n),
                        QuestionType::Ces => ces = Some(n),
                        _ => aspects.push((q.aspect.unwrap_or(Aspect::Overall), n)),
                    }
                }
                None => c.fail(f, format!("must be a whole number from {lo} to {hi}")),
            }
            continue;
        }
        match q.kind {
            QuestionType::SingleChoice => {
                let ok = v
                    .as_str()
                    .is_some_and(|s| q.options.as_ref().is_some_and(|o| o.iter().any(|x| x == s)));
                if !ok {
                    c.fail(f, "must be one of the question's options");
                }
            }
            _ => match v.as_str() {
                Some(s) if s.chars().count() <= 2000 => {}
                _ => c.fail(f, "must be text of at most 2,000 characters"),
            },
        }
    }
    c.finish()?;
    Ok((nps, csat, ces, aspects))
}

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
    let r: InvRow = si::table.find(inv_id).select(inv_cols()).first(conn)?;
    answerable(&r)?;
    let t = load_template(conn, &r.1, Some(r.2))?;
    let (nps, csat, ces, aspects) = validate(&t.questions, &answers)?;
    if let Some(s) = &staff_id {
        let n: i64 = crate::db::schema::staff_users::table.find(s).count().get_result(conn)?;
        if n == 0 {
            return Err(ApiError::field("staff_id", "unknown staff member"));
        }
    }
    let claimed = diesel::update(si::table.find(inv_id).filter(si::state.eq_any(["scheduled", "open"])))
        .set((si::state.eq("answered"), si::answered_at.eq(Some(at))))
        .execute(conn)?;
    if claimed == 0 {
        return Err(ApiError::Conflict {
            detail: "this survey has already been answered".into(),
            existing_id: None,
        });
    }
    let id = new_id();
    diesel::insert_into(sr::table)
        .values((
            sr::id.eq(&id),
            sr::invitation_id.eq(inv_id),
            sr::template_id.eq(&r.1),
            sr::template_version.eq(r.2),
            sr::customer_id.eq(&r.3),
            sr::property_id.eq(&r.4),
            sr::trigger_kind.eq(&r.5),
            sr::subject_kind.eq(&r.6),
            sr::subject_id.eq(&r.7),
            sr::touchpoint.eq(&r.8),
            sr::answers.eq(serde_json::to_string(&answers).map_err(ApiError::internal)?),
            sr::nps.eq(nps),
            sr::csat.eq(csat),
            sr::ces.eq(ces),
            sr::staff_id.eq(&staff_id),
            sr::channel.eq(channel),
            sr::created_at.eq(at),
        ))
        .execute(conn)?;
    for (aspect, score) in &aspects {
        diesel::insert_into(sa::table)
            .values((
                sa::response_id.eq(&id),
                sa::aspect.eq(aspect.as_str()),
                sa::score.eq(score),
            ))
            .execute(conn)?;
    }
    // Service recovery (a detractor's feedback ticket) and the completion bonus follow the
    // event (`app::reactions`).
    let data = json!({
        "invitation_id": inv_id, "customer_id": r.3, "template_id": r.1, "template_version": r.2,
        "trigger": r.5, "subject_kind": r.6, "subject_id": r.7, "channel": channel,
        "nps": nps, "csat": csat, "ces": ces, "detractor": is_detractor(nps, csat),
    });
    let ev = NewEvent::new("survey.response_received", "survey_response", &id).property(r.4.as_str());
    outbox::emit_in_tx(conn, who, ev.data(data))?;
    Ok(id)
}

/// A detractor's answer opens a feedback ticket: NPS 0–6 or CSAT 1–2 (SPEC §5).
pub fn is_detractor(nps: Option<i32>, csat: Option<i32>) -> bool {
    nps.is_some_and(|n| n <= 6) || csat.is_some_and(|c| c <= 2)
}

/// The subject line of a detractor's feedback ticket.
pub fn feedback_subject(nps: Option<i64>, csat: Option<i64>) -> String {
    match (nps, csat) {
        (Some(n), _) if n <= 6 => format!("Low survey score (NPS {n})"),
        (_, Some(c)) => format!("Low survey score (CSAT {c})"),
        _ => "Low survey score".into(),
    }
}

/// The completion bonus in points (0 = none).
pub fn completion_bonus_in_tx(conn: &mut DbConnection) -> Result<i64, ApiError> {
    Ok(settings(conn)?.completion_bonus_points)
}

/// Links a response to the feedback ticket its answer opened.
pub(crate) fn link_ticket_in_tx(conn: &mut DbConnection, response_id: &str, ticket_id: &str) -> Result<(), ApiError> {
    diesel::update(sr::table.find(response_id))
        .set(sr::ticket_id.eq(Some(ticket_id)))
        .execute(conn)?;
    Ok(())
}

/// Links a response to the bonus entry it earned.
pub(crate) fn link_bonus_in_tx(conn: &mut DbConnection, response_id: &str, entry_id: &str) -> Result<(), ApiError> {
    diesel::update(sr::table.find(response_id))
        .set(sr::bonus_entry_id.eq(Some(entry_id)))
        .execute(conn)?;
    Ok(())
}

pub fn answer_mine(
    conn: &mut DbConnection,
    who: &Principal,
    inv_id: &str,
    input: Answers,
) -> Result<SurveyResponse, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    write_tx(conn, |conn| {
        let owner: Option<String> = si::table.find(inv_id).select(si::customer_id).first(conn).optional()?;
        if owner.as_deref() != Some(customer_id.as_str()) {
            return Err(ApiError::not_found("invitation"));
        }
        let id = record(conn, who, inv_id, input.answers, input.staff_id, "app")?;
        load_response(conn, who, &id)
    })
}

/// Answers invitation `id` with its link token (the token must be this invitation's: 404
/// otherwise, as for an unknown one).
pub fn answer_with_token(conn: &mut DbConnection, id: &str, token: &str, input: Answers) -> Result<String, ApiError> {
    write_tx(conn, |conn| {
        let r = by_token(conn, token)?;
        if r.0 != id {
            return Err(ApiError::not_found("invitation (unknown link)"));
        }
        let guest = Principal {
            actor: Actor::Customer {
                customer_id: r.3.clone(),
            },
            ..Principal::system("survey-link")
        };
        record(conn, &guest, &r.0, input.answers, input.staff_id, "link")
    })
}

/// Answers through the link: the token names the invitation; it works once.
pub fn answer_link(conn: &mut DbConnection, input: LinkAnswers) -> Result<String, ApiError> {
    write_tx(conn, |conn| {
        let r = by_token(conn, &input.token)?;
        let guest = Principal {
            actor: Actor::Customer {
                customer_id: r.3.clone(),
            },
            ..Principal::system("survey-link")
        };
        record(conn, &guest, &r.0, input.answers, input.staff_id, "link")
    })
}

type RespRow = (
    String,
    String,
    String,
    i32,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
fn resp_cols() -> (
    sr::id,
    sr::invitation_id,
    sr::template_id,
    sr::template_version,
    sr::customer_id,
    sr::property_id,
    sr::trigger_kind,
    sr::subject_kind,
    sr::subject_id,
    sr::touchpoint,
    sr::answers,
    sr::nps,
    sr::csat,
    sr::ces,
    sr::staff_id,
    sr::channel,
    sr::ticket_id,
    sr::bonus_entry_id,
    sr::created_at,
) {
    (
        sr::id,
        sr::invitation_id,
        sr::template_id,
        sr::template_version,
        sr::customer_id,
        sr::property_id,
        sr::trigger_kind,
        sr::subject_kind,
        sr::subject_id,
        sr::touchpoint,
        sr::answers,
        sr::nps,
        sr::csat,
        sr::ces,
        sr::staff_id,
        sr::channel,
        sr::ticket_id,
        sr::bonus_entry_id,
        sr::created_at,
    )
}

fn render_resp(r: RespRow, email: Option<String>, who: &Principal, questions: Option<&[Question]>) -> SurveyResponse {
    use crate::auth::PersonalView::*;
    let view = who.personal_view();
    let mut answers: Value = serde_json::from_str(&r.10).unwrap_or(Value::Null);
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
        id: r.0,
        invitation_id: if hidden { String::new() } else { r.1 },
        template_id: r.2,
        template_version: r.3,
        customer_id: (view != Hidden).then_some(r.4),
        customer_email: match view {
            Hidden => None,
            Masked => email.map(|e| mask_email(&e)),
            _ => email,
        },
        property_id: r.5,
        trigger: TriggerKind::parse(&r.6).unwrap_or(TriggerKind::Manual),
        subject_kind: SubjectKind::parse(&r.7).unwrap_or(SubjectKind::None),
        subject_id: if hidden { None } else { r.8 },
        touchpoint: r.9,
        answers,
        nps: r.11,
        csat: r.12,
        ces: r.13,
        staff_id: if hidden { None } else { r.14 },
        channel: r.15,
        ticket_id: r.16,
        bonus_entry_id: r.17,
        created_at: r.18.and_utc(),
    }
}

fn load_response(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<SurveyResponse, ApiError> {
    let r: RespRow = sr::table.find(id).select(resp_cols()).first(conn)?;
    let email: Option<String> = customers::table.find(&r.4).select(customers::email).first(conn)?;
    let t = load_template(conn, &r.2, Some(r.3))?;
    Ok(render_resp(r, email, who, Some(&t.questions)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResponseFilter {
    pub property_id: Option<String>,
    pub template_id: Option<String>,
    /// Only responses with NPS at most this (e.g. 6 for detractors).
    pub max_nps: Option<i32>,
}

pub type SurveyResponsePage = Page<SurveyResponse>;

impl PageItem for SurveyResponse {
    const PAGE: &'static str = "SurveyResponsePage";
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
        let mut q = sr::table
            .select(resp_cols())
            .order(sr::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(scope) = who.property_scope() {
            q = q.filter(sr::property_id.eq_any(scope.to_vec()));
        }
        if let Some(p) = &f.property_id {
            q = q.filter(sr::property_id.eq(p.clone()));
        }
        if let Some(t) = &f.template_id {
            q = q.filter(sr::template_id.eq(t.clone()));
        }
        if let Some(m) = f.max_nps {
            q = q.filter(sr::nps.le(m));
        }
        if let Some(a) = &cur.after {
            q = q.filter(sr::id.lt(a.clone()));
        }
        let rows: Vec<RespRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.0);
        // One query for the e-mails, one per template version (few), no N+1 per response.
        let ids: Vec<String> = rows.iter().map(|r| r.4.clone()).collect();
        let emails: BTreeMap<String, Option<String>> = customers::table
            .filter(customers::id.eq_any(&ids))
            .select((customers::id, customers::email))
            .load::<(String, Option<String>)>(conn)?
            .into_iter()
            .collect();
        let mut templates: BTreeMap<(String, i32), Vec<Question>> = BTreeMap::new();
        for r in &rows {
            let k = (r.2.clone(), r.3);
            if let std::collections::btree_map::Entry::Vacant(e) = templates.entry(k) {
                e.insert(load_template(conn, &r.2, Some(r.3))?.questions);
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
        Ok(SurveyResponsePage {
            data: rows
                .into_iter()
                .map(|r| {
                    let email = emails.get(&r.4).cloned().flatten();
                    let qs = templates.get(&(r.2.clone(), r.3)).cloned();
                    render_resp(r, email, who, qs.as_deref())
                })
                .collect(),
            next_cursor,
        })
    };
    if audited {
        write_tx(conn, run)
    } else {
        read_tx(conn, run)
    }
}

// ---- scores ---------------------------------------------------------------------------------

/// NPS = % promoters (9–10) − % detractors (0–6), one decimal; `None` without answers.
pub fn nps_score(scores: &[i32]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let n = scores.len() as f64;
    let promoters = scores.iter().filter(|s| **s >= 9).count() as f64;
    let detractors = scores.iter().filter(|s| **s <= 6).count() as f64;
    Some(round1((promoters - detractors) * 100.0 / n))
}

/// CSAT = % of answers 4–5, one decimal.
pub fn csat_score(scores: &[i32]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let happy = scores.iter().filter(|s| **s >= 4).count() as f64;
    Some(round1(happy * 100.0 / scores.len() as f64))
}

/// Mean, two decimals.
pub fn mean(scores: &[i32]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let m = scores.iter().map(|s| *s as f64).sum::<f64>() / scores.len() as f64;
    Some((m * 100.0).round() / 100.0)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// (answered at, nps, csat, ces) of one response.
type ScoreRow = (NaiveDateTime, Option<i32>, Option<i32>, Option<i32>);

string_enum!(TrendBy { Week => "week", Month => "month" });

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScoreParams {
    /// First day (UTC); default 90 days before `to`.
    pub from: Option<chrono::NaiveDate>,
    /// Last day (UTC), inclusive; default today; at most 366 days in all.
    pub to: Option<chrono::NaiveDate>,
    pub property_id: Option<String>,
    pub template_id: Option<String>,
    pub trigger: Option<TriggerKind>,
    pub touchpoint: Option<String>,
    /// Responses naming this staff member.
    pub staff_id: Option<String>,
    /// Adds a trend series by week (Monday) or month.
    #[param(inline)]
    pub by: Option<TrendBy>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Scores {
    pub responses: usize,
    /// −100 to 100.
    pub nps: Option<f64>,
    pub promoters: usize,
    pub passives: usize,
    pub detractors: usize,
    /// % of CSAT answers 4–5.
    pub csat: Option<f64>,
    pub ces_mean: Option<f64>,
    /// Mean rating per aspect.
    pub aspects: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    pub period_start: chrono::NaiveDate,
    pub responses: usize,
    pub nps: Option<f64>,
    pub csat: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreReport {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    #[serde(flatten)]
    pub scores: Scores,
    /// With `by`: one point per week or month that has responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Vec<TrendPoint>>,
}

fn scores_of(rows: &[ScoreRow], aspects: BTreeMap<String, f64>) -> Scores {
    let nps: Vec<i32> = rows.iter().filter_map(|r| r.1).collect();
    let csat: Vec<i32> = rows.iter().filter_map(|r| r.2).collect();
    let ces: Vec<i32> = rows.iter().filter_map(|r| r.3).collect();
    Scores {
        responses: rows.len(),
        nps: nps_score(&nps),
        promoters: nps.iter().filter(|s| **s >= 9).count(),
        passives: nps.iter().filter(|s| (7..=8).contains(*s)).count(),
        detractors: nps.iter().filter(|s| **s <= 6).count(),
        csat: csat_score(&csat),
        ces_mean: mean(&ces),
        aspects,
    }
}

pub fn scores(conn: &mut DbConnection, who: &Principal, p: &ScoreParams) -> Result<ScoreReport, ApiError> {
    who.require(Perm::SurveysReport)?;
    let (from, to, start, end) = report_period(who, p.from, p.to, 90, p.property_id.as_deref())?;
    read_tx(conn, |conn| {
        macro_rules! filtered {
            () => {{
                let mut q = sr::table
                    .filter(sr::created_at.ge(start))
                    .filter(sr::created_at.lt(end))
                    .into_boxed();
                if let Some(scope) = who.property_scope() {
                    q = q.filter(sr::property_id.eq_any(scope.to_vec()));
                }
                if let Some(v) = &p.property_id {
                    q = q.filter(sr::property_id.eq(v.clone()));
                }
                if let Some(v) = &p.template_id {
                    q = q.filter(sr::template_id.eq(v.clone()));
                }
                if let Some(v) = p.trigger {
                    q = q.filter(sr::trigger_kind.eq(v.as_str()));
                }
                if let Some(v) = &p.touchpoint {
                    q = q.filter(sr::touchpoint.eq(v.clone()));
                }
                if let Some(v) = &p.staff_id {
                    q = q.filter(sr::staff_id.eq(v.clone()));
                }
                q
            }};
        }
        let rows: Vec<ScoreRow> = filtered!()
            .select((sr::created_at, sr::nps, sr::csat, sr::ces))
            .load(conn)?;
        let ids: Vec<String> = filtered!().select(sr::id).load(conn)?;
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
        let aspects = aspects
            .into_iter()
            .map(|(a, (sum, n))| (a, ((sum as f64 / n as f64) * 100.0).round() / 100.0))
            .collect();
        let trend = p.by.map(|by| {
            let mut buckets: BTreeMap<chrono::NaiveDate, Vec<ScoreRow>> = BTreeMap::new();
            for r in &rows {
                let d = r.0.date();
                let key = match by {
                    TrendBy::Week => d - Duration::days(chrono::Datelike::weekday(&d).num_days_from_monday() as i64),
                    TrendBy::Month => chrono::Datelike::with_day(&d, 1).unwrap_or(d),
                };
                buckets.entry(key).or_default().push(*r);
            }
            buckets
                .into_iter()
                .map(|(k, rs)| {
                    let s = scores_of(&rs, BTreeMap::new());
                    TrendPoint {
                        period_start: k,
                        responses: s.responses,
                        nps: s.nps,
                        csat: s.csat,
                    }
                })
                .collect()
        });
        Ok(ScoreReport {
            from,
            to,
            scores: scores_of(&rows, aspects),
            trend,
        })
    })
}

// ---- job --------------------------------------------------------------------------------------

/// Opens scheduled invitations whose time has come and expires unanswered ones: two
/// idempotent statements, safe with several instances. Returns (opened, expired).
pub fn sweep(conn: &mut DbConnection, as_of: NaiveDateTime) -> Result<(usize, usize), ApiError> {
    // A guest who withdrew survey consent while the invitation waited is not asked after all.
    let withdrawn = customer_consents::table
        .filter(customer_consents::purpose.eq("surveys"))
        .filter(customer_consents::granted.eq(false))
        .select(customer_consents::customer_id);
    diesel::update(
        si::table
            .filter(si::state.eq("scheduled"))
            .filter(si::customer_id.eq_any(withdrawn)),
    )
    .set(si::state.eq("expired"))
    .execute(conn)?;
    let expired = diesel::update(
        si::table
            .filter(si::state.eq_any(["scheduled", "open"]))
            .filter(si::expires_at.le(as_of)),
    )
    .set(si::state.eq("expired"))
    .execute(conn)?;
    let opened = diesel::update(
        si::table
            .filter(si::state.eq("scheduled"))
            .filter(si::send_at.le(as_of)),
    )
    .set(si::state.eq("open"))
    .execute(conn)?;
    Ok((opened, expired))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nps_from_promoters_and_detractors() {
        assert_eq!(nps_score(&[]), None);
        assert_eq!(nps_score(&[10, 9, 10]), Some(100.0), "all promoters");
        assert_eq!(nps_score(&[0, 6, 3]), Some(-100.0), "all detractors");
        assert_eq!(nps_score(&[7, 8]), Some(0.0), "passives only");
        assert_eq!(nps_score(&[10, 9, 8, 7, 6, 0]), Some(0.0));
        // 2 promoters, 1 detractor of 3: 33.33… → 33.3
        assert_eq!(nps_score(&[9, 10, 5]), Some(33.3));
        // 1 promoter of 3, 2 detractors: −33.33… → −33.3
        assert_eq!(nps_score(&[9, 1, 2]), Some(-33.3));
    }

    #[test]
    fn csat_and_ces() {
        assert_eq!(csat_score(&[]), None);
        assert_eq!(csat_score(&[5, 4, 3]), Some(66.7));
        assert_eq!(csat_score(&[1, 2]), Some(0.0));
        assert_eq!(mean(&[1, 2, 2]), Some(1.67));
        assert_eq!(mean(&[]), None);
    }

    fn q(id: &str, kind: QuestionType) -> Question {
        Question {
            id: id.into(),
            kind,
            text: "?".into(),
            required: true,
            aspect: (kind == QuestionType::Rating).then_some(Aspect::Room),
            options: (kind == QuestionType::SingleChoice).then(|| vec!["a".into(), "b".into()]),
        }
    }

    #[test]
    fn answers_must_fit_the_template() {
        let qs = vec![
            q("nps", QuestionType::Nps),
            q("room", QuestionType::Rating),
            q("pick", QuestionType::SingleChoice),
            Question {
                required: false,
                ..q("comment", QuestionType::Text)
            },
        ];
        let ok: BTreeMap<String, Value> = serde_json::from_value(json!({"nps": 10, "room": 5, "pick": "a"})).unwrap();
        assert_eq!(
            validate(&qs, &ok).unwrap(),
            (Some(10), None, None, vec![(Aspect::Room, 5)])
        );
        let bad: BTreeMap<String, Value> =
            serde_json::from_value(json!({"nps": 11, "room": "5", "pick": "c", "extra": 1})).unwrap();
        let Err(ApiError::Validation(errs)) = validate(&qs, &bad) else {
            panic!()
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["answers.extra", "answers.nps", "answers.room", "answers.pick"]
        );
        let missing: BTreeMap<String, Value> = serde_json::from_value(json!({"room": 3, "pick": "b"})).unwrap();
        assert!(validate(&qs, &missing).is_err(), "nps is required");
    }

    #[test]
    fn invitation_state_follows_the_clock() {
        let t = |h: i64| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                + Duration::hours(h)
        };
        assert_eq!(
            effective_state("scheduled", t(2), t(10), t(1)),
            InvitationState::Scheduled
        );
        assert_eq!(effective_state("scheduled", t(2), t(10), t(2)), InvitationState::Open);
        assert_eq!(effective_state("open", t(2), t(10), t(10)), InvitationState::Expired);
        assert_eq!(
            effective_state("answered", t(2), t(10), t(20)),
            InvitationState::Answered
        );
    }
}
