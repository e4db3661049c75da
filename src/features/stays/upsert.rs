//! Pushing stays: upsert by `(property_id, confirmation_number)`, batches with a result per
//! item, corrections by id; every change writes its stay events.

use serde_json::json;

use super::db::{load_stay, lock_stay, property_currency, resolve_customer, stay_by_confirmation};
use super::model::{Stay, StayBatch, StayBatchItem, StayBatchResult, StayInput, StayPatch, StayStatus};
use super::rules::{check_stay_fields, transition, Checked};
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::stays;
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};
use diesel::prelude::*;

/// The stay's events: `stay.upserted` always, `stay.checked_out` when it reaches check-out,
/// `stay.cancelled` when it is cancelled (`from` says whether it had checked out). Loyalty and
/// surveys follow them (`app::reactions`).
pub(crate) fn emit_stay_events_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    stay: &Stay,
    from: Option<StayStatus>,
) -> Result<(), ApiError> {
    let from_str = from.map(StayStatus::as_str);
    let base = |kind| NewEvent::new(kind, "stay", &stay.id).property(stay.property_id.as_str());
    outbox::emit_in_tx(
        conn,
        who,
        base("stay.upserted").data(json!({
            "customer_id": stay.customer_id, "status": stay.status.as_str(), "previous_status": from_str,
            "created": from.is_none(),
        })),
    )?;
    if from == Some(stay.status) {
        return Ok(());
    }
    match stay.status {
        StayStatus::CheckedOut => {
            let data = json!({"customer_id": stay.customer_id, "check_out": stay.check_out});
            outbox::emit_in_tx(conn, who, base("stay.checked_out").data(data))?;
        }
        StayStatus::Cancelled => {
            let data = json!({"customer_id": stay.customer_id, "previous_status": from_str});
            outbox::emit_in_tx(conn, who, base("stay.cancelled").data(data))?;
        }
        _ => {}
    }
    Ok(())
}

/// Applies a push to a known stay (same guest; a legal status change).
fn update_known_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    cur: Stay,
    input: &StayInput,
    f: &Checked,
    currency: &str,
) -> Result<Stay, ApiError> {
    let status = input.status.unwrap_or(cur.status);
    transition(cur.status, status)?;
    diesel::update(stays::table.find(&cur.id))
        .set((
            stays::check_in.eq(input.check_in),
            stays::check_out.eq(input.check_out),
            stays::nights.eq(f.nights),
            stays::room_type.eq(&f.room_type),
            stays::room_number.eq(&f.room_number),
            stays::rate_minor.eq(f.rate_minor),
            stays::currency.eq(f.rate_minor.map(|_| currency.to_string())),
            stays::status.eq(status.as_str()),
            stays::version.eq(cur.version + 1),
            stays::updated_at.eq(now()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        who,
        "stay.updated",
        "stay",
        Some(&cur.id),
        json!({"status": {"from": cur.status.as_str(), "to": status.as_str()}}),
    )?;
    let stay = load_stay(conn, who, &cur.id)?;
    emit_stay_events_in_tx(conn, who, &stay, Some(cur.status))?;
    load_stay(conn, who, &cur.id)
}

/// Inserts a new stay.
fn insert_new_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    input: &StayInput,
    f: &Checked,
    currency: &str,
) -> Result<Stay, ApiError> {
    let id = new_id();
    let ts = now();
    diesel::insert_into(stays::table)
        .values((
            stays::id.eq(&id),
            stays::customer_id.eq(customer_id),
            stays::property_id.eq(&input.property_id),
            stays::confirmation_number.eq(&f.confirmation),
            stays::check_in.eq(input.check_in),
            stays::check_out.eq(input.check_out),
            stays::nights.eq(f.nights),
            stays::room_type.eq(&f.room_type),
            stays::room_number.eq(&f.room_number),
            stays::rate_minor.eq(f.rate_minor),
            stays::currency.eq(f.rate_minor.map(|_| currency.to_string())),
            stays::status.eq(input.status.unwrap_or(StayStatus::Reserved).as_str()),
            stays::version.eq(1i64),
            stays::created_at.eq(ts),
            stays::updated_at.eq(ts),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        who,
        "stay.created",
        "stay",
        Some(&id),
        json!({"property_id": input.property_id}),
    )?;
    let stay = load_stay(conn, who, &id)?;
    emit_stay_events_in_tx(conn, who, &stay, None)?;
    load_stay(conn, who, &id)
}

/// Upserts one stay in the caller's transaction; `true` when created.
pub(crate) fn upsert_stay_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    input: &StayInput,
) -> Result<(Stay, bool), ApiError> {
    let currency = property_currency(conn, who, &input.property_id)?;
    let mut c = Checks::new();
    let f = check_stay_fields(&mut c, &currency, input);
    c.finish()?;
    let customer_id = resolve_customer(conn, input.customer_id.as_deref(), input.customer_ref.as_ref())?;
    match stay_by_confirmation(conn, &input.property_id, &f.confirmation)? {
        Some(found) => {
            // Concurrent pushes of one stay apply one after the other, each on the state the
            // other left (a legal transition, one check-out).
            lock_stay(conn, &found.id)?;
            let cur = load_stay(conn, who, &found.id)?;
            if cur.customer_id != customer_id {
                return Err(ApiError::Conflict {
                    detail: "this confirmation number belongs to another guest's stay".into(),
                    existing_id: Some(cur.id),
                });
            }
            Ok((update_known_in_tx(conn, who, cur, input, &f, &currency)?, false))
        }
        None => Ok((insert_new_in_tx(conn, who, &customer_id, input, &f, &currency)?, true)),
    }
}

pub fn upsert_stay(conn: &mut DbConnection, who: &Principal, input: StayInput) -> Result<(Stay, bool), ApiError> {
    who.require(Perm::StaysWrite)?;
    write_tx(conn, |conn| upsert_stay_in_tx(conn, who, &input))
}

/// Each item in its own transaction: a bad item does not undo the good ones.
pub fn upsert_batch(conn: &mut DbConnection, who: &Principal, batch: StayBatch) -> Result<StayBatchResult, ApiError> {
    who.require(Perm::StaysWrite)?;
    if batch.items.is_empty() || batch.items.len() > 1000 {
        return Err(ApiError::field("items", "must hold 1 to 1000 stays"));
    }
    let mut out = StayBatchResult {
        created: 0,
        updated: 0,
        failed: 0,
        results: Vec::with_capacity(batch.items.len()),
    };
    for (index, item) in batch.items.iter().enumerate() {
        match write_tx(conn, |conn| upsert_stay_in_tx(conn, who, item)) {
            Ok((stay, created)) => {
                if created {
                    out.created += 1;
                } else {
                    out.updated += 1;
                }
                out.results.push(StayBatchItem {
                    index,
                    status: if created { 201 } else { 200 },
                    stay_id: Some(stay.id),
                    error: None,
                });
            }
            // Whole-request failure only while nothing committed; then it is the item's result.
            Err(e) if crate::db::applied::is_already_applied(&e) => return Err(e),
            Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) if out.created + out.updated == 0 => {
                return Err(e)
            }
            Err(e) => {
                out.failed += 1;
                let problem = e.problem();
                out.results.push(StayBatchItem {
                    index,
                    status: problem.status,
                    stay_id: None,
                    error: Some(problem),
                });
            }
        }
    }
    Ok(out)
}

pub fn update_stay(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    patch: StayPatch,
    if_match: Option<i64>,
) -> Result<Stay, ApiError> {
    who.require(Perm::StaysWrite)?;
    write_tx(conn, |conn| {
        load_stay(conn, who, id)?;
        // Locked before the version is read: two patches with one If-Match apply once.
        lock_stay(conn, id)?;
        let cur = load_stay(conn, who, id)?;
        let input = StayInput {
            property_id: cur.property_id.clone(),
            confirmation_number: cur.confirmation_number.clone(),
            customer_id: Some(cur.customer_id.clone()),
            customer_ref: None,
            check_in: patch.check_in.unwrap_or(cur.check_in),
            check_out: patch.check_out.unwrap_or(cur.check_out),
            room_type: patch.room_type.clone().or(cur.room_type.clone()),
            room_number: patch.room_number.clone().or(cur.room_number.clone()),
            rate: patch.rate.clone().or(cur.rate.clone()),
            status: patch.status,
        };
        // Validated first (a bad body is a 422 whatever the version); a stale version then
        // rolls the whole transaction back.
        let (stay, _) = upsert_stay_in_tx(conn, who, &input)?;
        match if_match {
            Some(v) if v != cur.version => Err(ApiError::PreconditionFailed(format!(
                "the stay is at version {}, not {v}",
                cur.version
            ))),
            _ => Ok(stay),
        }
    })
}
