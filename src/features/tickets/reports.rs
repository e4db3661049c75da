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

/// Tickets of one combination of dimensions, with their breach and reopen counts.
#[derive(Queryable)]
struct Cell {
    state: String,
    severity: String,
    category: String,
    kind: String,
    channel: String,
    property_id: String,
    n: i64,
    first_response_breached: i64,
    resolution_breached: i64,
    any_breached: Option<i64>,
    reopened: Option<i64>,
    ever_resolved: Option<i64>,
}

/// The counts of the report, folded from its cells.
#[derive(Default)]
struct Tally {
    by_state: BTreeMap<String, i64>,
    by_severity: BTreeMap<String, i64>,
    by_category: BTreeMap<String, i64>,
    by_kind: BTreeMap<String, i64>,
    by_channel: BTreeMap<String, i64>,
    by_property: BTreeMap<String, i64>,
    total: i64,
    first_response_breached: i64,
    resolution_breached: i64,
    any_breached: i64,
    reopened: i64,
    ever_resolved: i64,
}

impl Tally {
    fn add(&mut self, c: Cell) {
        for (map, key) in [
            (&mut self.by_state, c.state),
            (&mut self.by_severity, c.severity),
            (&mut self.by_category, c.category),
            (&mut self.by_kind, c.kind),
            (&mut self.by_channel, c.channel),
            (&mut self.by_property, c.property_id),
        ] {
            *map.entry(key).or_insert(0) += c.n;
        }
        self.total += c.n;
        self.first_response_breached += c.first_response_breached;
        self.resolution_breached += c.resolution_breached;
        self.any_breached += c.any_breached.unwrap_or(0);
        self.reopened += c.reopened.unwrap_or(0);
        self.ever_resolved += c.ever_resolved.unwrap_or(0);
    }

    /// Tickets now resolved or closed.
    fn done(&self) -> i64 {
        ["resolved", "closed"]
            .iter()
            .map(|s| self.by_state.get(*s).copied().unwrap_or(0))
            .sum()
    }
}

/// One scan: counts per combination of dimensions, folded here.
fn tally(conn: &mut DbConnection, base: impl Fn() -> Pred) -> Result<Tally, ApiError> {
    let one = || 1i32.into_sql::<Integer>();
    let zero = || 0i32.into_sql::<Integer>();
    let any_breach = t::first_response_breached_at
        .is_not_null()
        .or(t::resolution_breached_at.is_not_null());
    let cells: Vec<Cell> = t::table
        .filter(base())
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
            sum(case_when(any_breach, one()).otherwise(zero())),
            sum(case_when(t::reopen_count.gt(0), one()).otherwise(zero())),
            sum(case_when(t::resolved_at.is_not_null().or(t::reopen_count.gt(0)), one()).otherwise(zero())),
        ))
        .load(conn)?;
    let mut out = Tally::default();
    cells.into_iter().for_each(|c| out.add(c));
    Ok(out)
}

/// Minutes from opening to the given moment, for the tickets that reached it.
fn durations<M>(conn: &mut DbConnection, base: Pred, moment: M) -> Result<DurationStats, ApiError>
where
    M: diesel::Expression<SqlType = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>>
        + diesel::expression::SelectableExpression<t::table>
        + diesel::expression::ValidGrouping<(), IsAggregate = diesel::expression::is_aggregate::No>
        + diesel::query_builder::QueryFragment<MultiBackend>
        + diesel::query_builder::QueryId
        + Copy
        + Send
        + 'static,
{
    let rows: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = t::table
        .filter(base)
        .filter(moment.is_not_null())
        .select((t::created_at, moment))
        .load(conn)?;
    let minutes = |a: NaiveDateTime, b: NaiveDateTime| (b - a).num_seconds() as f64 / 60.0;
    Ok(stats(
        rows.into_iter().filter_map(|(a, b)| b.map(|b| minutes(a, b))).collect(),
    ))
}

pub fn report(conn: &mut DbConnection, who: &Principal, p: &ReportParams) -> Result<TicketReport, ApiError> {
    who.require(Perm::TicketsReport)?;
    let (from, to, start, end) = report_period(who, p.from, p.to, 30, p.property_id.as_deref())?;
    let scope: Option<Vec<String>> = match (&p.property_id, who.property_scope()) {
        (Some(pid), _) => Some(vec![pid.clone()]),
        (None, Some(s)) => Some(s.to_vec()),
        (None, None) => None,
    };
    let base = || pred(start, end, &scope);
    read_tx(conn, |conn| {
        let c = tally(conn, base)?;
        let (done, total) = (c.done(), c.total);
        Ok(TicketReport {
            from,
            to,
            property_id: p.property_id.clone(),
            total,
            first_response: durations(conn, base(), t::first_responded_at)?,
            resolution: durations(conn, base(), t::resolved_at)?,
            breach_rate: rate(c.any_breached, total),
            first_response_breach_rate: rate(c.first_response_breached, total),
            resolution_breach_rate: rate(c.resolution_breached, total),
            reopen_rate: rate(c.reopened, c.ever_resolved),
            resolution_rate: rate(done, total),
            by_state: c.by_state,
            by_severity: c.by_severity,
            by_category: c.by_category,
            by_kind: c.by_kind,
            by_channel: c.by_channel,
            by_property: c.by_property,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(state: &str, severity: &str, n: i64, breached: i64) -> Cell {
        Cell {
            state: state.into(),
            severity: severity.into(),
            category: "noise".into(),
            kind: "complaint".into(),
            channel: "phone".into(),
            property_id: "p1".into(),
            n,
            first_response_breached: breached,
            resolution_breached: 0,
            any_breached: Some(breached),
            reopened: None,
            ever_resolved: Some(1),
        }
    }

    #[test]
    fn cells_fold_into_every_dimension_and_the_totals() {
        let mut t = Tally::default();
        t.add(cell("resolved", "high", 3, 1));
        t.add(cell("closed", "low", 2, 0));
        t.add(cell("open", "high", 4, 2));
        assert_eq!(t.total, 9);
        assert_eq!(t.done(), 5, "resolved and closed");
        assert_eq!(t.by_severity["high"], 7);
        assert_eq!(t.by_category["noise"], 9);
        assert_eq!(t.by_property["p1"], 9);
        assert_eq!((t.first_response_breached, t.any_breached), (3, 3));
        assert_eq!((t.reopened, t.ever_resolved), (0, 3), "absent sums count as 0");
    }

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
