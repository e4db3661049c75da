//! Authentication (who is calling) and authorization (what they may do).

pub mod access;
pub mod api_keys;
pub mod jwt;
pub mod limits;
pub mod operations;
pub mod passwords;
pub mod principal;
pub mod rate_limit;
pub mod rules;
pub mod scope;

pub use access::{Perm, PersonalView};
pub use principal::{Actor, Principal, Role, Scope};
pub use scope::PropertyScope;

use rand::RngCore;

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}
