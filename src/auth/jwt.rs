//! Access tokens: HS256 JWTs, algorithm pinned, `exp`/`iat`/`iss`/`aud`/`sub` required.

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::platform::crypto::sha256_hex;
use crate::platform::error::ApiError;

pub const ISSUER: &str = "concierge";
pub const AUDIENCE: &str = "concierge-api";

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Claims {
    pub sub: String,
    /// `admin|manager|agent|analyst|customer`.
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// The subject's session epoch when the token was issued; a token from an older epoch is
    /// refused (see `staff_users.session_epoch`).
    #[serde(default)]
    pub sep: i32,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 5;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            // The key id lets a later rotation accept old and new keys side by side.
            kid: sha256_hex(&hex::encode(secret))[..8].to_string(),
            validation,
        }
    }

    pub fn issue(&self, sub: &str, role: &str, epoch: i32, ttl_secs: i64) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_string(),
            role: role.to_string(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + ttl_secs,
            jti: uuid::Uuid::now_v7().to_string(),
            sep: epoch,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        encode(&header, &claims, &self.encoding).map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| ApiError::Unauthorized(format!("invalid access token ({e})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let t = k.issue("u1", "admin", 0, 60).unwrap();
        let c = k.verify(&t).unwrap();
        assert_eq!(c.sub, "u1");
        assert_eq!(c.role, "admin");
    }

    #[test]
    fn expired_and_foreign_tokens_fail() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = JwtKeys::new(b"fedcba9876543210fedcba9876543210");
        assert!(k.verify(&k.issue("u1", "admin", 0, -60).unwrap()).is_err());
        assert!(k.verify(&other.issue("u1", "admin", 0, 60).unwrap()).is_err());
    }
}
