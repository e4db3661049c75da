//! Properties (hotels, branches) of the group.

pub mod api;
mod model;

pub use model::{Property, PropertyCreate, PropertyPatch};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::auth::Principal;
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::properties;
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};

/// One row as read.
#[derive(Queryable, Selectable)]
#[diesel(table_name = properties)]
struct Row {
    id: String,
    code: String,
    name: String,
    timezone: String,
    currency: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn to_view(r: Row) -> Property {
    Property {
        id: r.id,
        code: r.code,
        name: r.name,
        timezone: r.timezone,
        currency: r.currency,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

fn check_code(c: &mut Checks, code: &str) -> String {
    let v = code.trim().to_ascii_uppercase();
    if !(2..=20).contains(&v.len()) || !v.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
        c.fail("code", "must be 2 to 20 characters of A-Z, 0-9 and '-'");
    }
    v
}

pub fn create(conn: &mut DbConnection, who: &Principal, input: PropertyCreate) -> Result<Property, ApiError> {
    let mut c = Checks::new();
    let code = check_code(&mut c, &input.code);
    let name = c.text("name", &input.name, 1, 200);
    let tz = c.timezone("timezone", &input.timezone);
    let cur = c.currency("currency", &input.currency);
    c.finish()?;
    let id = new_id();
    write_tx(conn, |conn| {
        let existing: Option<String> = properties::table
            .filter(properties::code.eq(&code))
            .select(properties::id)
            .first(conn)
            .optional()?;
        if let Some(existing_id) = existing {
            return Err(ApiError::Conflict {
                detail: format!("a property with code {code} exists"),
                existing_id: Some(existing_id),
            });
        }
        let ts = now();
        diesel::insert_into(properties::table)
            .values((
                properties::id.eq(&id),
                properties::code.eq(&code),
                properties::name.eq(&name),
                properties::timezone.eq(tz.unwrap_or_default()),
                properties::currency.eq(cur.unwrap_or_default()),
                properties::created_at.eq(ts),
                properties::updated_at.eq(ts),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "property.created",
            "property",
            Some(&id),
            json!({"code": code}),
        )?;
        outbox::emit_in_tx(
            conn,
            who,
            NewEvent::new("property.created", "property", &id)
                .property(id.as_str())
                .data(json!({"property_id": id})),
        )?;
        get_row(conn, &id)
    })
}

fn get_row(conn: &mut DbConnection, id: &str) -> Result<Property, ApiError> {
    properties::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(to_view)
        .ok_or_else(|| ApiError::not_found("property"))
}

/// What other features need of a property: its code, currency and time zone. No scope check:
/// the caller checks its own (`Principal::can_access_property`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = properties)]
pub struct PropertyBasics {
    pub id: String,
    pub code: String,
    pub currency: String,
    pub timezone: String,
}

pub fn basics(conn: &mut DbConnection, id: &str) -> Result<Option<PropertyBasics>, ApiError> {
    Ok(properties::table
        .find(id)
        .select(PropertyBasics::as_select())
        .first(conn)
        .optional()?)
}

/// Every property's basics, by code.
pub fn all_basics(conn: &mut DbConnection) -> Result<Vec<PropertyBasics>, ApiError> {
    Ok(properties::table
        .order(properties::code)
        .select(PropertyBasics::as_select())
        .load(conn)?)
}

/// A property the caller may see (404 outside their scope).
pub fn get(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Property, ApiError> {
    if !who.can_access_property(id) {
        return Err(ApiError::not_found("property"));
    }
    get_row(conn, id)
}

/// All properties in the caller's scope, ordered by code (a group has tens, not thousands).
pub fn list(conn: &mut DbConnection, who: &Principal) -> Result<Vec<Property>, ApiError> {
    let mut q = properties::table
        .select(Row::as_select())
        .order(properties::code.asc())
        .into_boxed();
    if let Some(scope) = who.property_scope() {
        q = q.filter(properties::id.eq_any(scope.to_vec()));
    }
    Ok(q.load::<Row>(conn)?.into_iter().map(to_view).collect())
}

pub fn update(conn: &mut DbConnection, who: &Principal, id: &str, input: PropertyPatch) -> Result<Property, ApiError> {
    let mut c = Checks::new();
    let name = input.name.as_deref().map(|n| c.text("name", n, 1, 200));
    let tz = input.timezone.as_deref().and_then(|t| c.timezone("timezone", t));
    let cur = input.currency.as_deref().and_then(|t| c.currency("currency", t));
    c.finish()?;
    write_tx(conn, |conn| {
        get(conn, who, id)?;
        // Locked before reading what the patch applies to: concurrent patches lose nothing.
        crate::db::lock_row!(conn, properties::table, properties::updated_at, id)?;
        let mut current = get(conn, who, id)?;
        let mut changed: Vec<&str> = Vec::new();
        if let Some(n) = name {
            if n != current.name {
                changed.push("name");
            }
            current.name = n;
        }
        if let Some(t) = tz {
            if t != current.timezone {
                changed.push("timezone");
            }
            current.timezone = t;
        }
        if let Some(cu) = cur {
            if cu != current.currency {
                changed.push("currency");
            }
            current.currency = cu;
        }
        diesel::update(properties::table.find(id))
            .set((
                properties::name.eq(&current.name),
                properties::timezone.eq(&current.timezone),
                properties::currency.eq(&current.currency),
                properties::updated_at.eq(now()),
            ))
            .execute(conn)?;
        audit::record(conn, who, "property.updated", "property", Some(id), json!({}))?;
        outbox::emit_in_tx(
            conn,
            who,
            NewEvent::new("property.updated", "property", id)
                .property(id)
                .data(json!({"property_id": id, "changed": changed})),
        )?;
        get_row(conn, id)
    })
}

/// Checks that every id names an existing property; 422 on `field` otherwise.
pub fn ensure_exist(conn: &mut DbConnection, ids: &[String], field: &str) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let found: Vec<String> = properties::table
        .filter(properties::id.eq_any(ids.to_vec()))
        .select(properties::id)
        .load(conn)?;
    if let Some(missing) = ids.iter().find(|i| !found.contains(i)) {
        return Err(ApiError::field(field, &format!("unknown property {missing}")));
    }
    Ok(())
}
