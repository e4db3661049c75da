//! Settings read on every request of a kind (the loyalty programme's rules) remembered for a
//! moment, per database: a posting reads them from memory instead of the database.
//!
//! The bound: a value lives `TTL` (1 s). A change committed through this process is forgotten at
//! once (`forget`, after the commit); a change made by another instance takes effect here within
//! the TTL. A load that raced with a change never stores the old value over it: each name has a
//! generation, bumped by `forget`, and a value loaded under an older generation is not kept.
//!
//! The memo of a database is found through the connection the use case runs on
//! (`db::local`); on a bare connection (tools, tests) nothing is remembered and every read goes
//! to the database.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::DbConnection;
use crate::platform::error::ApiError;

pub const TTL: Duration = Duration::from_secs(1);

type Value = Arc<dyn Any + Send + Sync>;

/// One database's remembered values.
#[derive(Default)]
pub struct Memo {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    values: HashMap<&'static str, (Instant, u64, Value)>,
    generations: HashMap<&'static str, u64>,
}

impl Memo {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fresh<T: Clone + 'static>(&self, name: &'static str) -> (Option<T>, u64) {
        let inner = self.lock();
        let generation = inner.generations.get(name).copied().unwrap_or(0);
        let value = inner
            .values
            .get(name)
            .filter(|(at, g, _)| *g == generation && at.elapsed() < TTL)
            .and_then(|(_, _, v)| v.downcast_ref::<T>().cloned());
        (value, generation)
    }

    fn keep(&self, name: &'static str, generation: u64, value: Value) {
        let mut inner = self.lock();
        if inner.generations.get(name).copied().unwrap_or(0) == generation {
            inner.values.insert(name, (Instant::now(), generation, value));
        }
    }

    fn forget(&self, name: &'static str) {
        let mut inner = self.lock();
        *inner.generations.entry(name).or_default() += 1;
        inner.values.remove(name);
    }
}

/// `name`'s value: remembered if fresh, else loaded on `conn` and remembered. Only for reads
/// of settings the running use case does not change (it would remember its own uncommitted
/// write).
pub fn cached<T, F>(conn: &mut DbConnection, name: &'static str, load: F) -> Result<T, ApiError>
where
    T: Clone + Send + Sync + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    let Some(local) = super::local::current() else {
        return load(conn);
    };
    let memo = &local.memo;
    let (value, generation) = memo.fresh::<T>(name);
    if let Some(v) = value {
        return Ok(v);
    }
    let v = load(conn)?;
    memo.keep(name, generation, Arc::new(v.clone()));
    Ok(v)
}

/// Forgets `name` in this process, after a change of it was committed.
pub fn forget(name: &'static str) {
    if let Some(local) = super::local::current() {
        local.memo.forget(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_raced_with_a_change_is_not_kept() {
        let memo = Memo::default();
        let (none, generation) = memo.fresh::<u32>("rules");
        assert!(none.is_none());
        memo.forget("rules"); // a change committed while the old value was being read
        memo.keep("rules", generation, Arc::new(1u32));
        assert_eq!(memo.fresh::<u32>("rules").0, None, "the stale value was not kept");
        let (_, generation) = memo.fresh::<u32>("rules");
        memo.keep("rules", generation, Arc::new(2u32));
        assert_eq!(memo.fresh::<u32>("rules").0, Some(2));
        memo.forget("rules");
        assert_eq!(memo.fresh::<u32>("rules").0, None, "forgotten at once");
    }
}
