//! The loyalty programme's rules as data (SPEC §6.2): points per currency unit, outlet weights,
//! lot expiry, tier thresholds and multipliers for the group, and per-property overrides of the
//! earning rules. Changes apply to earnings posted afterwards; nothing already posted moves.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Perm, Principal};
use crate::db::schema::{loyalty_property_rules as lpr, loyalty_settings as ls, properties};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::features::loyalty::ledger::{Rules, Tier};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::now;

string_enum!(Outlet { Room => "room", FoodBeverage => "food_beverage", Banquet => "banquet", Spa => "spa", Fitness => "fitness", Other => "other" });

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TierSetting {
    pub tier: Tier,
    /// Qualifying points in the trailing 12 months that reach the tier (regular: 0).
    #[schema(example = 5000)]
    pub threshold: i64,
    /// Earning multiplier of the tier, 0.1–10.
    #[schema(example = 1.25)]
    pub multiplier: f64,
}

/// The programme: group rules plus each property's overrides.
#[derive(Debug, Serialize, ToSchema)]
pub struct Programme {
    /// Points per unit of qualifying spend in the property's currency.
    #[schema(example = 1.0)]
    pub points_per_unit: f64,
    /// Months after which an earn lot expires.
    #[schema(example = 24)]
    pub expiry_months: u32,
    /// Weight of each outlet's spend (0 excludes it).
    pub outlet_weights: BTreeMap<Outlet, f64>,
    /// Ascending thresholds.
    pub tiers: Vec<TierSetting>,
    /// Properties that override the group's earning rules.
    pub property_rules: Vec<PropertyRules>,
}

/// Replaces the group's rules (every field required).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeUpdate {
    /// Greater than 0, at most 100, up to 4 decimals.
    #[schema(example = 1.0)]
    pub points_per_unit: f64,
    /// 1–120.
    #[schema(example = 24)]
    pub expiry_months: i64,
    /// A weight for every outlet, 0–10, up to 4 decimals.
    pub outlet_weights: BTreeMap<Outlet, f64>,
    /// All four tiers once each; regular's threshold is 0 and thresholds rise with the tier.
    pub tiers: Vec<TierSetting>,
}

/// A property's earning rules: what it sets here replaces the group's value.
#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyRules {
    pub property_id: String,
    /// `null` = the group's value.
    pub points_per_unit: Option<f64>,
    /// Outlets not listed follow the group's weights.
    pub outlet_weights: BTreeMap<Outlet, f64>,
    pub updated_at: DateTime<Utc>,
}

/// Sets (replaces) a property's overrides.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyRulesUpdate {
    /// Greater than 0, at most 100; omit or `null` to follow the group.
    #[schema(example = 1.5)]
    pub points_per_unit: Option<f64>,
    /// Outlet weights for this property, 0–10 (e.g. `{"spa": 2}`); others follow the group.
    #[serde(default)]
    pub outlet_weights: BTreeMap<Outlet, f64>,
}

/// A JSON number as an exact decimal with at most 4 places, within `min..=max`.
fn decimal(c: &mut Checks, field: &str, v: f64, min: Decimal, max: Decimal, min_exclusive: bool) -> Decimal {
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

fn to_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn property_rules(conn: &mut DbConnection) -> Result<Vec<PropertyRules>, ApiError> {
    let rows: Vec<(String, Option<String>, String, NaiveDateTime)> = lpr::table
        .inner_join(properties::table)
        .order(properties::code)
        .select((
            lpr::property_id,
            lpr::points_per_unit,
            lpr::outlet_weights,
            lpr::updated_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(property_id, ppu, weights, updated_at)| {
            let bad = || ApiError::internal("loyalty property rules unreadable");
            let weights: BTreeMap<Outlet, String> = serde_json::from_str(&weights).map_err(|_| bad())?;
            Ok(PropertyRules {
                property_id,
                points_per_unit: ppu
                    .map(|p| Decimal::from_str(&p).map(to_f64))
                    .transpose()
                    .map_err(|_| bad())?,
                outlet_weights: weights
                    .into_iter()
                    .map(|(o, w)| Decimal::from_str(&w).map(|d| (o, to_f64(d))))
                    .collect::<Result<_, _>>()
                    .map_err(|_| bad())?,
                updated_at: updated_at.and_utc(),
            })
        })
        .collect()
}

fn load(conn: &mut DbConnection) -> Result<Programme, ApiError> {
    let rules = Rules::load(conn)?;
    Ok(Programme {
        points_per_unit: to_f64(rules.points_per_unit),
        expiry_months: rules.expiry_months,
        outlet_weights: Outlet::ALL
            .iter()
            .map(|o| {
                let w = rules.outlet_weights.get(o.as_str()).copied().unwrap_or(Decimal::ZERO);
                (*o, to_f64(w))
            })
            .collect(),
        tiers: rules
            .tiers
            .iter()
            .map(|t| TierSetting {
                tier: t.tier,
                threshold: t.threshold,
                multiplier: to_f64(t.multiplier),
            })
            .collect(),
        property_rules: property_rules(conn)?,
    })
}

/// The programme's rules. Not personal data: every signed-in caller may read them (the app
/// shows tier thresholds and how points are earned).
pub fn get(conn: &mut DbConnection) -> Result<Programme, ApiError> {
    read_tx(conn, load)
}

fn set(conn: &mut DbConnection, name: &str, value: String) -> Result<(), ApiError> {
    let n = diesel::update(ls::table.find(name))
        .set(ls::value.eq(&value))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(ls::table)
            .values((ls::name.eq(name), ls::value.eq(&value)))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces the group rules. Admin only; audited with the values before and after.
pub fn update(conn: &mut DbConnection, who: &Principal, input: ProgrammeUpdate) -> Result<Programme, ApiError> {
    who.require_group_wide(Perm::ProgrammeManage)?;
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
    let mut weights = serde_json::Map::new();
    for o in Outlet::ALL {
        match input.outlet_weights.get(o) {
            Some(w) => {
                let d = decimal(
                    &mut c,
                    &format!("outlet_weights.{}", o.as_str()),
                    *w,
                    Decimal::ZERO,
                    Decimal::from(10),
                    false,
                );
                weights.insert(o.as_str().into(), json!(to_f64(d)));
            }
            None => c.fail(
                format!("outlet_weights.{}", o.as_str()),
                "is required (0 excludes the outlet)",
            ),
        }
    }
    let mut tiers = input.tiers.clone();
    tiers.sort_by_key(|t| t.tier);
    let listed: Vec<Tier> = tiers.iter().map(|t| t.tier).collect();
    if listed != Tier::ALL {
        c.fail("tiers", "must list regular, silver, gold and platinum once each");
    } else {
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
        for t in &tiers {
            decimal(
                &mut c,
                &format!("tiers.{}.multiplier", t.tier.as_str()),
                t.multiplier,
                Decimal::new(1, 1),
                Decimal::from(10),
                false,
            );
        }
    }
    c.finish()?;
    write_tx(conn, |conn| {
        let before = load(conn)?;
        set(conn, "points_per_unit", ppu.to_string())?;
        set(conn, "expiry_months", input.expiry_months.to_string())?;
        set(
            conn,
            "outlet_weights",
            serde_json::Value::Object(weights.clone()).to_string(),
        )?;
        let stored: Vec<serde_json::Value> = tiers
            .iter()
            .map(|t| json!({"tier": t.tier.as_str(), "threshold": t.threshold, "multiplier": t.multiplier}))
            .collect();
        set(conn, "tiers", serde_json::Value::Array(stored).to_string())?;
        let after = load(conn)?;
        audit::record(
            conn,
            who,
            "loyalty.programme_updated",
            "loyalty_programme",
            None,
            json!({
                "before": {"points_per_unit": before.points_per_unit, "expiry_months": before.expiry_months,
                           "outlet_weights": before.outlet_weights, "tiers": before.tiers},
                "after": {"points_per_unit": after.points_per_unit, "expiry_months": after.expiry_months,
                          "outlet_weights": after.outlet_weights, "tiers": after.tiers},
            }),
        )?;
        Ok(after)
    })
}

fn require_property(conn: &mut DbConnection, who: &Principal, property_id: &str) -> Result<(), ApiError> {
    who.require(Perm::ProgrammeManage)?;
    crate::features::properties::get(conn, who, property_id).map(|_| ())
}

/// Sets a property's overrides of the earning rules. Admin only; audited.
pub fn set_property_rules(
    conn: &mut DbConnection,
    who: &Principal,
    property_id: &str,
    input: PropertyRulesUpdate,
) -> Result<PropertyRules, ApiError> {
    who.require(Perm::ProgrammeManage)?;
    let mut c = Checks::new();
    let ppu = input
        .points_per_unit
        .map(|p| decimal(&mut c, "points_per_unit", p, Decimal::ZERO, Decimal::from(100), true));
    let weights: BTreeMap<Outlet, String> = input
        .outlet_weights
        .iter()
        .map(|(o, w)| {
            let d = decimal(
                &mut c,
                &format!("outlet_weights.{}", o.as_str()),
                *w,
                Decimal::ZERO,
                Decimal::from(10),
                false,
            );
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
    let weights_json = serde_json::to_string(&weights).map_err(ApiError::internal)?;
    write_tx(conn, |conn| {
        require_property(conn, who, property_id)?;
        let ts = now();
        let ppu = ppu.map(|d| d.to_string());
        let n = diesel::update(lpr::table.find(property_id))
            .set((
                lpr::points_per_unit.eq(&ppu),
                lpr::outlet_weights.eq(&weights_json),
                lpr::updated_at.eq(ts),
            ))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(lpr::table)
                .values((
                    lpr::property_id.eq(property_id),
                    lpr::points_per_unit.eq(&ppu),
                    lpr::outlet_weights.eq(&weights_json),
                    lpr::updated_at.eq(ts),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            who,
            "loyalty.property_rules_set",
            "property",
            Some(property_id),
            json!({"points_per_unit": ppu, "outlet_weights": weights}),
        )?;
        property_rules(conn)?
            .into_iter()
            .find(|r| r.property_id == property_id)
            .ok_or_else(|| ApiError::internal("property rules vanished"))
    })
}

/// Removes a property's overrides: it follows the group again. 404 when it had none.
pub fn remove_property_rules(conn: &mut DbConnection, who: &Principal, property_id: &str) -> Result<(), ApiError> {
    who.require(Perm::ProgrammeManage)?;
    write_tx(conn, |conn| {
        require_property(conn, who, property_id)?;
        let n = diesel::delete(lpr::table.find(property_id)).execute(conn)?;
        if n == 0 {
            return Err(ApiError::NotFound(
                "this property has no earning rules of its own".into(),
            ));
        }
        audit::record(
            conn,
            who,
            "loyalty.property_rules_removed",
            "property",
            Some(property_id),
            json!({}),
        )
    })
}
