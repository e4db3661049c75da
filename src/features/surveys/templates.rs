//! Survey templates: create, change (new questions make a new version), read.

use serde_json::json;

use super::db;
use super::model::{SurveyTemplate, TemplateCreate, TemplateUpdate};
use super::rules::check_questions;
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};

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
        if let Some(existing_id) = db::template_with_code(conn, &code)? {
            return Err(ApiError::Conflict {
                detail: format!("a template with code {code} exists"),
                existing_id: Some(existing_id),
            });
        }
        let id = new_id();
        let ts = now();
        let active = input.active.unwrap_or(true);
        db::insert_template(
            conn,
            &db::NewTemplateRow {
                id: &id,
                code: &code,
                name: &name,
                trigger_kind: input.trigger.as_str(),
                active,
                current_version: 1,
                created_at: ts,
                updated_at: ts,
            },
        )?;
        let questions = serde_json::to_string(&input.questions).map_err(ApiError::internal)?;
        db::insert_template_version(conn, &id, 1, &questions, ts)?;
        audit::record(
            conn,
            who,
            "survey.template_created",
            "survey_template",
            Some(&id),
            json!({"code": code}),
        )?;
        let data = json!({
            "template_id": id, "trigger": input.trigger.as_str(), "active": active, "version": 1,
            "questions": input.questions.len(),
        });
        outbox::emit_in_tx(
            conn,
            who,
            NewEvent::new("survey_template.created", "survey_template", &id).data(data),
        )?;
        db::load_template(conn, &id, None)
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
        let cur = db::load_template(conn, id, None)?;
        let ts = now();
        let mut version = cur.version;
        if let Some(q) = &input.questions {
            if *q != cur.questions {
                version += 1;
                let questions = serde_json::to_string(q).map_err(ApiError::internal)?;
                db::insert_template_version(conn, id, version, &questions, ts)?;
            }
        }
        let name = name.unwrap_or(cur.name.clone());
        let active = input.active.unwrap_or(cur.active);
        db::update_template_row(conn, id, (&name, active, version), ts)?;
        audit::record(
            conn,
            who,
            "survey.template_updated",
            "survey_template",
            Some(id),
            json!({"version": version}),
        )?;
        let mut changed = Vec::new();
        if name != cur.name {
            changed.push("name");
        }
        if active != cur.active {
            changed.push("active");
        }
        if version != cur.version {
            changed.push("questions");
        }
        let data = json!({
            "template_id": id, "changed": changed, "active": active,
            "version": {"from": cur.version, "to": version},
        });
        outbox::emit_in_tx(
            conn,
            who,
            NewEvent::new("survey_template.updated", "survey_template", id).data(data),
        )?;
        db::load_template(conn, id, None)
    })
}

pub fn get_template(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    version: Option<i32>,
) -> Result<SurveyTemplate, ApiError> {
    who.require(Perm::SurveysRead)?;
    read_tx(conn, |conn| db::load_template(conn, id, version))
}

pub fn list_templates(conn: &mut DbConnection, who: &Principal) -> Result<Vec<SurveyTemplate>, ApiError> {
    who.require(Perm::SurveysRead)?;
    read_tx(conn, |conn| {
        let ids = db::template_ids(conn)?;
        ids.iter().map(|id| db::load_template(conn, id, None)).collect()
    })
}
