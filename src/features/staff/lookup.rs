//! What other features read of staff accounts: who they are, where they work, whether they may
//! sign in. Staff's tables are read here only.

use diesel::prelude::*;

use crate::auth::scope::works_at;
use crate::auth::Role;
use crate::db::schema::staff_users;
use crate::db::DbConnection;
use crate::platform::error::ApiError;

/// A staff member as other features see them.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff_users)]
pub struct StaffCard {
    pub id: String,
    pub display_name: String,
    pub role: String,
    property_ids: String,
    pub active: bool,
    pub session_epoch: i32,
}

impl StaffCard {
    /// Whether they work at the property (an unrestricted account works everywhere).
    pub fn works_at(&self, property_id: &str) -> bool {
        works_at(&self.property_ids, property_id)
    }

    pub fn role(&self) -> Option<Role> {
        self.role.parse().ok()
    }
}

pub fn staff_card(conn: &mut DbConnection, id: &str) -> Result<Option<StaffCard>, ApiError> {
    Ok(staff_users::table
        .find(id)
        .select(StaffCard::as_select())
        .first(conn)
        .optional()?)
}

pub fn staff_exists(conn: &mut DbConnection, id: &str) -> Result<bool, ApiError> {
    Ok(staff_card(conn, id)?.is_some())
}

/// Active staff: those of `ids`, or (without ids) those of `role`; by id.
pub fn active_staff(conn: &mut DbConnection, ids: Option<&[String]>, role: Role) -> Result<Vec<StaffCard>, ApiError> {
    let mut q = staff_users::table
        .filter(staff_users::active.eq(true))
        .select(StaffCard::as_select())
        .order(staff_users::id)
        .into_boxed();
    q = match ids {
        Some(ids) => q.filter(staff_users::id.eq_any(ids.to_vec())),
        None => q.filter(staff_users::role.eq(role.as_str())),
    };
    Ok(q.load(conn)?)
}

/// What signing in needs of an account, by its (normalised) email.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = staff_users)]
pub struct StaffCredentials {
    pub id: String,
    pub role: String,
    pub password_hash: String,
    pub active: bool,
    pub session_epoch: i32,
}

pub fn credentials_by_email(conn: &mut DbConnection, email: &str) -> Result<Option<StaffCredentials>, ApiError> {
    Ok(staff_users::table
        .filter(staff_users::email.eq(email))
        .select(StaffCredentials::as_select())
        .first(conn)
        .optional()?)
}

/// Whether an API key can still be used at `now` (not revoked, not expired): work accepted
/// earlier on its behalf (a bulk import) stops when it no longer can.
pub fn api_key_usable(conn: &mut DbConnection, id: &str, now: chrono::NaiveDateTime) -> Result<bool, ApiError> {
    use crate::db::schema::api_keys;
    let row: Option<(Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>)> = api_keys::table
        .find(id)
        .select((api_keys::revoked_at, api_keys::expires_at))
        .first(conn)
        .optional()?;
    Ok(matches!(row, Some((None, exp)) if exp.is_none_or(|e| e > now)))
}
