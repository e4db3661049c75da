//! Who a credential is, remembered for a moment: authenticating a request costs no database
//! round trip while the entry is fresh. Entries live `ttl` (1 s by default,
//! `CONCIERGE_AUTH_CACHE_MS`), so a deactivation, role change or key revocation made on any
//! instance takes effect on every other instance within that bound; on the instance that made
//! it, at once (the handler forgets the entry). Bounded: past `CAP` entries the cache starts
//! over rather than grow.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_keys, staff_users};

const CAP: usize = 100_000;

/// One map of fresh entries.
pub struct TtlCache<V> {
    ttl: Duration,
    map: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The entry, if it is younger than the ttl.
    pub fn get(&self, key: &str) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: &str, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CAP {
            map.clear();
        }
        map.insert(key.to_string(), (Instant::now(), value));
    }

    pub fn forget(&self, key: &str) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// What authenticating a staff token needs of the account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff_users)]
pub struct StaffAuth {
    pub role: String,
    pub property_ids: String,
    pub active: bool,
    pub session_epoch: i32,
}

/// What authenticating an API key needs of it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct KeyAuth {
    pub id: String,
    pub scopes: String,
    pub property_ids: String,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

/// The three kinds of credential: staff by user id, guests by customer id (their session
/// epoch), API keys by the key's hash. `None` remembers that there is no such account.
pub struct AuthCache {
    pub staff: TtlCache<Option<StaffAuth>>,
    pub customers: TtlCache<Option<i32>>,
    pub keys: TtlCache<Option<KeyAuth>>,
}

impl AuthCache {
    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            staff: TtlCache::new(ttl),
            customers: TtlCache::new(ttl),
            keys: TtlCache::new(ttl),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_for_the_ttl_and_can_be_forgotten() {
        let c: TtlCache<i32> = TtlCache::new(Duration::from_millis(50));
        c.put("a", 1);
        assert_eq!(c.get("a"), Some(1));
        c.forget("a");
        assert_eq!(c.get("a"), None);
        c.put("b", 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get("b"), None, "stale after the ttl");
        let off: TtlCache<i32> = TtlCache::new(Duration::ZERO);
        off.put("a", 1);
        assert_eq!(off.get("a"), None, "a zero ttl caches nothing");
    }
}
