//! Wire types of properties.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
