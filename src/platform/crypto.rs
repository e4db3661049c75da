//! Encryption at rest of identity-document numbers (AES-256-GCM) and keyed hashing.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::platform::error::ApiError;

#[derive(Clone)]
pub struct Cipher {
    key: [u8; 32],
    /// Identifies the key for rotation: the first 8 hex chars of SHA-256(key).
    pub key_id: String,
}

impl Cipher {
    pub fn new(key: [u8; 32]) -> Self {
        let key_id = hex::encode(&Sha256::digest(key)[..4]);
        Self { key, key_id }
    }

    /// `base64(nonce ‖ ciphertext+tag)`.
    pub fn encrypt(&self, plaintext: &str) -> Result<String, ApiError> {
        let cipher = Aes256Gcm::new_from_slice(&self.key).map_err(ApiError::internal)?;
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| ApiError::internal("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn decrypt(&self, key_id: &str, encoded: &str) -> Result<String, ApiError> {
        if key_id != self.key_id {
            return Err(ApiError::internal(format!(
                "document encrypted with unknown key {key_id}"
            )));
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| ApiError::internal("corrupt ciphertext"))?;
        if raw.len() < 12 {
            return Err(ApiError::internal("corrupt ciphertext"));
        }
        let cipher = Aes256Gcm::new_from_slice(&self.key).map_err(ApiError::internal)?;
        let pt = cipher
            .decrypt(Nonce::from_slice(&raw[..12]), &raw[12..])
            .map_err(|_| ApiError::internal("decryption failed"))?;
        String::from_utf8(pt).map_err(ApiError::internal)
    }
}

pub fn sha256_hex(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fresh_nonce() {
        let c = Cipher::new([1u8; 32]);
        let a = c.encrypt("E12345678").unwrap();
        let b = c.encrypt("E12345678").unwrap();
        assert_ne!(a, b, "nonce must differ per encryption");
        assert!(!a.contains("E12345678"));
        assert_eq!(c.decrypt(&c.key_id, &a).unwrap(), "E12345678");
    }

    #[test]
    fn wrong_key_fails() {
        let a = Cipher::new([1u8; 32]);
        let b = Cipher::new([2u8; 32]);
        let ct = a.encrypt("X1").unwrap();
        assert!(b.decrypt(&b.key_id, &ct).is_err());
        assert!(b.decrypt(&a.key_id, &ct).is_err());
    }
}
