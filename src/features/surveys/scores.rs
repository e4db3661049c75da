//! The satisfaction score report: NPS, CSAT, CES, aspects, an optional trend.

use super::db::{self, ResponseQuery};
use super::model::{ScoreParams, ScoreReport};
use super::rules::{aspect_means, scores_of, trend};
use crate::auth::scope::report_period;
use crate::auth::{Perm, Principal};
use crate::db::{read_tx, DbConnection};
use crate::platform::error::ApiError;

pub fn scores(conn: &mut DbConnection, who: &Principal, p: &ScoreParams) -> Result<ScoreReport, ApiError> {
    who.require(Perm::SurveysReport)?;
    let (from, to, start, end) = report_period(who, p.from, p.to, 90, p.property_id.as_deref())?;
    read_tx(conn, |conn| {
        let q = ResponseQuery {
            scope: who.property_scope().map(|s| s.to_vec()),
            property_id: p.property_id.as_ref(),
            template_id: p.template_id.as_ref(),
            trigger: p.trigger.map(|t| t.as_str()),
            touchpoint: p.touchpoint.as_ref(),
            staff_id: p.staff_id.as_ref(),
            period: Some((start, end)),
            ..ResponseQuery::default()
        };
        let (rows, aspects) = db::score_rows(conn, &q)?;
        Ok(ScoreReport {
            from,
            to,
            trend: p.by.map(|by| trend(&rows, by)),
            scores: scores_of(&rows, aspect_means(aspects)),
        })
    })
}
