//! Redemption orders (SPEC §6.2): `pending → fulfilled | cancelled`. The `redeem` entry is
//! posted when the order is placed; cancelling posts a `reverse` entry that gives the points
//! back to the lots they came from.

use diesel::prelude::*;
use serde_json::json;

use super::db::{self, RedemptionRow};
use super::model::{
    EntryKind, Redemption, RedemptionNote, RedemptionPage, RedemptionRequest, RedemptionStatus, Reward,
};
use super::posting::{post, Posting};
use super::rules::{illegal_redemption_change, Rules};
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::redemptions as rd;
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};
use crate::platform::page::{self as pagination, Order, PageParams};

/// `redemption.<what>` on the order: ids, points and status (never the note).
fn emit_redemption_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    kind: &'static str,
    r: &Redemption,
) -> Result<(), ApiError> {
    let data = json!({
        "redemption_id": r.id, "customer_id": r.customer_id, "reward_id": r.reward_id, "points": r.points,
        "status": r.status.as_str(), "redeem_entry_id": r.redeem_entry_id, "reverse_entry_id": r.reverse_entry_id,
    });
    outbox::emit_in_tx(conn, who, NewEvent::new(kind, "redemption", &r.id).data(data))?;
    Ok(())
}

fn place_order_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    reward: &Reward,
    entry_id: &str,
) -> Result<Redemption, ApiError> {
    let id = new_id();
    let ts = now();
    diesel::insert_into(rd::table)
        .values((
            rd::id.eq(&id),
            rd::customer_id.eq(customer_id),
            rd::reward_id.eq(&reward.id),
            rd::points.eq(reward.points_cost),
            rd::status.eq(RedemptionStatus::Pending.as_str()),
            rd::redeem_entry_id.eq(entry_id),
            rd::created_at.eq(ts),
            rd::updated_at.eq(ts),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        who,
        "loyalty.redeemed",
        "customer",
        Some(customer_id),
        json!({"redemption_id": id, "reward": reward.code}),
    )?;
    let r = db::load_redemption(conn, &id)?;
    emit_redemption_in_tx(conn, who, "redemption.created", &r)?;
    Ok(r)
}

/// A guest redeems a reward: the points leave at once (soonest-expiring lots first).
pub fn redeem(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    req: RedemptionRequest,
    key: &str,
) -> Result<(Redemption, bool), ApiError> {
    write_tx(conn, |conn| {
        let reward =
            db::load_reward(conn, &req.reward_id).map_err(|_| ApiError::field("reward_id", "unknown reward"))?;
        if !reward.active {
            return Err(ApiError::field("reward_id", "this reward is not available"));
        }
        let rules = Rules::cached(conn)?;
        let posting = Posting::new(
            customer_id,
            EntryKind::Redeem,
            -reward.points_cost,
            format!("redeemed {}", reward.code),
        )
        .source("reward", reward.id.clone())
        .key(Some(format!("redeem:{key}")));
        let (entry, replayed) = post(conn, who, &rules, posting)?;
        if replayed {
            let id: String = rd::table
                .filter(rd::redeem_entry_id.eq(&entry.id))
                .select(rd::id)
                .first(conn)?;
            return Ok((db::load_redemption(conn, &id)?, false));
        }
        Ok((place_order_in_tx(conn, who, customer_id, &reward, &entry.id)?, true))
    })
}

/// Staff hand the reward over.
pub fn fulfil(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    note: RedemptionNote,
) -> Result<Redemption, ApiError> {
    who.require(Perm::RedemptionsManage)?;
    let note = checked_note(note)?;
    write_tx(conn, |conn| {
        let r = db::load_redemption(conn, id)?;
        if r.status == RedemptionStatus::Fulfilled {
            return Ok(r);
        }
        if r.status != RedemptionStatus::Pending {
            return Err(illegal_redemption_change(&r, "fulfilled"));
        }
        diesel::update(rd::table.find(id))
            .set((
                rd::status.eq("fulfilled"),
                rd::note.eq(note.clone().or(r.note.clone())),
                rd::updated_at.eq(now()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "loyalty.redemption_fulfilled",
            "customer",
            Some(&r.customer_id),
            json!({"redemption_id": id}),
        )?;
        let r = db::load_redemption(conn, id)?;
        emit_redemption_in_tx(conn, who, "redemption.fulfilled", &r)?;
        Ok(r)
    })
}

/// Cancels a pending order (staff, or the guest themself); the points come back.
pub fn cancel(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    note: RedemptionNote,
) -> Result<Redemption, ApiError> {
    let note = checked_note(note)?;
    write_tx(conn, |conn| {
        let r = db::load_redemption(conn, id)?;
        who.require_staff_or_owner(Perm::RedemptionsManage, &r.customer_id, "redemption")?;
        if r.status == RedemptionStatus::Cancelled {
            return Ok(r);
        }
        if r.status != RedemptionStatus::Pending {
            return Err(illegal_redemption_change(&r, "cancelled"));
        }
        // Give the points back to the very lots they came from.
        let restores = db::consumptions_of(conn, &r.redeem_entry_id)?;
        let rules = Rules::cached(conn)?;
        let posting = Posting::new(&r.customer_id, EntryKind::Reverse, r.points, "redemption cancelled")
            .source("redemption", r.id.clone())
            .key(Some(format!("reverse:{}", r.redeem_entry_id)))
            .restoring(&r.redeem_entry_id, restores);
        let (entry, _) = post(conn, who, &rules, posting)?;
        diesel::update(rd::table.find(id))
            .set((
                rd::status.eq("cancelled"),
                rd::reverse_entry_id.eq(Some(&entry.id)),
                rd::note.eq(note.clone().or(r.note.clone())),
                rd::updated_at.eq(now()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "loyalty.redemption_cancelled",
            "customer",
            Some(&r.customer_id),
            json!({"redemption_id": id}),
        )?;
        let r = db::load_redemption(conn, id)?;
        emit_redemption_in_tx(conn, who, "redemption.cancelled", &r)?;
        Ok(r)
    })
}

/// The note of a fulfilment or cancellation: at most 500 characters, no control characters;
/// blank means none. Checked before anything is read, so a repeated call is refused alike.
fn checked_note(note: RedemptionNote) -> Result<Option<String>, ApiError> {
    let mut c = Checks::new();
    let note = note
        .note
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| c.text("note", s, 1, 500));
    c.finish()?;
    Ok(note)
}

pub fn list_redemptions(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    page: &PageParams,
) -> Result<RedemptionPage, ApiError> {
    who.require_staff_or_owner(Perm::LoyaltyRead, customer_id, "customer")?;
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let mut q = rd::table
            .filter(rd::customer_id.eq(customer_id))
            .select(RedemptionRow::as_select())
            .order(rd::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(a) = &cur.after {
            q = q.filter(rd::id.lt(a.clone()));
        }
        let rows: Vec<RedemptionRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        Ok(RedemptionPage {
            data: rows.into_iter().map(Redemption::from).collect(),
            next_cursor,
        })
    })
}
