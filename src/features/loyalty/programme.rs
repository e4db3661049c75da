//! The loyalty programme's rules as data (SPEC §6.2): points per currency unit, outlet weights,
//! lot expiry, tier thresholds and multipliers for the group, and per-property overrides of the
//! earning rules. Changes apply to earnings posted afterwards; nothing already posted moves.

use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::db;
pub use super::model::{Outlet, Programme, ProgrammeUpdate, PropertyRules, PropertyRulesUpdate, TierSetting};
use super::rules::{check_programme, check_property_rules, to_f64, Rules};
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;

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
        property_rules: db::property_rules(conn)?,
    })
}

/// The programme's rules. Not personal data: every signed-in caller may read them (the app
/// shows tier thresholds and how points are earned).
pub fn get(conn: &mut DbConnection) -> Result<Programme, ApiError> {
    read_tx(conn, load)
}

/// The group rules as the audit and the event compare them.
fn group_rules(p: &Programme) -> Value {
    json!({"points_per_unit": p.points_per_unit, "expiry_months": p.expiry_months,
           "outlet_weights": p.outlet_weights, "tiers": p.tiers})
}

/// The names of the fields of `after` that differ from `before`.
fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return vec![];
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Replaces the group rules. Admin only; audited with the values before and after.
pub fn update(conn: &mut DbConnection, who: &Principal, input: ProgrammeUpdate) -> Result<Programme, ApiError> {
    who.require_group_wide(Perm::ProgrammeManage)?;
    let checked = check_programme(&input)?;
    let updated = write_tx(conn, |conn| {
        let before = load(conn)?;
        db::set_setting(conn, "points_per_unit", checked.points_per_unit.to_string())?;
        db::set_setting(conn, "expiry_months", checked.expiry_months.to_string())?;
        db::set_setting(
            conn,
            "outlet_weights",
            Value::Object(checked.outlet_weights.clone()).to_string(),
        )?;
        db::set_setting(conn, "tiers", checked.tiers_json().to_string())?;
        let after = load(conn)?;
        let (b, a) = (group_rules(&before), group_rules(&after));
        audit::record(
            conn,
            who,
            "loyalty.programme_updated",
            "loyalty_programme",
            None,
            json!({"before": b, "after": a}),
        )?;
        let data = json!({"changed": changed_fields(&b, &a)});
        let ev = NewEvent::new("loyalty_programme.updated", "loyalty_programme", "group").data(data);
        outbox::emit_in_tx(conn, who, ev)?;
        Ok(after)
    })?;
    // Committed: postings through this process use the new rules from now on (others within
    // `db::memo::TTL`).
    Rules::forget_cached();
    Ok(updated)
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
    let (ppu, weights) = check_property_rules(&input)?;
    let weights_json = serde_json::to_string(&weights).map_err(ApiError::internal)?;
    write_tx(conn, |conn| {
        require_property(conn, who, property_id)?;
        let ppu = ppu.map(|d| d.to_string());
        db::store_property_rules(conn, property_id, &ppu, &weights_json)?;
        audit::record(
            conn,
            who,
            "loyalty.property_rules_set",
            "property",
            Some(property_id),
            json!({"points_per_unit": ppu, "outlet_weights": weights}),
        )?;
        let outlets: Vec<&str> = weights.keys().map(|o| o.as_str()).collect();
        let data = json!({"property_id": property_id, "points_per_unit_set": ppu.is_some(), "outlets": outlets});
        let ev = NewEvent::new("loyalty_property_rules.updated", "loyalty_property_rules", property_id);
        outbox::emit_in_tx(conn, who, ev.property(property_id).data(data))?;
        db::property_rules(conn)?
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
        if !db::delete_property_rules(conn, property_id)? {
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
        )?;
        let ev = NewEvent::new("loyalty_property_rules.removed", "loyalty_property_rules", property_id);
        outbox::emit_in_tx(
            conn,
            who,
            ev.property(property_id).data(json!({"property_id": property_id})),
        )?;
        Ok(())
    })
}
