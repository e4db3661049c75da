//! Surveys' wire types (serde + utoipa): templates, settings, invitations, answers, responses,
//! scores.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::platform::page::{Page, PageItem};

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
