//! The ticket report (SPEC §4): counts by dimension, first-response and resolution times
//! (median and p90), breach, reopen and resolution rates, for a period and optionally one
//! property. Counts are grouped in the database; only the two durations are read row by row.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{case_when, count, count_star, sum};
use diesel::prelude::*;
use diesel::sql_types::Integer;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::scope::report_period;
use crate::auth::{Perm, Principal};
use crate::db::schema::tickets as t;
use crate::db::{read_tx, DbConnection, MultiBackend};
use crate::platform::error::ApiError;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// First day (UTC) of the period; default 30 days before `to`.
    pub from: Option<NaiveDate>,
    /// Last day (UTC) of the period, inclusive; default today. At most 366 days in all.
    pub to: Option<NaiveDate>,
    /// One property; default every property the caller may see.
    pub property_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct DurationStats {
    /// Tickets measured.
    pub count: usize,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub property_id: Option<String>,
    /// Tickets opened in the period.
    pub total: i64,
    pub by_state: BTreeMap<String, i64>,
    pub by_severity: BTreeMap<String, i64>,
    pub by_category: BTreeMap<String, i64>,
    pub by_kind: BTreeMap<String, i64>,
    pub by_channel: BTreeMap<String, i64>,
    pub by_property: BTreeMap<String, i64>,
    /// Opening to first customer-visible response.
    pub first_response: DurationStats,
    /// Opening to (last) resolution.
    pub resolution: DurationStats,
    /// Share of tickets with a breached first-response or resolution clock (0–1; null if none).
    pub breach_rate: Option<f64>,
    pub first_response_breach_rate: Option<f64>,
    pub resolution_breach_rate: Option<f64>,
    /// Share of resolved-at-least-once tickets that were reopened.
    pub reopen_rate: Option<f64>,
    /// Share of tickets now resolved or closed.
    pub resolution_rate: Option<f64>,
}

/// Nearest-rank percentile of sorted values (`p` in 0–100).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Median: the mean of the two middle values for an even count.
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn stats(mut minutes: Vec<f64>) -> DurationStats {
    minutes.sort_by(|a, b| a.total_cmp(b));
    let round = |v: Option<f64>| v.map(|x| (x * 10.0).round() / 10.0);
    DurationStats {
        count: minutes.len(),
        median_minutes: round(median(&minutes)),
        p90_minutes: round(percentile(&minutes, 90.0)),
    }
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0)
}

type Pred = Box<dyn BoxableExpression<t::table, MultiBackend, SqlType = diesel::sql_types::Bool>>;

/// Tickets opened in `[start, end)` at the given properties (all when `None`).
fn pred(start: NaiveDateTime, end: NaiveDateTime, scope: &Option<Vec<String>>) -> Pred {
    let period: Pred = Box::new(t::created_at.ge(start).and(t::created_at.lt(end)));
    match scope {
        Some(ids) => Box::new(period.and(t::property_id.eq_any(ids.clone()))),
        None => period,
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "not yet split: issue #12 leaves these four over 80 lines"
)]
pub fn report(conn: &mut DbConnection, who: &Principal, p: &ReportParams) -> Result<TicketReport, ApiError> {
    who.require(Perm::TicketsReport)?;
    let (from, to, start, end) = report_period(who, p.from, p.to, 30, p.property_id.as_deref())?;
    let scope: Option<Vec<String>> = match (&p.property_id, who.property_scope()) {
        (Some(pid), _) => Some(vec![pid.clone()]),
        (None, Some(s)) => Some(s.to_vec()),
        (None, None) => None,
    };
    read_tx(conn, |conn| {
        macro_rules! base {
            () => {
                t::table.filter(pred(start, end, &scope))
            };
        }
        // One scan: counts per combination of dimensions, folded here.
        let one = || 1i32.into_sql::<Integer>();
        let zero = || 0i32.into_sql::<Integer>();
        type Cell = (
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let cells: Vec<Cell> = base!()
            .group_by((t::state, t::severity, t::category, t::kind, t::channel, t::property_id))
            .select((
                t::state,
                t::severity,
                t::category,
                t::kind,
                t::channel,
                t::property_id,
                count_star(),
                count(t::first_response_breached_at),
                count(t::resolution_breached_at),
                sum(case_when(
                    t::first_response_breached_at
                        .is_not_null()
                        .or(t::resolution_breached_at.is_not_null()),
                    one(),
                )
                .otherwise(zero())),
                sum(case_when(t::reopen_count.gt(0), one()).otherwise(zero())),
                sum(case_when(t::resolved_at.is_not_null().or(t::reopen_count.gt(0)), one()).otherwise(zero())),
            ))
            .load(conn)?;
        let (mut by_state, mut by_severity, mut by_category) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let (mut by_kind, mut by_channel, mut by_property) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let (mut total, mut fr_breached, mut res_breached, mut any_breached) = (0i64, 0i64, 0i64, 0i64);
        let (mut reopened, mut ever_resolved) = (0i64, 0i64);
        for (state, severity, category, kind, channel, property, n, frb, rb, any, re, ever) in cells {
            *by_state.entry(state).or_insert(0) += n;
            *by_severity.entry(severity).or_insert(0) += n;
            *by_category.entry(category).or_insert(0) += n;
            *by_kind.entry(kind).or_insert(0) += n;
            *by_channel.entry(channel).or_insert(0) += n;
            *by_property.entry(property).or_insert(0) += n;
            total += n;
            fr_breached += frb;
            res_breached += rb;
            any_breached += any.unwrap_or(0);
            reopened += re.unwrap_or(0);
            ever_resolved += ever.unwrap_or(0);
        }
        let done = by_state.get("resolved").copied().unwrap_or(0) + by_state.get("closed").copied().unwrap_or(0);
        let minutes = |a: NaiveDateTime, b: NaiveDateTime| (b - a).num_seconds() as f64 / 60.0;
        let fr: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = base!()
            .filter(t::first_responded_at.is_not_null())
            .select((t::created_at, t::first_responded_at))
            .load(conn)?;
        let res: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = base!()
            .filter(t::resolved_at.is_not_null())
            .select((t::created_at, t::resolved_at))
            .load(conn)?;
        Ok(TicketReport {
            from,
            to,
            property_id: p.property_id.clone(),
            total,
            first_response: stats(fr.into_iter().filter_map(|(a, b)| b.map(|b| minutes(a, b))).collect()),
            resolution: stats(res.into_iter().filter_map(|(a, b)| b.map(|b| minutes(a, b))).collect()),
            breach_rate: rate(any_breached, total),
            first_response_breach_rate: rate(fr_breached, total),
            resolution_breach_rate: rate(res_breached, total),
            reopen_rate: rate(reopened, ever_resolved),
            resolution_rate: rate(done, total),
            by_state,
            by_severity,
            by_category,
            by_kind,
            by_channel,
            by_property,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 90.0), Some(9.0));
        assert_eq!(percentile(&v, 100.0), Some(10.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[42.0], 90.0), Some(42.0));
        assert_eq!(percentile(&[], 90.0), None);
    }

    #[test]
    fn medians_of_odd_even_and_empty_sets() {
        assert_eq!(median(&[1.0, 2.0, 9.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn rates_round_to_four_places_and_are_null_without_tickets() {
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(5, 5), Some(1.0));
        let s = stats(vec![30.0, 10.0, 20.0]);
        assert_eq!(
            s,
            DurationStats {
                count: 3,
                median_minutes: Some(20.0),
                p90_minutes: Some(30.0)
            }
        );
    }
}
