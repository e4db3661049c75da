//! Surveys' pure rules: question and answer checks, invitation state by the clock, detractors,
//! scores. No database, no HTTP; the time is passed in.

use std::collections::{BTreeMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::Value;

use super::model::{Aspect, InvitationState, Question, QuestionType, Scores, SurveySettings, TrendBy, TrendPoint};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;

pub fn check_questions(c: &mut Checks, qs: &[Question]) {
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

/// The state as of `at`: scheduled invitations past their send time are open, anything
/// unanswered past its expiry is expired (the job writes the same down later).
pub fn effective_state(
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

/// Checks answers against the questions; returns (nps, csat, ces, aspects).
#[allow(clippy::type_complexity)]
pub fn validate(
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
pub type ScoreRow = (NaiveDateTime, Option<i32>, Option<i32>, Option<i32>);

pub fn scores_of(rows: &[ScoreRow], aspects: BTreeMap<String, f64>) -> Scores {
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

/// Checks settings against their bounds.
pub fn check_settings(s: &SurveySettings) -> Result<(), ApiError> {
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
    c.finish()
}

/// The names of the settings that differ between `before` and `after`.
pub fn changed_settings(before: &SurveySettings, after: &SurveySettings) -> Vec<&'static str> {
    let mut out = Vec::new();
    if before.post_stay_delay_minutes != after.post_stay_delay_minutes {
        out.push("post_stay_delay_minutes");
    }
    if before.invitation_ttl_days != after.invitation_ttl_days {
        out.push("invitation_ttl_days");
    }
    if before.completion_bonus_points != after.completion_bonus_points {
        out.push("completion_bonus_points");
    }
    if before.require_consent != after.require_consent {
        out.push("require_consent");
    }
    out
}

/// Mean score per aspect from (sum, count), two decimals.
pub fn aspect_means(sums: BTreeMap<String, (i64, i64)>) -> BTreeMap<String, f64> {
    sums.into_iter()
        .map(|(a, (sum, n))| (a, ((sum as f64 / n as f64) * 100.0).round() / 100.0))
        .collect()
}

/// One point per week (Monday) or month that has responses.
pub fn trend(rows: &[ScoreRow], by: TrendBy) -> Vec<TrendPoint> {
    let mut buckets: BTreeMap<NaiveDate, Vec<ScoreRow>> = BTreeMap::new();
    for r in rows {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
