//! Wire types of staff users.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Properties this user works in; empty = all.
    pub property_ids: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffCreate {
    #[schema(example = "li.na@example.com")]
    pub email: String,
    #[schema(example = "Li Na", min_length = 1, max_length = 100)]
    pub display_name: String,
    pub role: Role,
    /// Empty or absent = all properties.
    #[serde(default)]
    pub property_ids: Vec<String>,
    /// 12–128 characters, not a common password, not containing the email or its name part;
    /// write-only.
    #[schema(write_only, min_length = 12, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub property_ids: Option<Vec<String>>,
    pub active: Option<bool>,
    /// A new password (ends every session of the user): the same policy as on creation.
    #[schema(write_only, min_length = 12, max_length = 128)]
    pub password: Option<String>,
}
