//! Rewards catalogue (SPEC §6.2). Redemption orders live in `redemptions` and are re-exported
//! here, where the app and the handlers name them.

use diesel::prelude::*;
use serde_json::json;

use super::db::{self, RewardRow};
pub use super::model::{
    Redemption, RedemptionNote, RedemptionPage, RedemptionRequest, RedemptionStatus, Reward, RewardCreate, RewardPatch,
};
pub use super::redemptions::{cancel, fulfil, list_redemptions, redeem};
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::rewards as rw;
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};

/// Staff see the whole catalogue; guests and integrations only what can be redeemed.
pub fn list_rewards(conn: &mut DbConnection, who: &Principal) -> Result<Vec<Reward>, ApiError> {
    let all = who.require_catalogue(Perm::LoyaltyRead)?;
    let mut q = rw::table
        .select(RewardRow::as_select())
        .order((rw::points_cost, rw::code))
        .into_boxed();
    if !all {
        q = q.filter(rw::active.eq(true));
    }
    Ok(q.load::<RewardRow>(conn)?.into_iter().map(Reward::from).collect())
}

pub fn create_reward(conn: &mut DbConnection, who: &Principal, input: RewardCreate) -> Result<Reward, ApiError> {
    who.require_group_wide(Perm::RewardsManage)?;
    let mut c = Checks::new();
    let code = c.code("code", &input.code);
    let name = c.text("name", &input.name, 1, 200);
    let description = c.opt_text("description", input.description.as_deref(), 2000);
    if !(1..=10_000_000).contains(&input.points_cost) {
        c.fail("points_cost", "must be between 1 and 10,000,000");
    }
    c.finish()?;
    write_tx(conn, |conn| {
        let existing: Option<String> = rw::table
            .filter(rw::code.eq(&code))
            .select(rw::id)
            .first(conn)
            .optional()?;
        if let Some(existing_id) = existing {
            return Err(ApiError::Conflict {
                detail: format!("a reward with code {code} exists"),
                existing_id: Some(existing_id),
            });
        }
        let id = new_id();
        let ts = now();
        let active = input.active.unwrap_or(true);
        diesel::insert_into(rw::table)
            .values((
                rw::id.eq(&id),
                rw::code.eq(&code),
                rw::name.eq(&name),
                rw::description.eq(&description),
                rw::points_cost.eq(input.points_cost),
                rw::active.eq(active),
                rw::created_at.eq(ts),
                rw::updated_at.eq(ts),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "reward.created",
            "reward",
            Some(&id),
            json!({"code": code, "points_cost": input.points_cost}),
        )?;
        let data = json!({"reward_id": id, "points_cost": input.points_cost, "active": active});
        outbox::emit_in_tx(conn, who, NewEvent::new("reward.created", "reward", &id).data(data))?;
        db::load_reward(conn, &id)
    })
}

pub fn update_reward(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: RewardPatch,
) -> Result<Reward, ApiError> {
    who.require_group_wide(Perm::RewardsManage)?;
    let mut c = Checks::new();
    let name = input.name.as_deref().map(|n| c.text("name", n, 1, 200));
    let description = input
        .description
        .as_deref()
        .map(|d| c.opt_text("description", Some(d), 2000));
    if input.points_cost.is_some_and(|p| !(1..=10_000_000).contains(&p)) {
        c.fail("points_cost", "must be between 1 and 10,000,000");
    }
    c.finish()?;
    write_tx(conn, |conn| {
        // Locked before reading: the event's changed fields are those this patch changed.
        crate::db::lock_row!(conn, rw::table, rw::updated_at, id)?;
        let cur = db::load_reward(conn, id)?;
        let changed: Vec<&str> = [
            ("name", name.as_ref().is_some_and(|n| n != &cur.name)),
            (
                "description",
                description.as_ref().is_some_and(|d| d != &cur.description),
            ),
            ("points_cost", input.points_cost.is_some_and(|p| p != cur.points_cost)),
            ("active", input.active.is_some_and(|a| a != cur.active)),
        ]
        .into_iter()
        .filter_map(|(f, c)| c.then_some(f))
        .collect();
        diesel::update(rw::table.find(id))
            .set((
                rw::name.eq(name.unwrap_or(cur.name)),
                rw::description.eq(description.unwrap_or(cur.description)),
                rw::points_cost.eq(input.points_cost.unwrap_or(cur.points_cost)),
                rw::active.eq(input.active.unwrap_or(cur.active)),
                rw::updated_at.eq(now()),
            ))
            .execute(conn)?;
        audit::record(conn, who, "reward.updated", "reward", Some(id), json!({}))?;
        let after = db::load_reward(conn, id)?;
        let data =
            json!({"reward_id": id, "changed": changed, "points_cost": after.points_cost, "active": after.active});
        outbox::emit_in_tx(conn, who, NewEvent::new("reward.updated", "reward", id).data(data))?;
        Ok(after)
    })
}
