//! Surveys: templates and settings (managers, admins), invitations (staff, integrations),
//! answers from the app or a link without login, responses and scores.

use actix_web::{get, patch, post, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Principal;
use crate::features::surveys::service::{
    self as surveys, Answers, Invitation, InvitationCreate, InvitationFilter, InvitationPage, InvitationToAnswer,
    InvitationToAnswerPage, LinkAnswers, LinkToken, ResponseFilter, ScoreParams, ScoreReport, SurveyResponse,
    SurveyResponsePage, SurveySettings, SurveyTemplate, TemplateCreate, TemplateUpdate,
};
use crate::platform::error::{ApiError, Problem};
use crate::platform::page::PageParams;
use crate::server::json::ApiJson;
use crate::server::state::AppState;

/// The answer to a recorded survey response.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ResponseRecorded {
    /// The id of the stored response (see `GET /api/v1/survey-responses`).
    pub response_id: String,
}

/// Creates a survey template (version 1). Questions: `nps` (0–10), `csat` (1–5), `ces` (1–7),
/// `rating` (1–5, one per aspect), `single_choice`, `text`; at most one nps/csat/ces each.
#[utoipa::path(tag = "surveys", security(("bearer" = [])), request_body = TemplateCreate,
    responses((status = 201, description = "Created", body = SurveyTemplate),
              (status = 409, description = "Code in use", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/survey-templates")]
pub async fn create_survey_template(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<TemplateCreate>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    Ok(HttpResponse::Created().json(state.db(move |conn| surveys::create_template(conn, &p, body)).await?))
}

/// Survey templates with their current questions.
#[utoipa::path(tag = "surveys", security(("bearer" = [])),
    responses((status = 200, description = "Templates", body = Vec<SurveyTemplate>)))]
#[get("/api/v1/survey-templates")]
pub async fn list_survey_templates(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.db(move |conn| surveys::list_templates(conn, &p)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParam {
    /// A past version (default the current one).
    pub version: Option<i32>,
}

/// One template, at its current or a past version.
#[utoipa::path(tag = "surveys", security(("bearer" = [])),
    params(("id" = String, Path, description = "Template id"), VersionParam),
    responses((status = 200, description = "The template", body = SurveyTemplate)))]
#[get("/api/v1/survey-templates/{id}")]
pub async fn get_survey_template(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    v: web::Query<VersionParam>,
) -> Result<HttpResponse, ApiError> {
    let (id, v) = (id.into_inner(), v.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| surveys::get_template(conn, &p, &id, v.version))
            .await?,
    ))
}

/// Renames, (de)activates or changes the questions of a template; new questions make a new
/// version (answers keep the version they answered). Audited.
#[utoipa::path(tag = "surveys", security(("bearer" = [])), request_body = TemplateUpdate,
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template", body = SurveyTemplate)))]
#[patch("/api/v1/survey-templates/{id}")]
pub async fn update_survey_template(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<TemplateUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| surveys::update_template(conn, &p, &id, body))
            .await?,
    ))
}

/// Survey settings: post-stay delay, invitation expiry, completion bonus, consent rule.
#[utoipa::path(tag = "surveys", security(("bearer" = [])),
    responses((status = 200, description = "Settings", body = SurveySettings)))]
#[get("/api/v1/survey-settings")]
pub async fn get_survey_settings(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.db(move |conn| surveys::get_settings(conn, &p)).await?))
}

/// Replaces the survey settings. Audited.
#[utoipa::path(tag = "surveys", security(("bearer" = [])), request_body = SurveySettings,
    responses((status = 200, description = "Settings", body = SurveySettings)))]
#[put("/api/v1/survey-settings")]
pub async fn put_survey_settings(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<SurveySettings>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| surveys::set_settings(conn, &p, body)).await?))
}

/// Invites a guest by hand or after a touchpoint (post-stay and post-ticket invitations are
/// issued automatically). Respects the guest's survey consent (409 otherwise) and one open
/// invitation per subject (409 naming it). The answer link's token is in the answer, once.
#[utoipa::path(tag = "surveys", security(("bearer" = []), ("api_key" = [])), request_body = InvitationCreate,
    responses((status = 201, description = "Invited", body = Invitation),
              (status = 409, description = "No consent, or the subject has an open invitation", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/survey-invitations")]
pub async fn create_survey_invitation(
    state: web::Data<AppState>,
    p: Principal,
    body: ApiJson<InvitationCreate>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    Ok(HttpResponse::Created().json(state.db(move |conn| surveys::create_invitation(conn, &p, body)).await?))
}

/// One invitation (its state as of now).
#[utoipa::path(tag = "surveys", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invitation id")),
    responses((status = 200, description = "The invitation", body = Invitation)))]
#[get("/api/v1/survey-invitations/{id}")]
pub async fn get_survey_invitation(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| surveys::get_invitation(conn, &p, &id)).await?))
}

/// Issues a fresh single-use answer link for an invitation (e.g. by the messaging integration
/// when it sends the e-mail); the token is shown once and any earlier link stops working.
#[utoipa::path(tag = "surveys", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Invitation id")),
    responses((status = 200, description = "The invitation with `token`", body = Invitation),
              (status = 409, description = "Answered or expired", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/survey-invitations/{id}/link")]
pub async fn new_survey_link(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| surveys::new_link(conn, &p, &id)).await?))
}

/// The guest's open survey invitations with their questions.
#[utoipa::path(tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "Open invitations", body = InvitationToAnswerPage)))]
#[get("/api/v1/me/survey-invitations")]
pub async fn my_survey_invitations(
    state: web::Data<AppState>,
    p: Principal,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| surveys::my_invitations(conn, &p, &page)).await?))
}

/// Survey invitations at the caller's properties, newest first.
#[utoipa::path(tag = "surveys", security(("bearer" = [])), params(InvitationFilter, PageParams),
    responses((status = 200, description = "Invitations", body = InvitationPage)))]
#[get("/api/v1/survey-invitations")]
pub async fn list_survey_invitations(
    state: web::Data<AppState>,
    p: Principal,
    f: web::Query<InvitationFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (f, page) = (f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| surveys::list_invitations(conn, &p, &f, &page))
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenParam {
    /// The invitation's single-use link token (answering without login).
    pub token: Option<String>,
}

/// Answers an invitation: the guest with their customer JWT, or anyone holding the invitation's
/// single-use link token (`?token=`; it must be this invitation's). Answers must fit the
/// template version (422 naming each field); a second answer is 409. A low score (NPS ≤ 6,
/// CSAT ≤ 2) opens a feedback ticket; the completion bonus, if any, posts once per stay or
/// ticket.
#[utoipa::path(tag = "surveys", security(("bearer" = []), ()), request_body = Answers,
    params(("id" = String, Path, description = "Invitation id"), TokenParam),
    responses((status = 201, description = "Recorded", body = ResponseRecorded),
              (status = 404, description = "Unknown invitation or link", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Answered, expired or not open yet", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/survey-invitations/{id}/responses")]
pub async fn answer_survey_invitation(
    state: web::Data<AppState>,
    caller: GuestOrToken,
    id: web::Path<String>,
    body: ApiJson<Answers>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let response_id = match caller {
        GuestOrToken::Token(token) => {
            state
                .db(move |conn| surveys::answer_with_token(conn, &id, &token, body))
                .await?
        }
        GuestOrToken::Caller(p) => {
            state
                .db(move |conn| surveys::answer_mine(conn, &p, &id, body))
                .await?
                .id
        }
    };
    Ok(HttpResponse::Created().json(ResponseRecorded { response_id }))
}

/// Who answers: the holder of a link token (`?token=`), or a signed-in caller (401 first,
/// before the body is looked at, when neither is there).
pub enum GuestOrToken {
    Token(String),
    Caller(Principal),
}

impl actix_web::FromRequest for GuestOrToken {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &actix_web::HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let token = web::Query::<TokenParam>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.into_inner().token);
        if let Some(t) = token {
            return Box::pin(async move { Ok(GuestOrToken::Token(t)) });
        }
        let fut = Principal::from_request(req, payload);
        Box::pin(async move { Ok(GuestOrToken::Caller(fut.await?)) })
    }
}

/// Satisfaction report (the SPEC's name for `GET /api/v1/survey-scores`, same parameters).
#[utoipa::path(tag = "surveys", security(("bearer" = [])), params(ScoreParams),
    responses((status = 200, description = "Scores", body = ScoreReport)))]
#[get("/api/v1/reports/satisfaction")]
pub async fn satisfaction_report(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<ScoreParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| surveys::scores(conn, &p, &q)).await?))
}

/// The guest answers one of their invitations from the app. Answers must fit the template
/// version (422 naming each field); a second answer is 409. A low score (NPS ≤ 6, CSAT ≤ 2)
/// opens a feedback ticket; the completion bonus, if any, posts once.
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = Answers,
    params(("id" = String, Path, description = "Invitation id")),
    responses((status = 201, description = "Recorded", body = SurveyResponse),
              (status = 404, description = "Not the guest's invitation", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Answered, expired or not open yet", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/me/survey-invitations/{id}/response")]
pub async fn answer_my_survey(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: ApiJson<Answers>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    Ok(HttpResponse::Created().json(state.db(move |conn| surveys::answer_mine(conn, &p, &id, body)).await?))
}

/// What a survey link asks (no login: the link's token names the invitation).
#[utoipa::path(tag = "surveys", security(()), request_body = LinkToken,
    responses((status = 200, description = "The questions", body = InvitationToAnswer),
              (status = 404, description = "Unknown token", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Answered or expired", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/survey-links/questions")]
pub async fn survey_link_questions(
    state: web::Data<AppState>,
    body: ApiJson<LinkToken>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    Ok(HttpResponse::Ok().json(state.db(move |conn| surveys::link_questions(conn, &token)).await?))
}

/// Answers a survey through its link, without login; the token works once and only for its
/// own invitation.
#[utoipa::path(tag = "surveys", security(()), request_body = LinkAnswers,
    responses((status = 201, description = "Recorded", body = ResponseRecorded),
              (status = 404, description = "Unknown token", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Answered or expired", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/survey-links/response")]
pub async fn answer_survey_link(
    state: web::Data<AppState>,
    body: ApiJson<LinkAnswers>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let id = state.db(move |conn| surveys::answer_link(conn, body)).await?;
    Ok(HttpResponse::Created().json(ResponseRecorded { response_id: id }))
}

/// Survey responses at the caller's properties, newest first. Agents see e-mails masked;
/// managers' and admins' unmasked reads are audited. Analysts use the scores.
#[utoipa::path(tag = "surveys", security(("bearer" = [])), params(ResponseFilter, PageParams),
    responses((status = 200, description = "Responses", body = SurveyResponsePage)))]
#[get("/api/v1/survey-responses")]
pub async fn list_survey_responses(
    state: web::Data<AppState>,
    p: Principal,
    f: web::Query<ResponseFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (f, page) = (f.into_inner(), page.into_inner());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| surveys::list_responses(conn, &p, &f, &page))
            .await?,
    ))
}

/// NPS, CSAT, CES and per-aspect means by property, period, template, trigger, touchpoint or
/// staff member named; `by=week|month` adds a trend.
#[utoipa::path(tag = "surveys", security(("bearer" = [])), params(ScoreParams),
    responses((status = 200, description = "Scores", body = ScoreReport)))]
#[get("/api/v1/survey-scores")]
pub async fn survey_scores(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<ScoreParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| surveys::scores(conn, &p, &q)).await?))
}

/// This feature's routes (registered by `app::routes`, in this order).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_survey_template)
        .service(list_survey_templates)
        .service(get_survey_template)
        .service(update_survey_template)
        .service(get_survey_settings)
        .service(put_survey_settings)
        .service(create_survey_invitation)
        .service(get_survey_invitation)
        .service(new_survey_link)
        .service(my_survey_invitations)
        .service(answer_my_survey)
        .service(survey_link_questions)
        .service(answer_survey_link)
        .service(list_survey_responses)
        .service(survey_scores)
        .service(list_survey_invitations)
        .service(answer_survey_invitation)
        .service(satisfaction_report);
}
