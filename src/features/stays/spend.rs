//! Pushing spend lines: upsert by `(property_id, external_id)`; a charge that arrives, changes
//! or moves after check-out settles the stays it touches (loyalty reacts to `spend.upserted`).

use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::json;

use super::db::{
    load_stay, property_currency, resolve_customer, spend_by_external_id, spend_line, stay_by_confirmation,
};
use super::model::{Outlet, SpendInput, SpendLine, Stay};
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::spend_lines;
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};
use crate::platform::money::to_minor;

/// The stay a line is charged to (same property), by id or confirmation number.
fn stay_of_line(conn: &mut DbConnection, who: &Principal, input: &SpendInput) -> Result<Option<Stay>, ApiError> {
    let stay = match (&input.stay_id, &input.confirmation_number) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "confirmation_number",
                "send stay_id or confirmation_number, not both",
            ))
        }
        (Some(id), None) => Some(load_stay(conn, who, id).map_err(|_| ApiError::field("stay_id", "unknown stay"))?),
        (None, Some(cn)) => Some(
            stay_by_confirmation(conn, &input.property_id, cn.trim())?.ok_or_else(|| {
                ApiError::field(
                    "confirmation_number",
                    "no stay with this confirmation number at this property",
                )
            })?,
        ),
        (None, None) => None,
    };
    if let Some(s) = &stay {
        if s.property_id != input.property_id {
            return Err(ApiError::field("stay_id", "the stay is at another property"));
        }
    }
    Ok(stay)
}

/// A spend line's values as written.
struct LineValues<'a> {
    property_id: &'a str,
    external_id: &'a str,
    customer_id: &'a str,
    stay_id: Option<&'a str>,
    outlet: Outlet,
    amount: i64,
    currency: &'a str,
    spent_on: NaiveDate,
    description: Option<&'a str>,
}

/// Updates the known line `existing` or inserts a new one; `(id, created)`.
fn write_line(conn: &mut DbConnection, existing: Option<String>, v: &LineValues) -> Result<(String, bool), ApiError> {
    let ts = now();
    if let Some(id) = existing {
        diesel::update(spend_lines::table.find(&id))
            .set((
                spend_lines::customer_id.eq(v.customer_id),
                spend_lines::stay_id.eq(v.stay_id),
                spend_lines::outlet.eq(v.outlet.as_str()),
                spend_lines::amount_minor.eq(v.amount),
                spend_lines::currency.eq(v.currency),
                spend_lines::spent_on.eq(v.spent_on),
                spend_lines::description.eq(v.description),
                spend_lines::updated_at.eq(ts),
            ))
            .execute(conn)?;
        return Ok((id, false));
    }
    let id = new_id();
    diesel::insert_into(spend_lines::table)
        .values((
            spend_lines::id.eq(&id),
            spend_lines::property_id.eq(v.property_id),
            spend_lines::external_id.eq(v.external_id),
            spend_lines::customer_id.eq(v.customer_id),
            spend_lines::stay_id.eq(v.stay_id),
            spend_lines::outlet.eq(v.outlet.as_str()),
            spend_lines::amount_minor.eq(v.amount),
            spend_lines::currency.eq(v.currency),
            spend_lines::spent_on.eq(v.spent_on),
            spend_lines::description.eq(v.description),
            spend_lines::created_at.eq(ts),
            spend_lines::updated_at.eq(ts),
        ))
        .execute(conn)?;
    Ok((id, true))
}

/// Upserts a spend line; `true` when created.
pub fn upsert_spend(
    conn: &mut DbConnection,
    who: &Principal,
    input: SpendInput,
) -> Result<(SpendLine, bool), ApiError> {
    who.require(Perm::StaysWrite)?;
    write_tx(conn, |conn| upsert_spend_in_tx(conn, who, &input))
}

pub(crate) fn upsert_spend_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    input: &SpendInput,
) -> Result<(SpendLine, bool), ApiError> {
    let currency = property_currency(conn, who, &input.property_id)?;
    let mut c = Checks::new();
    let external_id = c.text("external_id", &input.external_id, 1, 64);
    let amount = to_minor(&mut c, "amount", &input.amount, Some(&currency));
    let description = c.opt_text("description", input.description.as_deref(), 200);
    c.finish()?;
    let stay = stay_of_line(conn, who, input)?;
    let customer_id = match (&stay, &input.customer_id) {
        (Some(s), Some(cid)) if &s.customer_id != cid => {
            return Err(ApiError::field("customer_id", "does not match the stay's guest"))
        }
        (Some(s), _) => s.customer_id.clone(),
        (None, cid) => resolve_customer(conn, cid.as_deref(), None)?,
    };
    let existing = spend_by_external_id(conn, &input.property_id, &external_id)?;
    let stay_before = existing.as_ref().and_then(|e| e.1.clone());
    let stay_id = stay.as_ref().map(|s| s.id.clone());
    let values = LineValues {
        property_id: &input.property_id,
        external_id: &external_id,
        customer_id: &customer_id,
        stay_id: stay_id.as_deref(),
        outlet: input.outlet,
        amount: amount.unwrap_or_default(),
        currency: &currency,
        spent_on: input.spent_on,
        description: description.as_deref(),
    };
    let (id, created) = write_line(conn, existing.map(|e| e.0), &values)?;
    audit::record(
        conn,
        who,
        if created { "spend.created" } else { "spend.updated" },
        "spend_line",
        Some(&id),
        json!({"stay_id": stay_id}),
    )?;
    // A charge that arrives, changes or moves after check-out settles the stays it touches
    // (loyalty reacts to the event).
    let moved_from = stay_before.filter(|b| Some(b) != stay_id.as_ref());
    let data = json!({"stay_id": stay_id, "previous_stay_id": moved_from, "created": created});
    let ev = NewEvent::new("spend.upserted", "spend_line", &id).property(input.property_id.as_str());
    outbox::emit_in_tx(conn, who, ev.data(data))?;
    Ok((spend_line(conn, &id)?, created))
}
