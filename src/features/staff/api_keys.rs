//! Scoped API keys for PMS/POS/OTA integrations: shown once, stored as a hash.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{api_keys, Principal, PropertyScope, Scope};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::api_keys as t;
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::features::properties;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// Public identifier shown in consoles and logs, e.g. `ck_live_3fa9c2d1`.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// Restricted to these properties; empty = all.
    pub property_ids: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The creation answer: the only time the full key is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret key. Store it now: it is never shown again.
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    #[schema(example = "Opera PMS Shanghai", min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(min_items = 1)]
    pub scopes: Vec<Scope>,
    #[serde(default)]
    pub property_ids: Vec<String>,
    /// Optional expiry; must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

/// One row as read.
#[derive(Queryable, Selectable)]
#[diesel(table_name = t)]
struct Row {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    property_ids: String,
    expires_at: Option<NaiveDateTime>,
    last_used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

fn to_view(r: Row) -> ApiKey {
    ApiKey {
        id: r.id,
        name: r.name,
        prefix: r.prefix,
        scopes: serde_json::from_str(&r.scopes).unwrap_or_default(),
        property_ids: serde_json::from_str(&r.property_ids).unwrap_or_default(),
        expires_at: r.expires_at.map(|d| d.and_utc()),
        last_used_at: r.last_used_at.map(|d| d.and_utc()),
        revoked_at: r.revoked_at.map(|d| d.and_utc()),
        created_at: r.created_at.and_utc(),
    }
}

fn load(conn: &mut DbConnection, id: &str) -> Result<ApiKey, ApiError> {
    t::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(to_view)
        .ok_or_else(|| ApiError::not_found("API key"))
}

/// A key the caller manages (404 for one reaching beyond a restricted admin's properties).
fn load_managed(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<ApiKey, ApiError> {
    let stored: Option<String> = t::table.find(id).select(t::property_ids).first(conn).optional()?;
    match stored {
        Some(p) if who.manages_stored(&p) => load(conn, id),
        _ => Err(ApiError::not_found("API key")),
    }
}

pub fn get(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<ApiKey, ApiError> {
    load_managed(conn, who, id)
}

/// The keys the caller manages (a restricted admin: those within its properties).
pub fn list(conn: &mut DbConnection, who: &Principal) -> Result<Vec<ApiKey>, ApiError> {
    let rows: Vec<Row> = t::table
        .select(Row::as_select())
        .order(t::id.desc())
        .limit(1000)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|r| who.manages_stored(&r.property_ids))
        .map(to_view)
        .collect())
}

pub fn create(conn: &mut DbConnection, who: &Principal, input: ApiKeyCreate) -> Result<ApiKeyCreated, ApiError> {
    let mut c = Checks::new();
    let name = c.text("name", &input.name, 1, 100);
    if input.scopes.is_empty() {
        c.fail("scopes", "must list at least one scope");
    }
    if input.expires_at.is_some_and(|e| e <= Utc::now()) {
        c.fail("expires_at", "must be in the future");
    }
    c.finish()?;
    let mut scopes = input.scopes;
    scopes.sort_by_key(|s| s.as_str());
    scopes.dedup();
    let mut property_ids = input.property_ids;
    property_ids.sort();
    property_ids.dedup();
    who.require_grantable(&PropertyScope::from_ids(&property_ids))?;
    let generated = api_keys::generate();
    let id = new_id();
    let api_key = write_tx(conn, |conn| {
        properties::ensure_exist(conn, &property_ids, "property_ids")?;
        diesel::insert_into(t::table)
            .values((
                t::id.eq(&id),
                t::name.eq(&name),
                t::prefix.eq(&generated.prefix),
                t::key_hash.eq(&generated.hash),
                t::scopes.eq(serde_json::to_string(&scopes).unwrap_or_default()),
                t::property_ids.eq(serde_json::to_string(&property_ids).unwrap_or_default()),
                t::expires_at.eq(input.expires_at.map(|e| e.naive_utc())),
                t::created_by.eq(who.actor_id()),
                t::created_at.eq(now()),
            ))
            .execute(conn)?;
        let scope_names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        audit::record(
            conn,
            who,
            "api_key.created",
            "api_key",
            Some(&id),
            json!({"prefix": generated.prefix, "scopes": scope_names}),
        )?;
        outbox::emit_in_tx(
            conn,
            who,
            NewEvent::new("api_key.created", "api_key", &id)
                .data(json!({"api_key_id": id, "scopes": scope_names, "property_ids": property_ids})),
        )?;
        load(conn, &id)
    })?;
    Ok(ApiKeyCreated {
        api_key,
        key: generated.key,
    })
}

pub fn revoke(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let key = load_managed(conn, who, id)?;
        if key.revoked_at.is_none() {
            diesel::update(t::table.find(id))
                .set(t::revoked_at.eq(Some(now())))
                .execute(conn)?;
            audit::record(
                conn,
                who,
                "api_key.revoked",
                "api_key",
                Some(id),
                json!({"prefix": key.prefix}),
            )?;
            outbox::emit_in_tx(
                conn,
                who,
                NewEvent::new("api_key.revoked", "api_key", id).data(json!({"api_key_id": id})),
            )?;
        }
        Ok(())
    })
}
