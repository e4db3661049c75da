//! Fixed-window in-memory rate limiting (per instance): requests per caller, and login and
//! registration attempts per account and per client address.
//!
//! Login attempts are *reserved* before the password is checked (`hit_all` counts every key at
//! once under one lock, or none), so parallel guesses cannot all reach the Argon2 check before
//! the first failure is counted; an attempt that turns out not to be a failure gives its slot
//! back (`refund`) or clears the account (`reset`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    buckets: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one hit; `Err(retry_after_secs)` when over the limit.
    pub fn hit(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let left = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Counts one hit against every `(key, limit)` at once, or against none when any key is at
    /// its limit: `Err(retry_after_secs)` then names the longest wait.
    pub fn hit_all(&self, keys: &[(&str, u32)]) -> Result<(), u64> {
        let now = Instant::now();
        let window = self.window;
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let mut wait = 0;
        for (key, limit) in keys {
            if let Some((start, n)) = map.get(*key) {
                if now.duration_since(*start) < window && n >= limit {
                    wait = wait.max(window.saturating_sub(now.duration_since(*start)).as_secs().max(1));
                }
            }
        }
        if wait > 0 {
            return Err(wait);
        }
        for (key, _) in keys {
            let entry = map.entry((*key).to_string()).or_insert((now, 0));
            if now.duration_since(entry.0) >= window {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
        Ok(())
    }

    /// Gives back one hit counted by `hit`/`hit_all` (the attempt was not a failure).
    pub fn refund(&self, key: &str) {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(key) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }

    /// Whether `key` is over the limit, without counting.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some((start, n)) if now.duration_since(*start) < self.window && *n >= self.limit => {
                Err(self.window.saturating_sub(now.duration_since(*start)).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn reset(&self, key: &str) {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_within_window() {
        let r = RateLimiter::new(2, Duration::from_secs(60));
        assert!(r.hit("a").is_ok());
        assert!(r.hit("a").is_ok());
        let retry = r.hit("a").unwrap_err();
        assert!((1..=60).contains(&retry));
        assert!(r.check("a").is_err());
        assert!(r.hit("b").is_ok());
        r.reset("a");
        assert!(r.hit("a").is_ok());
    }

    #[test]
    fn hit_all_counts_every_key_or_none() {
        let r = RateLimiter::new(100, Duration::from_secs(60));
        assert!(r.hit_all(&[("acct", 2), ("addr", 3)]).is_ok());
        assert!(r.hit_all(&[("acct", 2), ("addr", 3)]).is_ok());
        // The account is full: nothing is counted, not even on the address.
        assert!(r.hit_all(&[("acct", 2), ("addr", 3)]).is_err());
        assert!(r.hit_all(&[("other", 2), ("addr", 3)]).is_ok());
        assert!(r.hit_all(&[("third", 2), ("addr", 3)]).is_err());
        r.refund("addr");
        assert!(r.hit_all(&[("third", 2), ("addr", 3)]).is_ok());
        r.refund("never-seen");
    }
}
