//! API keys: `ck_live_<8 public chars>_<64 hex secret>`; only the SHA-256 hash is stored.

use crate::platform::crypto::sha256_hex;

pub const KEY_PREFIX: &str = "ck_live_";

pub struct GeneratedKey {
    /// Shown once, in the creation answer.
    pub key: String,
    /// Public identifier, e.g. `ck_live_3fa9c2d1`.
    pub prefix: String,
    pub hash: String,
}

pub fn generate() -> GeneratedKey {
    let public = super::random_hex(4);
    let secret = super::random_hex(32); // 256 random bits
    let prefix = format!("{KEY_PREFIX}{public}");
    let key = format!("{prefix}_{secret}");
    let hash = sha256_hex(&key);
    GeneratedKey { key, prefix, hash }
}

pub fn hash(key: &str) -> String {
    sha256_hex(key)
}

pub fn looks_like_key(token: &str) -> bool {
    token.starts_with("ck_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_shape() {
        let k = generate();
        assert!(k.key.starts_with(&k.prefix));
        assert_eq!(k.key.len(), KEY_PREFIX.len() + 8 + 1 + 64);
        assert_eq!(hash(&k.key), k.hash);
        assert_ne!(generate().key, k.key);
    }
}
