//! Interactions: communication records with a guest (manual §4.4) — when, channel, what was
//! said, result, staff member, follow-up status.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Actor, Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{customers, interactions as t};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::features::guests::model::{double_option, Direction, FollowUpStatus, InteractionChannel};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};
use crate::platform::page::{self as pagination, Order, Page, PageItem, PageParams};

#[derive(Debug, Serialize, ToSchema)]
pub struct Interaction {
    pub id: String,
    pub customer_id: String,
    pub property_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub channel: InteractionChannel,
    pub direction: Direction,
    pub summary: String,
    pub content: Option<String>,
    pub result: Option<String>,
    /// The staff member who logged it (null when an integration did).
    pub staff_id: Option<String>,
    pub follow_up_status: FollowUpStatus,
    pub follow_up_due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub type InteractionPage = Page<Interaction>;

impl PageItem for Interaction {
    const PAGE: &'static str = "InteractionPage";
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionCreate {
    /// Defaults to now; not in the future.
    pub occurred_at: Option<DateTime<Utc>>,
    pub channel: InteractionChannel,
    pub direction: Direction,
    #[schema(example = "Called to confirm airport pickup", min_length = 1, max_length = 200)]
    pub summary: String,
    #[schema(max_length = 5000)]
    pub content: Option<String>,
    #[schema(max_length = 500)]
    pub result: Option<String>,
    pub property_id: Option<String>,
    /// Defaults to `none` (or `pending` when a due time is given).
    pub follow_up_status: Option<FollowUpStatus>,
    pub follow_up_due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(max_length = 500)]
    pub result: Option<Option<String>>,
    pub follow_up_status: Option<FollowUpStatus>,
    #[serde(default, deserialize_with = "double_option")]
    pub follow_up_due_at: Option<Option<DateTime<Utc>>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InteractionFilter {
    pub follow_up_status: Option<FollowUpStatus>,
}

/// One row as read.
#[derive(Queryable, Selectable)]
#[diesel(table_name = t)]
struct Row {
    id: String,
    customer_id: String,
    property_id: Option<String>,
    occurred_at: NaiveDateTime,
    channel: String,
    direction: String,
    summary: String,
    content: Option<String>,
    result: Option<String>,
    staff_id: Option<String>,
    follow_up_status: String,
    follow_up_due_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn to_view(r: Row) -> Interaction {
    Interaction {
        id: r.id,
        customer_id: r.customer_id,
        property_id: r.property_id,
        occurred_at: r.occurred_at.and_utc(),
        channel: InteractionChannel::parse(&r.channel).unwrap_or(InteractionChannel::Other),
        direction: Direction::parse(&r.direction).unwrap_or(Direction::Inbound),
        summary: r.summary,
        content: r.content,
        result: r.result,
        staff_id: r.staff_id,
        follow_up_status: FollowUpStatus::parse(&r.follow_up_status).unwrap_or(FollowUpStatus::None),
        follow_up_due_at: r.follow_up_due_at.map(|d| d.and_utc()),
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

fn ensure_customer(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    let n: i64 = customers::table.find(id).count().get_result(conn)?;
    if n == 0 {
        return Err(ApiError::not_found("customer"));
    }
    Ok(())
}

fn load(conn: &mut DbConnection, who: &Principal, customer_id: &str, id: &str) -> Result<Interaction, ApiError> {
    let r: Row = t::table
        .find(id)
        .filter(t::customer_id.eq(customer_id))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("interaction"))?;
    let i = to_view(r);
    if let Some(p) = &i.property_id {
        if !who.can_access_property(p) {
            return Err(ApiError::not_found("interaction"));
        }
    }
    Ok(i)
}

pub fn create(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    input: InteractionCreate,
) -> Result<Interaction, ApiError> {
    who.require(Perm::InteractionsWrite)?;
    let mut c = Checks::new();
    let summary = c.text("summary", &input.summary, 1, 200);
    let content = c.opt_text("content", input.content.as_deref(), 5000);
    let result = c.opt_text("result", input.result.as_deref(), 500);
    let occurred = input.occurred_at.unwrap_or_else(Utc::now);
    if occurred > Utc::now() + chrono::Duration::minutes(5) {
        c.fail("occurred_at", "must not be in the future");
    }
    c.finish()?;
    if let Some(p) = &input.property_id {
        if !who.can_access_property(p) {
            return Err(ApiError::field("property_id", "unknown property"));
        }
    }
    let status = input.follow_up_status.unwrap_or(if input.follow_up_due_at.is_some() {
        FollowUpStatus::Pending
    } else {
        FollowUpStatus::None
    });
    let staff_id = match &who.actor {
        Actor::Staff(s) => Some(s.id.clone()),
        _ => None,
    };
    let id = new_id();
    write_tx(conn, |conn| {
        ensure_customer(conn, customer_id)?;
        if let Some(p) = &input.property_id {
            crate::features::properties::ensure_exist(conn, std::slice::from_ref(p), "property_id")?;
        }
        let ts = now();
        diesel::insert_into(t::table)
            .values((
                t::id.eq(&id),
                t::customer_id.eq(customer_id),
                t::property_id.eq(&input.property_id),
                t::occurred_at.eq(occurred.naive_utc()),
                t::channel.eq(input.channel.as_str()),
                t::direction.eq(input.direction.as_str()),
                t::summary.eq(&summary),
                t::content.eq(&content),
                t::result.eq(&result),
                t::staff_id.eq(&staff_id),
                t::follow_up_status.eq(status.as_str()),
                t::follow_up_due_at.eq(input.follow_up_due_at.map(|d| d.naive_utc())),
                t::created_at.eq(ts),
                t::updated_at.eq(ts),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "interaction.created",
            "customer",
            Some(customer_id),
            json!({"interaction_id": id}),
        )?;
        let created = load(conn, who, customer_id, &id)?;
        emit_in_tx(conn, who, "interaction.created", &created, &[])?;
        Ok(created)
    })
}

/// `interaction.created` / `interaction.updated`: ids, channel, follow-up state, changed names.
fn emit_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    kind: &'static str,
    i: &Interaction,
    changed: &[&str],
) -> Result<(), ApiError> {
    outbox::emit_in_tx(
        conn,
        who,
        NewEvent::new(kind, "interaction", &i.id)
            .property(i.property_id.as_deref())
            .data(json!({
                "interaction_id": i.id,
                "customer_id": i.customer_id,
                "channel": i.channel.as_str(),
                "direction": i.direction.as_str(),
                "follow_up_status": i.follow_up_status.as_str(),
                "changed": changed,
            })),
    )?;
    Ok(())
}

/// Newest first; interactions at properties outside the caller's scope are left out.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    f: &InteractionFilter,
    page: &PageParams,
) -> Result<InteractionPage, ApiError> {
    who.require(Perm::InteractionsRead)?;
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        ensure_customer(conn, customer_id)?;
        let mut q = t::table
            .filter(t::customer_id.eq(customer_id))
            .select(Row::as_select())
            .order(t::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(scope) = who.property_scope() {
            q = q.filter(t::property_id.is_null().or(t::property_id.eq_any(scope.to_vec())));
        }
        if let Some(s) = f.follow_up_status {
            q = q.filter(t::follow_up_status.eq(s.as_str()));
        }
        if let Some(a) = &cur.after {
            q = q.filter(t::id.lt(a.clone()));
        }
        let rows: Vec<Row> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        Ok(InteractionPage {
            data: rows.into_iter().map(to_view).collect(),
            next_cursor,
        })
    })
}

pub fn update(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    id: &str,
    input: InteractionPatch,
) -> Result<Interaction, ApiError> {
    who.require(Perm::InteractionsWrite)?;
    let mut c = Checks::new();
    let result = input.result.as_ref().map(|r| c.opt_text("result", r.as_deref(), 500));
    c.finish()?;
    write_tx(conn, |conn| {
        let cur = load(conn, who, customer_id, id)?;
        let due = match input.follow_up_due_at {
            Some(d) => d.map(|x| x.naive_utc()),
            None => cur.follow_up_due_at.map(|d| d.naive_utc()),
        };
        diesel::update(t::table.find(id))
            .set((
                t::result.eq(result.unwrap_or(cur.result.clone())),
                t::follow_up_status.eq(input.follow_up_status.unwrap_or(cur.follow_up_status).as_str()),
                t::follow_up_due_at.eq(due),
                t::updated_at.eq(now()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "interaction.updated",
            "customer",
            Some(customer_id),
            json!({"interaction_id": id}),
        )?;
        let after = load(conn, who, customer_id, id)?;
        let mut changed = Vec::new();
        if after.result != cur.result {
            changed.push("result");
        }
        if after.follow_up_status != cur.follow_up_status {
            changed.push("follow_up_status");
        }
        if after.follow_up_due_at != cur.follow_up_due_at {
            changed.push("follow_up_due_at");
        }
        emit_in_tx(conn, who, "interaction.updated", &after, &changed)?;
        Ok(after)
    })
}
