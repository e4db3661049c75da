//! Staff users: the people who log in to the consoles.

pub mod api;
pub mod api_keys;
mod lookup;
mod model;

pub use lookup::{
    active_staff, api_key_usable, credentials_by_email, staff_card, staff_exists, StaffCard, StaffCredentials,
};
pub use model::{StaffCreate, StaffPatch, StaffUser};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::auth::passwords::{hash_password, password_problem, PasswordHolder};
use crate::auth::{Principal, PropertyScope, Role};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::staff_users;
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::features::properties;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};

/// One row as read.
#[derive(Queryable, Selectable)]
#[diesel(table_name = staff_users)]
struct Row {
    id: String,
    email: String,
    display_name: String,
    role: String,
    property_ids: String,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn load(conn: &mut DbConnection, id: &str) -> Result<StaffUser, ApiError> {
    let r: Row = staff_users::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("staff user"))?;
    Ok(to_view(r))
}

fn to_view(r: Row) -> StaffUser {
    StaffUser {
        id: r.id,
        email: r.email,
        display_name: r.display_name,
        role: r.role.parse().unwrap_or(Role::Analyst),
        property_ids: serde_json::from_str(&r.property_ids).unwrap_or_default(),
        active: r.active,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

/// A staff user the caller manages (404 for one working beyond the caller's properties).
fn load_managed(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<StaffUser, ApiError> {
    let stored: Option<String> = staff_users::table
        .find(id)
        .select(staff_users::property_ids)
        .first(conn)
        .optional()?;
    match stored {
        Some(p) if who.manages_stored(&p) => load(conn, id),
        _ => Err(ApiError::not_found("staff user")),
    }
}

pub fn get(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<StaffUser, ApiError> {
    load_managed(conn, who, id)
}

/// The staff users the caller manages (a restricted admin: those within its properties).
pub fn list(conn: &mut DbConnection, who: &Principal) -> Result<Vec<StaffUser>, ApiError> {
    let rows: Vec<Row> = staff_users::table
        .select(Row::as_select())
        .order(staff_users::email.asc())
        .limit(1000)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|r| who.manages_stored(&r.property_ids))
        .map(to_view)
        .collect())
}

fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().map(|s| s.trim().to_string()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Creates a staff user; `who = None` for the bootstrap admin and the demo seed.
pub fn create(conn: &mut DbConnection, who: Option<&Principal>, input: StaffCreate) -> Result<StaffUser, ApiError> {
    let mut c = Checks::new();
    let email = c.email("email", &input.email);
    let display_name = c.text("display_name", &input.display_name, 1, 100);
    if let Some(m) = password_problem(&input.password, &input.email, PasswordHolder::Staff) {
        c.fail("password", m);
    }
    c.finish()?;
    let email = email.unwrap_or_default();
    let property_ids = dedup(input.property_ids);
    if let Some(who) = who {
        who.require_grantable(&PropertyScope::from_ids(&property_ids))?;
    }
    let hash = hash_password(&input.password)?;
    let id = new_id();
    write_tx(conn, |conn| {
        properties::ensure_exist(conn, &property_ids, "property_ids")?;
        let existing: Option<String> = staff_users::table
            .filter(staff_users::email.eq(&email))
            .select(staff_users::id)
            .first(conn)
            .optional()?;
        if let Some(existing_id) = existing {
            return Err(ApiError::Conflict {
                detail: "a staff user with this email exists".into(),
                existing_id: Some(existing_id),
            });
        }
        let ts = now();
        diesel::insert_into(staff_users::table)
            .values((
                staff_users::id.eq(&id),
                staff_users::email.eq(&email),
                staff_users::display_name.eq(&display_name),
                staff_users::role.eq(input.role.as_str()),
                staff_users::property_ids.eq(serde_json::to_string(&property_ids).unwrap_or_default()),
                staff_users::password_hash.eq(&hash),
                staff_users::active.eq(true),
                staff_users::created_at.eq(ts),
                staff_users::updated_at.eq(ts),
            ))
            .execute(conn)?;
        if let Some(who) = who {
            audit::record(
                conn,
                who,
                "staff.created",
                "staff_user",
                Some(&id),
                json!({"role": input.role.as_str()}),
            )?;
            outbox::emit_in_tx(
                conn,
                who,
                NewEvent::new("staff.created", "staff_user", &id)
                    .data(json!({"staff_user_id": id, "role": input.role.as_str(), "property_ids": property_ids})),
            )?;
        }
        load(conn, &id)
    })
}

pub fn update(conn: &mut DbConnection, who: &Principal, id: &str, input: StaffPatch) -> Result<StaffUser, ApiError> {
    let mut c = Checks::new();
    let display_name = input.display_name.as_deref().map(|d| c.text("display_name", d, 1, 100));
    if let Some(p) = &input.password {
        // The email never changes, so reading it ahead of the transaction is safe; the hash
        // is computed outside the transaction (Argon2 must not hold the write lock).
        let email: Option<String> = staff_users::table
            .find(id)
            .select(staff_users::email)
            .first(conn)
            .optional()?;
        if let Some(m) = password_problem(p, email.as_deref().unwrap_or_default(), PasswordHolder::Staff) {
            c.fail("password", m);
        }
    }
    c.finish()?;
    let property_ids = input.property_ids.map(dedup);
    let new_scope = property_ids.as_deref().map(PropertyScope::from_ids);
    if let Some(scope) = &new_scope {
        who.require_grantable(scope)?;
    }
    let scope_changed = new_scope.as_ref().is_some_and(|s| s != who.properties());
    who.check_own_account_change(id, input.role, scope_changed, input.active)?;
    let hash = input.password.as_deref().map(hash_password).transpose()?;
    write_tx(conn, |conn| {
        load_managed(conn, who, id)?;
        // Locked before reading: concurrent changes of one account apply one after the other.
        crate::db::lock_row!(conn, staff_users::table, staff_users::updated_at, id)?;
        let before = load_managed(conn, who, id)?;
        if let Some(p) = &property_ids {
            properties::ensure_exist(conn, p, "property_ids")?;
            // Written only when given: an unreadable stored list is never rewritten as "all".
            diesel::update(staff_users::table.find(id))
                .set(staff_users::property_ids.eq(serde_json::to_string(p).map_err(ApiError::internal)?))
                .execute(conn)?;
        }
        diesel::update(staff_users::table.find(id))
            .set((
                staff_users::display_name.eq(display_name.unwrap_or(before.display_name.clone())),
                staff_users::role.eq(input.role.unwrap_or(before.role).as_str()),
                staff_users::active.eq(input.active.unwrap_or(before.active)),
                staff_users::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if let Some(h) = &hash {
            diesel::update(staff_users::table.find(id))
                .set(staff_users::password_hash.eq(h))
                .execute(conn)?;
        }
        let after = load(conn, id)?;
        let sessions_ended = hash.is_some() || before.active != after.active || before.role != after.role;
        if sessions_ended {
            end_sessions_in_tx(conn, id)?;
        }
        audit::record(
            conn,
            who,
            "staff.updated",
            "staff_user",
            Some(id),
            json!({
                "role": {"from": before.role.as_str(), "to": after.role.as_str()},
                "active": {"from": before.active, "to": after.active},
                "property_ids_changed": before.property_ids != after.property_ids,
                "password_changed": hash.is_some(),
                "sessions_ended": sessions_ended,
            }),
        )?;
        emit_updated_in_tx(conn, who, &before, &after, hash.is_some(), sessions_ended)?;
        Ok(after)
    })
}

/// Every session of the user ends (a property change needs no new session: the scope is read
/// on every request): access tokens carry the epoch they were issued under; their refresh
/// tokens are revoked by the reaction to `staff.updated` with `sessions_ended` (sessions own
/// them), so nothing from before survives a later reactivation or a role flip-flop.
pub(crate) fn end_sessions_in_tx(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    diesel::update(staff_users::table.find(id))
        .set(staff_users::session_epoch.eq(staff_users::session_epoch + 1))
        .execute(conn)?;
    Ok(())
}

/// `staff.updated`: the names of the fields that changed, the role and status states.
fn emit_updated_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    before: &StaffUser,
    after: &StaffUser,
    password_changed: bool,
    sessions_ended: bool,
) -> Result<(), ApiError> {
    let mut changed: Vec<&str> = Vec::new();
    if before.display_name != after.display_name {
        changed.push("display_name");
    }
    if before.role != after.role {
        changed.push("role");
    }
    if before.active != after.active {
        changed.push("active");
    }
    if before.property_ids != after.property_ids {
        changed.push("property_ids");
    }
    if password_changed {
        changed.push("password");
    }
    outbox::emit_in_tx(
        conn,
        who,
        NewEvent::new("staff.updated", "staff_user", &after.id).data(json!({
            "staff_user_id": after.id,
            "changed": changed,
            "role": after.role.as_str(),
            "active": after.active,
            "sessions_ended": sessions_ended,
        })),
    )?;
    Ok(())
}
