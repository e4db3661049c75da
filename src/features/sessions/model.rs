//! Wire types of sessions: logins, sign-up, tokens.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "admin@example.com")]
    pub email: String,
    #[schema(example = "change-me-now-42", write_only)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "guest@example.com")]
    pub email: String,
    /// 10–128 characters, not a common password, not containing the email or its name part.
    #[schema(example = "a-long-passphrase", write_only, min_length = 10, max_length = 128)]
    pub password: String,
    #[schema(example = "Wei", min_length = 1, max_length = 100)]
    pub given_name: String,
    #[schema(example = "Zhang", min_length = 1, max_length = 100)]
    pub family_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Single-use; exchange at `/api/v1/auth/refresh`.
    pub refresh_token: String,
}
