//! Survey settings (group-wide): delay, time to live, completion bonus, consent rule.

use serde_json::json;

use super::db;
use super::model::SurveySettings;
use super::rules::{changed_settings, check_settings};
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;

/// The settings as stored (defaults for those never set).
pub fn settings(conn: &mut DbConnection) -> Result<SurveySettings, ApiError> {
    db::settings(conn)
}

pub fn get_settings(conn: &mut DbConnection, who: &Principal) -> Result<SurveySettings, ApiError> {
    who.require(Perm::SurveysRead)?;
    settings(conn)
}

pub fn set_settings(conn: &mut DbConnection, who: &Principal, s: SurveySettings) -> Result<SurveySettings, ApiError> {
    who.require_group_wide(Perm::SurveysConfigure)?;
    check_settings(&s)?;
    write_tx(conn, |conn| {
        let before = db::settings(conn)?;
        db::write_settings(conn, &s)?;
        audit::record(conn, who, "survey.settings_updated", "survey_settings", None, json!(s))?;
        let after = db::settings(conn)?;
        let data = json!({"changed": changed_settings(&before, &after)});
        outbox::emit_in_tx(
            conn,
            who,
            NewEvent::new("survey_settings.updated", "survey_settings", "group").data(data),
        )?;
        Ok(after)
    })
}

/// The completion bonus in points (0 = none).
pub fn completion_bonus_in_tx(conn: &mut DbConnection) -> Result<i64, ApiError> {
    Ok(db::settings(conn)?.completion_bonus_points)
}
