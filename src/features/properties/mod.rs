//! Properties (hotels, branches) of the group.

pub mod api;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::db::schema::properties;
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};

#[derive(Debug, Serialize, ToSchema)]
pub struct Property {
    pub id: String,
    #[schema(example = "SHA-BUND")]
    pub code: String,
    #[schema(example = "Concierge Bund Shanghai")]
    pub name: String,
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    #[schema(example = "CNY")]
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyCreate {
    /// Unique short code, `[A-Z0-9-]`, 2–20 characters.
    #[schema(
        example = "SHA-BUND",
        min_length = 2,
        max_length = 20,
        pattern = "^[A-Za-z0-9-]{2,20}$"
    )]
    pub code: String,
    #[schema(example = "Concierge Bund Shanghai", min_length = 1, max_length = 200)]
    pub name: String,
    /// IANA time zone.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    /// ISO 4217.
    #[schema(example = "CNY", pattern = "^[A-Za-z]{3}$")]
    pub currency: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub currency: Option<String>,
}

type Row = (String, String, String, String, String, NaiveDateTime, NaiveDateTime);

const COLS: (
    properties::id,
    properties::code,
    properties::name,
    properties::timezone,
    properties::currency,
    properties::created_at,
    properties::updated_at,
) = (
    properties::id,
    properties::code,
    properties::name,
    properties::timezone,
    properties::currency,
    properties::created_at,
    properties::updated_at,
);

fn to_view(r: Row) -> Property {
    Property {
        id: r.0,
        code: r.1,
        name: r.2,
        timezone: r.3,
        currency: r.4,
        created_at: r.5.and_utc(),
        updated_at: r.6.and_utc(),
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
        get_row(conn, &id)
    })
}

fn get_row(conn: &mut DbConnection, id: &str) -> Result<Property, ApiError> {
    properties::table
        .find(id)
        .select(COLS)
        .first::<Row>(conn)
        .optional()?
        .map(to_view)
        .ok_or_else(|| ApiError::not_found("property"))
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
        .select(COLS)
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
        let mut current = get(conn, who, id)?;
        if let Some(n) = name {
            current.name = n;
        }
        if let Some(t) = tz {
            current.timezone = t;
        }
        if let Some(cu) = cur {
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
