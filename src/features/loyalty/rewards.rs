//! Rewards catalogue and redemption orders (SPEC §6.2): `pending → fulfilled | cancelled`. The
//! `redeem` entry is posted when the order is placed; cancelling posts a `reverse` entry that
//! gives the points back to the lots they came from.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Actor, Perm, Principal};
use crate::db::schema::{ledger_lot_consumptions as lc, redemptions as rd, rewards as rw};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::features::loyalty::ledger::{self as loyalty, Consume, EntryKind, Posting, Rules};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};
use crate::platform::page::{self as pagination, Order, Page, PageItem, PageParams};

#[derive(Debug, Serialize, ToSchema)]
pub struct Reward {
    pub id: String,
    #[schema(example = "FREE-NIGHT")]
    pub code: String,
    #[schema(example = "Free night (standard room)")]
    pub name: String,
    pub description: Option<String>,
    #[schema(example = 5000)]
    pub points_cost: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardCreate {
    #[schema(example = "FREE-NIGHT", pattern = "^[A-Za-z0-9_-]{2,40}$")]
    pub code: String,
    #[schema(example = "Free night (standard room)", min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(example = 5000, minimum = 1, maximum = 10_000_000)]
    pub points_cost: i64,
    /// Default true.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub points_cost: Option<i64>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionStatus {
    Pending,
    Fulfilled,
    Cancelled,
}

impl RedemptionStatus {
    fn as_str(self) -> &'static str {
        match self {
            RedemptionStatus::Pending => "pending",
            RedemptionStatus::Fulfilled => "fulfilled",
            RedemptionStatus::Cancelled => "cancelled",
        }
    }
    fn parse(s: &str) -> RedemptionStatus {
        match s {
            "fulfilled" => RedemptionStatus::Fulfilled,
            "cancelled" => RedemptionStatus::Cancelled,
            _ => RedemptionStatus::Pending,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redemption {
    pub id: String,
    pub customer_id: String,
    pub reward_id: String,
    pub points: i64,
    pub status: RedemptionStatus,
    pub redeem_entry_id: String,
    pub reverse_entry_id: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub type RedemptionPage = Page<Redemption>;

impl PageItem for Redemption {
    const PAGE: &'static str = "RedemptionPage";
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionRequest {
    pub reward_id: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RedemptionNote {
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

type RewardRow = (
    String,
    String,
    String,
    Option<String>,
    i64,
    bool,
    NaiveDateTime,
    NaiveDateTime,
);
type RedemptionRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
fn reward_cols() -> (
    rw::id,
    rw::code,
    rw::name,
    rw::description,
    rw::points_cost,
    rw::active,
    rw::created_at,
    rw::updated_at,
) {
    (
        rw::id,
        rw::code,
        rw::name,
        rw::description,
        rw::points_cost,
        rw::active,
        rw::created_at,
        rw::updated_at,
    )
}

#[allow(clippy::type_complexity)]
fn redemption_cols() -> (
    rd::id,
    rd::customer_id,
    rd::reward_id,
    rd::points,
    rd::status,
    rd::redeem_entry_id,
    rd::reverse_entry_id,
    rd::note,
    rd::created_at,
    rd::updated_at,
) {
    (
        rd::id,
        rd::customer_id,
        rd::reward_id,
        rd::points,
        rd::status,
        rd::redeem_entry_id,
        rd::reverse_entry_id,
        rd::note,
        rd::created_at,
        rd::updated_at,
    )
}

fn to_reward(r: RewardRow) -> Reward {
    Reward {
        id: r.0,
        code: r.1,
        name: r.2,
        description: r.3,
        points_cost: r.4,
        active: r.5,
        created_at: r.6.and_utc(),
        updated_at: r.7.and_utc(),
    }
}

fn to_redemption(r: RedemptionRow) -> Redemption {
    Redemption {
        id: r.0,
        customer_id: r.1,
        reward_id: r.2,
        points: r.3,
        status: RedemptionStatus::parse(&r.4),
        redeem_entry_id: r.5,
        reverse_entry_id: r.6,
        note: r.7,
        created_at: r.8.and_utc(),
        updated_at: r.9.and_utc(),
    }
}

fn load_reward(conn: &mut DbConnection, id: &str) -> Result<Reward, ApiError> {
    rw::table
        .find(id)
        .select(reward_cols())
        .first::<RewardRow>(conn)
        .optional()?
        .map(to_reward)
        .ok_or_else(|| ApiError::not_found("reward"))
}

fn load_redemption(conn: &mut DbConnection, id: &str) -> Result<Redemption, ApiError> {
    rd::table
        .find(id)
        .select(redemption_cols())
        .first::<RedemptionRow>(conn)
        .optional()?
        .map(to_redemption)
        .ok_or_else(|| ApiError::not_found("redemption"))
}

/// Staff see the whole catalogue; guests and integrations only what can be redeemed.
pub fn list_rewards(conn: &mut DbConnection, who: &Principal) -> Result<Vec<Reward>, ApiError> {
    let all = matches!(&who.actor, Actor::Staff(_));
    if let Actor::ApiKey(_) = who.actor {
        who.require(Perm::LoyaltyRead)?;
    }
    let mut q = rw::table
        .select(reward_cols())
        .order((rw::points_cost, rw::code))
        .into_boxed();
    if !all {
        q = q.filter(rw::active.eq(true));
    }
    Ok(q.load::<RewardRow>(conn)?.into_iter().map(to_reward).collect())
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
        diesel::insert_into(rw::table)
            .values((
                rw::id.eq(&id),
                rw::code.eq(&code),
                rw::name.eq(&name),
                rw::description.eq(&description),
                rw::points_cost.eq(input.points_cost),
                rw::active.eq(input.active.unwrap_or(true)),
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
        load_reward(conn, &id)
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
        let cur = load_reward(conn, id)?;
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
        load_reward(conn, id)
    })
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
        let reward = load_reward(conn, &req.reward_id).map_err(|_| ApiError::field("reward_id", "unknown reward"))?;
        if !reward.active {
            return Err(ApiError::field("reward_id", "this reward is not available"));
        }
        let rules = Rules::load(conn)?;
        let (entry, replayed) = loyalty::post(
            conn,
            who,
            &rules,
            Posting {
                customer_id,
                kind: EntryKind::Redeem,
                points: -reward.points_cost,
                qualifying: false,
                reason: format!("redeemed {}", reward.code),
                source: Some(("reward", reward.id.clone())),
                property_id: None,
                idempotency_key: Some(format!("redeem:{key}")),
                reverses_id: None,
                consume: Consume::Fifo,
                restores: None,
            },
        )?;
        if replayed {
            let id: String = rd::table
                .filter(rd::redeem_entry_id.eq(&entry.id))
                .select(rd::id)
                .first(conn)?;
            return Ok((load_redemption(conn, &id)?, false));
        }
        let id = new_id();
        let ts = now();
        diesel::insert_into(rd::table)
            .values((
                rd::id.eq(&id),
                rd::customer_id.eq(customer_id),
                rd::reward_id.eq(&reward.id),
                rd::points.eq(reward.points_cost),
                rd::status.eq(RedemptionStatus::Pending.as_str()),
                rd::redeem_entry_id.eq(&entry.id),
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
        Ok((load_redemption(conn, &id)?, true))
    })
}

fn allowed_for(who: &Principal, r: &Redemption) -> Result<(), ApiError> {
    match &who.actor {
        Actor::Customer { customer_id } if customer_id == &r.customer_id => Ok(()),
        Actor::Customer { .. } => Err(ApiError::not_found("redemption")),
        _ => who.require(Perm::RedemptionsManage),
    }
}

fn illegal(r: &Redemption, to: &str) -> ApiError {
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

/// Staff hand the reward over.
pub fn fulfil(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    note: RedemptionNote,
) -> Result<Redemption, ApiError> {
    who.require(Perm::RedemptionsManage)?;
    write_tx(conn, |conn| {
        let r = load_redemption(conn, id)?;
        if r.status == RedemptionStatus::Fulfilled {
            return Ok(r);
        }
        if r.status != RedemptionStatus::Pending {
            return Err(illegal(&r, "fulfilled"));
        }
        diesel::update(rd::table.find(id))
            .set((
                rd::status.eq("fulfilled"),
                rd::note.eq(note.note.or(r.note.clone())),
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
        load_redemption(conn, id)
    })
}

/// Cancels a pending order (staff, or the guest themself); the points come back.
pub fn cancel(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    note: RedemptionNote,
) -> Result<Redemption, ApiError> {
    write_tx(conn, |conn| {
        let r = load_redemption(conn, id)?;
        allowed_for(who, &r)?;
        if r.status == RedemptionStatus::Cancelled {
            return Ok(r);
        }
        if r.status != RedemptionStatus::Pending {
            return Err(illegal(&r, "cancelled"));
        }
        // Give the points back to the very lots they came from.
        let restores: Vec<(String, i64)> = lc::table
            .filter(lc::entry_id.eq(&r.redeem_entry_id))
            .select((lc::lot_id, lc::points))
            .load(conn)?;
        let rules = Rules::load(conn)?;
        let (entry, _) = loyalty::post(
            conn,
            who,
            &rules,
            Posting {
                customer_id: &r.customer_id,
                kind: EntryKind::Reverse,
                points: r.points,
                qualifying: false,
                reason: "redemption cancelled".into(),
                source: Some(("redemption", r.id.clone())),
                property_id: None,
                idempotency_key: Some(format!("reverse:{}", r.redeem_entry_id)),
                reverses_id: Some(r.redeem_entry_id.clone()),
                consume: Consume::Fifo,
                restores: Some(restores),
            },
        )?;
        diesel::update(rd::table.find(id))
            .set((
                rd::status.eq("cancelled"),
                rd::reverse_entry_id.eq(Some(&entry.id)),
                rd::note.eq(note.note.or(r.note.clone())),
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
        load_redemption(conn, id)
    })
}

pub fn list_redemptions(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    page: &PageParams,
) -> Result<RedemptionPage, ApiError> {
    match &who.actor {
        Actor::Customer { customer_id: me } if me == customer_id => {}
        Actor::Customer { .. } => return Err(ApiError::not_found("customer")),
        _ => who.require(Perm::LoyaltyRead)?,
    }
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let mut q = rd::table
            .filter(rd::customer_id.eq(customer_id))
            .select(redemption_cols())
            .order(rd::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(a) = &cur.after {
            q = q.filter(rd::id.lt(a.clone()));
        }
        let rows: Vec<RedemptionRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.0);
        Ok(RedemptionPage {
            data: rows.into_iter().map(to_redemption).collect(),
            next_cursor,
        })
    })
}
