//! SLA arithmetic (SPEC §4): pure functions over an explicit `now`, no database, no clock of
//! their own. A clock is either 24/7 or a property's business-hours calendar (weekly opening
//! intervals in the property's time zone, plus holidays). Calendars are wall-clock: an interval
//! 09:00–18:00 is 9 hours on an ordinary day and whatever the zone makes of it on a DST day.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The longest a calendar search may look ahead before giving up (no working time at all).
const HORIZON_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    /// Opening intervals per weekday, Monday first; `end` of `None` means midnight at the end of
    /// the day. Intervals of one day are sorted and do not overlap.
    pub week: [Vec<(NaiveTime, Option<NaiveTime>)>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Clock {
    /// Every second counts (the default).
    Always,
    Business(Box<Calendar>),
}

/// The UTC instant of a local wall time; a time skipped by a DST jump maps to the first valid
/// instant after it, an ambiguous one (clocks set back) to the earlier instant.
fn local_to_utc(tz: Tz, date: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
    let mut naive = date.and_time(t);
    for _ in 0..180 {
        match tz.from_local_datetime(&naive) {
            LocalResult::Single(d) => return d.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => naive += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&date.and_time(t))
}

impl Calendar {
    /// The working intervals (UTC) of one local date, in order.
    fn intervals(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let day = &self.week[date.weekday().num_days_from_monday() as usize];
        day.iter()
            .map(|(start, end)| {
                let s = local_to_utc(self.tz, date, *start);
                let e = match end {
                    Some(e) => local_to_utc(self.tz, date, *e),
                    None => local_to_utc(self.tz, date + Duration::days(1), NaiveTime::MIN),
                };
                (s, e)
            })
            .filter(|(s, e)| e > s)
            .collect()
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// Whether the calendar has any working time in a normal week.
    pub fn has_hours(&self) -> bool {
        self.week.iter().any(|d| !d.is_empty())
    }
}

impl Clock {
    /// The instant `seconds` of working time after `start`.
    pub fn add(&self, start: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
        let cal = match self {
            Clock::Always => return start + Duration::seconds(seconds),
            Clock::Business(c) => c,
        };
        if seconds <= 0 {
            return start;
        }
        let mut left = seconds;
        // Start from the local day before, so that an interval crossing midnight is seen.
        let mut date = cal.local_date(start) - Duration::days(1);
        for _ in 0..HORIZON_DAYS {
            for (s, e) in cal.intervals(date) {
                let from = s.max(start);
                if from >= e {
                    continue;
                }
                let avail = (e - from).num_seconds();
                if avail >= left {
                    return from + Duration::seconds(left);
                }
                left -= avail;
            }
            date += Duration::days(1);
        }
        // No working time within the horizon (a calendar of holidays only): count wall time.
        start + Duration::seconds(seconds)
    }

    /// Working seconds between `a` and `b` (negative when `b` is before `a`).
    pub fn between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b < a {
            return -self.between(b, a);
        }
        let cal = match self {
            Clock::Always => return (b - a).num_seconds(),
            Clock::Business(c) => c,
        };
        let mut total = 0;
        let mut date = cal.local_date(a) - Duration::days(1);
        let last = cal.local_date(b);
        while date <= last {
            for (s, e) in cal.intervals(date) {
                let (from, to) = (s.max(a), e.min(b));
                if to > from {
                    total += (to - from).num_seconds();
                }
            }
            date += Duration::days(1);
        }
        total
    }
}

/// The due times a ticket gets when its SLA is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueTimes {
    pub first_response: DateTime<Utc>,
    pub resolution: DateTime<Utc>,
}

/// First-response overrides of SPEC §4 that apply whatever the policy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseRule {
    /// The policy's first-response time on the property's clock.
    Policy,
    /// A guest in house (`on_site`): within 15 wall-clock minutes, day or night.
    OnSite,
    /// A negative survey answer or an OTA review: within 24 hours at most.
    Within24h,
}

pub const ON_SITE_SECONDS: i64 = 15 * 60;

/// Due times for a ticket opened at `at`.
pub fn due_times(
    clock: &Clock,
    at: DateTime<Utc>,
    first_response_minutes: i64,
    resolution_minutes: i64,
    rule: ResponseRule,
) -> DueTimes {
    let policy_first = clock.add(at, first_response_minutes * 60);
    let first_response = match rule {
        ResponseRule::Policy => policy_first,
        ResponseRule::OnSite => policy_first.min(at + Duration::seconds(ON_SITE_SECONDS)),
        ResponseRule::Within24h => policy_first.min(at + Duration::hours(24)),
    };
    DueTimes {
        first_response,
        resolution: clock.add(at, resolution_minutes * 60),
    }
}

/// Pausing the resolution clock at `at`: the working seconds still left (negative if overdue).
pub fn pause(clock: &Clock, due: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
    clock.between(at, due)
}

/// Resuming at `at` with `remaining` working seconds: the new due time (at once if overdue).
pub fn resume(clock: &Clock, remaining: i64, at: DateTime<Utc>) -> DateTime<Utc> {
    if remaining <= 0 {
        at
    } else {
        clock.add(at, remaining)
    }
}

/// One step up the escalation ladder (0 owner → 1 department manager → 2 resident manager →
/// 3 general manager); level 3 stays 3.
pub fn escalate(level: i32) -> i32 {
    (level + 1).min(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    /// Monday–Friday 09:00–18:00 (lunch 12:00–13:00 closed) in the zone.
    fn office(tz: Tz, holidays: &[&str]) -> Clock {
        let day = vec![(hm(9, 0), Some(hm(12, 0))), (hm(13, 0), Some(hm(18, 0)))];
        Clock::Business(Box::new(Calendar {
            tz,
            week: [day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]],
            holidays: holidays.iter().map(|h| d(h)).collect(),
        }))
    }
    fn daily(tz: Tz, from: NaiveTime, to: Option<NaiveTime>) -> Clock {
        let day = vec![(from, to)];
        Clock::Business(Box::new(Calendar {
            tz,
            week: std::array::from_fn(|_| day.clone()),
            holidays: BTreeSet::new(),
        }))
    }

    #[test]
    fn always_is_plain_arithmetic() {
        let c = Clock::Always;
        assert_eq!(c.add(t("2026-12-01T10:00:00Z"), 3600), t("2026-12-01T11:00:00Z"));
        assert_eq!(c.between(t("2026-12-01T10:00:00Z"), t("2026-12-01T09:00:00Z")), -3600);
    }

    #[test]
    fn business_hours_skip_nights_lunch_and_weekends() {
        let c = office(chrono_tz::Asia::Shanghai, &[]);
        // Friday 2026-12-04 17:00 Shanghai (09:00Z) + 4 h of work: 1 h Friday, then Monday
        // 09:00–12:00 → Monday 12:00 local = 04:00Z.
        assert_eq!(c.add(t("2026-12-04T09:00:00Z"), 4 * 3600), t("2026-12-07T04:00:00Z"));
        // Exactly filling an interval ends at its close, not at the next opening.
        assert_eq!(c.add(t("2026-12-07T01:00:00Z"), 3 * 3600), t("2026-12-07T04:00:00Z"));
        // Starting at night counts from the next opening.
        assert_eq!(c.add(t("2026-12-07T20:00:00Z"), 60), t("2026-12-08T01:01:00Z"));
        // Zero time: the start itself.
        assert_eq!(c.add(t("2026-12-05T00:00:00Z"), 0), t("2026-12-05T00:00:00Z"));
    }

    #[test]
    fn holidays_are_skipped() {
        let c = office(chrono_tz::Asia::Shanghai, &["2026-12-07", "2026-12-08"]);
        // Friday 17:00 + 2 h: 1 h Friday, Monday and Tuesday are holidays → Wednesday 10:00.
        assert_eq!(c.add(t("2026-12-04T09:00:00Z"), 2 * 3600), t("2026-12-09T02:00:00Z"));
    }

    #[test]
    fn between_is_the_inverse_of_add() {
        let c = office(chrono_tz::Europe::Paris, &["2026-12-25"]);
        let start = t("2026-12-23T15:30:00Z");
        for secs in [0, 59, 3600, 5 * 3600, 27 * 3600 + 17] {
            let due = c.add(start, secs);
            assert_eq!(c.between(start, due), secs, "for {secs} s");
        }
        assert_eq!(
            c.between(t("2026-12-26T00:00:00Z"), t("2026-12-28T00:00:00Z")),
            0,
            "weekend"
        );
    }

    #[test]
    fn dst_spring_forward_in_paris() {
        let c = daily(chrono_tz::Europe::Paris, hm(8, 0), Some(hm(20, 0)));
        // Saturday 2026-03-28 19:00 CET (18:00Z) + 2 h: 1 h Saturday, then Sunday 08:00 CEST
        // (06:00Z, the offset changed overnight) + 1 h.
        assert_eq!(c.add(t("2026-03-28T18:00:00Z"), 2 * 3600), t("2026-03-29T07:00:00Z"));
        // An interval across the jump (01:00–04:00 local on 29 March) holds 2 real hours.
        let night = daily(chrono_tz::Europe::Paris, hm(1, 0), Some(hm(4, 0)));
        assert_eq!(
            night.between(t("2026-03-29T00:00:00Z"), t("2026-03-29T02:00:00Z")),
            2 * 3600
        );
        // 150 minutes from its opening: 2 h that night, 30 min the next night (01:30 CEST).
        assert_eq!(
            night.add(t("2026-03-28T23:00:00Z"), 150 * 60),
            t("2026-03-29T23:30:00Z")
        );
    }

    #[test]
    fn dst_fall_back_in_new_york() {
        // 2026-11-01: clocks go back at 02:00 EDT; a 00:00–04:00 interval holds 5 real hours.
        let c = daily(chrono_tz::America::New_York, hm(0, 0), Some(hm(4, 0)));
        assert_eq!(
            c.between(t("2026-11-01T03:00:00Z"), t("2026-11-01T10:00:00Z")),
            5 * 3600
        );
    }

    #[test]
    fn round_the_clock_calendar_equals_always() {
        let c = daily(chrono_tz::Asia::Tokyo, NaiveTime::MIN, None);
        let start = t("2026-12-01T10:11:12Z");
        assert_eq!(c.add(start, 100_000), Clock::Always.add(start, 100_000));
    }

    #[test]
    fn a_calendar_without_hours_falls_back_to_wall_time() {
        let c = Clock::Business(Box::new(Calendar {
            tz: chrono_tz::UTC,
            week: Default::default(),
            holidays: BTreeSet::new(),
        }));
        assert_eq!(c.add(t("2026-12-01T00:00:00Z"), 60), t("2026-12-01T00:01:00Z"));
    }

    #[test]
    fn default_policies_and_overrides() {
        let at = t("2026-12-01T10:00:00Z");
        // high: 1 h / 24 h on 24/7.
        let d1 = due_times(&Clock::Always, at, 60, 24 * 60, ResponseRule::Policy);
        assert_eq!(d1.first_response, t("2026-12-01T11:00:00Z"));
        assert_eq!(d1.resolution, t("2026-12-02T10:00:00Z"));
        // A guest in house: 15 wall minutes even if the office is closed.
        let night = t("2026-12-05T22:00:00Z");
        let office = office(chrono_tz::Asia::Shanghai, &[]);
        let d2 = due_times(&office, night, 24 * 60, 72 * 60, ResponseRule::OnSite);
        assert_eq!(d2.first_response, t("2026-12-05T22:15:00Z"));
        // ...but a policy stricter than 15 minutes stays stricter.
        let d3 = due_times(&Clock::Always, at, 5, 60, ResponseRule::OnSite);
        assert_eq!(d3.first_response, t("2026-12-01T10:05:00Z"));
        // OTA review: at most 24 h, even with a 72 h policy on business hours.
        let d4 = due_times(&office, night, 72 * 60, 72 * 60, ResponseRule::Within24h);
        assert_eq!(d4.first_response, t("2026-12-06T22:00:00Z"));
    }

    #[test]
    fn pause_keeps_the_remaining_working_time() {
        let c = office(chrono_tz::Asia::Shanghai, &[]);
        // Due Monday 12:00 local; paused Friday 17:00 local: 1 h Friday + 3 h Monday left.
        let due = t("2026-12-07T04:00:00Z");
        let left = pause(&c, due, t("2026-12-04T09:00:00Z"));
        assert_eq!(left, 4 * 3600);
        // Resumed Tuesday 09:00 local: due Tuesday 14:00 local (lunch skipped).
        assert_eq!(resume(&c, left, t("2026-12-08T01:00:00Z")), t("2026-12-08T06:00:00Z"));
        // Paused after the due time: overdue on resume at once.
        let late = pause(&Clock::Always, due, due + Duration::minutes(5));
        assert_eq!(late, -300);
        assert_eq!(
            resume(&Clock::Always, late, due + Duration::hours(1)),
            due + Duration::hours(1)
        );
    }

    #[test]
    fn the_ladder_stops_at_the_general_manager() {
        assert_eq!(escalate(0), 1);
        assert_eq!(escalate(2), 3);
        assert_eq!(escalate(3), 3);
    }
}
