//! Loyalty's pure rules: earning, tiers, lot consumption, the programme's validation and the
//! redemption state machine. No database, no actix; time is passed in.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::NaiveDateTime;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::model::{Outlet, ProgrammeUpdate, PropertyRulesUpdate, Redemption, RedemptionStatus, Tier, TierSetting};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::money::minor_digits;

/// The programme's rules, read from `loyalty_settings`.
#[derive(Debug, Clone)]
pub struct Rules {
    pub points_per_unit: Decimal,
    pub expiry_months: u32,
    pub outlet_weights: HashMap<String, Decimal>,
    /// Ascending thresholds.
    pub tiers: Vec<TierRule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TierRule {
    pub tier: Tier,
    pub threshold: i64,
    #[serde(deserialize_with = "decimal_from_number")]
    pub multiplier: Decimal,
}

/// Settings hold multipliers as JSON numbers (1.25); read them through their shortest decimal
/// text so 1.25 is exactly 1.25.
fn decimal_from_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let f = f64::deserialize(d)?;
    Decimal::from_str(&f.to_string()).map_err(serde::de::Error::custom)
}

impl Rules {
    pub fn multiplier(&self, tier: Tier) -> Decimal {
        self.tiers
            .iter()
            .find(|t| t.tier == tier)
            .map(|t| t.multiplier)
            .unwrap_or(Decimal::ONE)
    }

    /// The tier that `qualifying` points in the trailing 12 months reach.
    pub fn tier_for(&self, qualifying: i64) -> Tier {
        self.tiers
            .iter()
            .filter(|t| qualifying >= t.threshold)
            .map(|t| t.tier)
            .next_back()
            .unwrap_or(Tier::Regular)
    }

    pub fn next_tier(&self, tier: Tier) -> Option<&TierRule> {
        self.tiers.iter().find(|t| t.tier > tier)
    }

    /// Points for spend lines `(outlet, amount in minor units)` in one currency: Σ amount ×
    /// outlet weight, in currency units, × points per unit × tier multiplier, rounded down;
    /// never negative.
    pub fn earn_points(&self, lines: &[(String, i64)], currency: &str, tier: Tier) -> i64 {
        let scale = Decimal::from(10i64.pow(minor_digits(currency)));
        let qualifying: Decimal = lines
            .iter()
            .map(|(outlet, minor)| {
                Decimal::from(*minor) * self.outlet_weights.get(outlet).copied().unwrap_or(Decimal::ZERO)
            })
            .sum();
        let points = (qualifying / scale * self.points_per_unit * self.multiplier(tier)).floor();
        points.to_i64().unwrap_or(0).max(0)
    }
}

/// Which lots a negative posting of `needed` points consumes: soonest-expiring first (then
/// oldest). `lots` are `(lot id, expires_at, remaining)`; `None` when they do not cover it.
pub fn plan_consumption(lots: &[(String, NaiveDateTime, i64)], needed: i64) -> Option<Vec<(String, i64)>> {
    let mut sorted: Vec<&(String, NaiveDateTime, i64)> = lots.iter().filter(|l| l.2 > 0).collect();
    sorted.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let mut left = needed;
    let mut plan = Vec::new();
    for (id, _, remaining) in sorted {
        if left == 0 {
            break;
        }
        let take = left.min(*remaining);
        plan.push((id.clone(), take));
        left -= take;
    }
    (left == 0).then_some(plan)
}

/// A JSON number as an exact decimal with at most 4 places, within `min..=max`.
pub fn decimal(c: &mut Checks, field: &str, v: f64, min: Decimal, max: Decimal, min_exclusive: bool) -> Decimal {
    let d = if v.is_finite() {
        Decimal::from_str(&v.to_string()).ok()
    } else {
        None
    };
    match d {
        Some(d) if d.scale() <= 4 && d <= max && (d > min || (!min_exclusive && d == min)) => d.normalize(),
        _ => {
            let low = if min_exclusive { "greater than" } else { "at least" };
            c.fail(
                field,
                format!("must be {low} {min} and at most {max}, with at most 4 decimals"),
            );
            Decimal::ZERO
        }
    }
}

pub fn to_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// A validated replacement of the group rules, as stored in `loyalty_settings`.
pub struct CheckedProgramme {
    pub points_per_unit: Decimal,
    pub expiry_months: i64,
    pub outlet_weights: serde_json::Map<String, serde_json::Value>,
    /// Sorted by tier.
    pub tiers: Vec<TierSetting>,
}

impl CheckedProgramme {
    /// The stored `tiers` setting.
    pub fn tiers_json(&self) -> serde_json::Value {
        let stored: Vec<serde_json::Value> = self
            .tiers
            .iter()
            .map(|t| json!({"tier": t.tier.as_str(), "threshold": t.threshold, "multiplier": t.multiplier}))
            .collect();
        serde_json::Value::Array(stored)
    }
}

fn check_weights(c: &mut Checks, input: &BTreeMap<Outlet, f64>) -> serde_json::Map<String, serde_json::Value> {
    let mut weights = serde_json::Map::new();
    for o in Outlet::ALL {
        match input.get(o) {
            Some(w) => {
                let field = format!("outlet_weights.{}", o.as_str());
                let d = decimal(c, &field, *w, Decimal::ZERO, Decimal::from(10), false);
                weights.insert(o.as_str().into(), json!(to_f64(d)));
            }
            None => c.fail(
                format!("outlet_weights.{}", o.as_str()),
                "is required (0 excludes the outlet)",
            ),
        }
    }
    weights
}

fn check_tiers(c: &mut Checks, tiers: &[TierSetting]) {
    let listed: Vec<Tier> = tiers.iter().map(|t| t.tier).collect();
    if listed != Tier::ALL {
        c.fail("tiers", "must list regular, silver, gold and platinum once each");
        return;
    }
    if tiers[0].threshold != 0 {
        c.fail("tiers.regular.threshold", "must be 0");
    }
    for w in tiers.windows(2) {
        if w[1].threshold <= w[0].threshold || w[1].threshold > 100_000_000 {
            c.fail(
                format!("tiers.{}.threshold", w[1].tier.as_str()),
                "must be above the lower tier's threshold and at most 100,000,000",
            );
        }
    }
    for t in tiers {
        let field = format!("tiers.{}.multiplier", t.tier.as_str());
        decimal(c, &field, t.multiplier, Decimal::new(1, 1), Decimal::from(10), false);
    }
}

/// Validates a replacement of the group rules (422 naming every bad field).
pub fn check_programme(input: &ProgrammeUpdate) -> Result<CheckedProgramme, ApiError> {
    let mut c = Checks::new();
    let ppu = decimal(
        &mut c,
        "points_per_unit",
        input.points_per_unit,
        Decimal::ZERO,
        Decimal::from(100),
        true,
    );
    if !(1..=120).contains(&input.expiry_months) {
        c.fail("expiry_months", "must be between 1 and 120");
    }
    let weights = check_weights(&mut c, &input.outlet_weights);
    let mut tiers = input.tiers.clone();
    tiers.sort_by_key(|t| t.tier);
    check_tiers(&mut c, &tiers);
    c.finish()?;
    Ok(CheckedProgramme {
        points_per_unit: ppu,
        expiry_months: input.expiry_months,
        outlet_weights: weights,
        tiers,
    })
}

/// Validates a property's overrides: `(points per unit, outlet weights)` as stored.
pub fn check_property_rules(
    input: &PropertyRulesUpdate,
) -> Result<(Option<Decimal>, BTreeMap<Outlet, String>), ApiError> {
    let mut c = Checks::new();
    let ppu = input
        .points_per_unit
        .map(|p| decimal(&mut c, "points_per_unit", p, Decimal::ZERO, Decimal::from(100), true));
    let weights: BTreeMap<Outlet, String> = input
        .outlet_weights
        .iter()
        .map(|(o, w)| {
            let field = format!("outlet_weights.{}", o.as_str());
            let d = decimal(&mut c, &field, *w, Decimal::ZERO, Decimal::from(10), false);
            (*o, d.to_string())
        })
        .collect();
    if ppu.is_none() && weights.is_empty() {
        c.fail(
            "outlet_weights",
            "set points_per_unit or at least one outlet weight (DELETE removes the overrides)",
        );
    }
    c.finish()?;
    Ok((ppu, weights))
}

/// The 409 for a redemption that cannot become `to` (only `pending` moves).
pub fn illegal_redemption_change(r: &Redemption, to: &str) -> ApiError {
    ApiError::Conflict {
        detail: format!(
            "a {} redemption cannot become {to}; allowed: {}",
            r.status.as_str(),
            if r.status == RedemptionStatus::Pending {
                "fulfilled, cancelled"
            } else {
                "none"
            }
        ),
        existing_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn rules() -> Rules {
        Rules {
            points_per_unit: Decimal::ONE,
            expiry_months: 24,
            outlet_weights: [("room", "1"), ("food_beverage", "1"), ("other", "0"), ("spa", "0.5")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), Decimal::from_str(v).unwrap()))
                .collect(),
            tiers: vec![
                TierRule {
                    tier: Tier::Regular,
                    threshold: 0,
                    multiplier: Decimal::ONE,
                },
                TierRule {
                    tier: Tier::Silver,
                    threshold: 5000,
                    multiplier: Decimal::from_str("1.25").unwrap(),
                },
                TierRule {
                    tier: Tier::Gold,
                    threshold: 20000,
                    multiplier: Decimal::from_str("1.5").unwrap(),
                },
                TierRule {
                    tier: Tier::Platinum,
                    threshold: 50000,
                    multiplier: Decimal::from(2),
                },
            ],
        }
    }

    #[test]
    fn tier_thresholds() {
        let r = rules();
        assert_eq!(r.tier_for(0), Tier::Regular);
        assert_eq!(r.tier_for(4999), Tier::Regular);
        assert_eq!(r.tier_for(5000), Tier::Silver);
        assert_eq!(r.tier_for(19999), Tier::Silver);
        assert_eq!(r.tier_for(20000), Tier::Gold);
        assert_eq!(r.tier_for(50000), Tier::Platinum);
        assert_eq!(r.tier_for(-10), Tier::Regular);
        assert_eq!(r.next_tier(Tier::Gold).unwrap().tier, Tier::Platinum);
        assert!(r.next_tier(Tier::Platinum).is_none());
    }

    #[test]
    fn earning_weights_multipliers_and_rounding() {
        let r = rules();
        let lines = vec![
            ("room".to_string(), 384_000),
            ("food_beverage".to_string(), 38_850),
            ("other".to_string(), 99_999),
        ];
        // 3840.00 + 388.50 = 4228.50 units → 4228 points for regular.
        assert_eq!(r.earn_points(&lines, "CNY", Tier::Regular), 4228);
        // ×1.25 = 5285.625 → 5285.
        assert_eq!(r.earn_points(&lines, "CNY", Tier::Silver), 5285);
        assert_eq!(r.earn_points(&lines, "CNY", Tier::Platinum), 8457);
        // JPY has no minor unit; spa weighs half.
        assert_eq!(r.earn_points(&[("spa".to_string(), 1001)], "JPY", Tier::Regular), 500);
        // Refunds larger than charges never earn negative points.
        assert_eq!(r.earn_points(&[("room".to_string(), -5000)], "CNY", Tier::Regular), 0);
    }

    #[test]
    fn consumption_takes_soonest_expiring_lots_first() {
        let d = |m: u32| {
            NaiveDate::from_ymd_opt(2027, m, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        };
        let lots = vec![
            ("b".to_string(), d(6), 300),
            ("a".to_string(), d(3), 100),
            ("c".to_string(), d(9), 500),
            ("z".to_string(), d(1), 0),
        ];
        assert_eq!(
            plan_consumption(&lots, 250).unwrap(),
            vec![("a".to_string(), 100), ("b".to_string(), 150)]
        );
        assert_eq!(plan_consumption(&lots, 900).unwrap().len(), 3);
        assert!(plan_consumption(&lots, 901).is_none());
        assert_eq!(plan_consumption(&lots, 100).unwrap(), vec![("a".to_string(), 100)]);
        // Same expiry: the older lot (smaller id) first.
        let tie = vec![("y".to_string(), d(3), 10), ("x".to_string(), d(3), 10)];
        assert_eq!(plan_consumption(&tie, 5).unwrap(), vec![("x".to_string(), 5)]);
    }

    #[test]
    fn programme_validation_names_every_bad_field() {
        let tier = |tier, threshold, multiplier| TierSetting {
            tier,
            threshold,
            multiplier,
        };
        let ok = ProgrammeUpdate {
            points_per_unit: 1.5,
            expiry_months: 24,
            outlet_weights: Outlet::ALL.iter().map(|o| (*o, 1.0)).collect(),
            tiers: vec![
                tier(Tier::Gold, 20000, 1.5),
                tier(Tier::Regular, 0, 1.0),
                tier(Tier::Silver, 5000, 1.25),
                tier(Tier::Platinum, 50000, 2.0),
            ],
        };
        let checked = check_programme(&ok).unwrap();
        assert_eq!(checked.tiers[0].tier, Tier::Regular, "sorted by tier");
        assert_eq!(checked.points_per_unit, Decimal::from_str("1.5").unwrap());
        let bad = ProgrammeUpdate {
            points_per_unit: 0.0,
            expiry_months: 0,
            outlet_weights: BTreeMap::new(),
            tiers: vec![],
        };
        assert!(check_programme(&bad).is_err());
        let none = PropertyRulesUpdate {
            points_per_unit: None,
            outlet_weights: BTreeMap::new(),
        };
        assert!(check_property_rules(&none).is_err());
        let mut c = Checks::new();
        assert_eq!(
            decimal(&mut c, "x", 1.23456, Decimal::ZERO, Decimal::ONE, false),
            Decimal::ZERO
        );
        assert!(c.finish().is_err(), "more than 4 decimals");
    }
}
