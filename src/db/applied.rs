//! The applied marker of a keyed request (`Idempotency-Key`): the first statement of every write
//! transaction (`write_tx`) marks the request's key as applied by this attempt, in the same
//! transaction as the business change. A second attempt — a retry after a crash between the
//! commit and the stored answer, or a takeover while the first still runs — finds the key
//! marked by another attempt and rolls back, so a use case is applied at most once whatever
//! crashed. The server's idempotency layer names the request (`with_request_key`); outside keyed
//! requests (jobs, tools, requests without the header) nothing is checked.
//!
//! A key nobody has used yet is claimed *inline*: the first write transaction inserts the key's
//! record, already marked applied by this attempt, instead of a claim committed beforehand. A
//! concurrent attempt with the same key then waits on that row (PostgreSQL) or on the database
//! (SQLite) and finds it taken. A use case whose answer is stored in the same transaction
//! (`AppState::db_answered`) thus costs one commit in all.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use diesel::prelude::*;

use super::schema::idempotency_keys as t;
use super::DbConnection;
use crate::platform::error::ApiError;

/// The keyed request being served: who, which key, and this attempt's id.
#[derive(Clone, Debug)]
pub struct RequestKey {
    pub caller: String,
    pub key: String,
    pub attempt: String,
    /// Set when the key had no record: the first write transaction creates it.
    pub inline: Option<Arc<InlineClaim>>,
}

/// What the record of an inline claim holds, and whether the answer was stored with the use case.
#[derive(Debug)]
pub struct InlineClaim {
    pub method: String,
    pub path: String,
    pub request_hash: String,
    pub owner: String,
    pub lease_secs: i64,
    answered: AtomicBool,
    deferred: AtomicBool,
}

impl InlineClaim {
    pub fn new(method: String, path: String, request_hash: String, owner: String, lease_secs: i64) -> Self {
        InlineClaim {
            method,
            path,
            request_hash,
            owner,
            lease_secs,
            answered: AtomicBool::new(false),
            deferred: AtomicBool::new(false),
        }
    }

    /// The use case (of one transaction) writes the key's record with its answer, at the end
    /// of that transaction, instead of first: one statement instead of two. A concurrent
    /// attempt that got there first then makes that insert, and so the whole use case, fail.
    pub fn defer(&self) {
        self.deferred.store(true, Ordering::SeqCst);
    }

    pub fn deferred(&self) -> bool {
        self.deferred.load(Ordering::SeqCst)
    }

    /// The use case's transaction stored the answer too: nothing is left to store.
    pub fn set_answered(&self) {
        self.answered.store(true, Ordering::SeqCst);
    }

    pub fn answered(&self) -> bool {
        self.answered.load(Ordering::SeqCst)
    }
}

impl RequestKey {
    /// The current thread's keyed request, if any.
    pub fn current() -> Option<RequestKey> {
        CURRENT.with(|c| c.borrow().clone())
    }
}

thread_local! {
    /// Set while a keyed request's use case runs on a blocking thread (`AppState::run`).
    static CURRENT: RefCell<Option<RequestKey>> = const { RefCell::new(None) };
}

/// Runs `f` with `key` as the current keyed request of this thread.
pub fn with_request_key<T>(key: Option<RequestKey>, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.with(|c| *c.borrow_mut() = None);
        }
    }
    CURRENT.with(|c| *c.borrow_mut() = key);
    let _reset = Reset;
    f()
}

const ALREADY_APPLIED: &str = "a request with this Idempotency-Key was already applied, but its answer was lost \
     when the server stopped; read the resource to see the result";

/// Answer to a retry whose first attempt committed but whose answer was never stored (the
/// server or the database stopped in between). It is stored as the key's answer.
pub fn already_applied() -> ApiError {
    ApiError::Conflict {
        detail: ALREADY_APPLIED.into(),
        existing_id: None,
    }
}

/// Whether `e` is that refusal: a use case running several transactions (a batch) must stop at
/// it rather than report it per item.
pub fn is_already_applied(e: &ApiError) -> bool {
    matches!(e, ApiError::Conflict { detail, .. } if detail == ALREADY_APPLIED)
}

/// Called first inside every write transaction: marks the current request's key as applied by
/// this attempt, or refuses if another attempt already applied it. Outside keyed requests
/// (jobs, tools, requests without the header) it does nothing.
pub fn mark_applied(conn: &mut DbConnection) -> Result<(), ApiError> {
    let Some(k) = CURRENT.with(|c| c.borrow().clone()) else {
        return Ok(());
    };
    if let Some(claim) = &k.inline {
        return claim_inline(conn, &k, claim);
    }
    let n = diesel::update(t::table.find((&k.caller, &k.key)))
        .filter(t::committed_attempt.is_null().or(t::committed_attempt.eq(&k.attempt)))
        .set(t::committed_attempt.eq(&k.attempt))
        .execute(conn)?;
    if n == 1 {
        return Ok(());
    }
    let marked: Option<Option<String>> = t::table
        .find((&k.caller, &k.key))
        .select(t::committed_attempt)
        .first(conn)
        .optional()?;
    match marked {
        Some(Some(_)) => Err(already_applied()),
        // The key's record is gone (released by a stale attempt, or purged): applying now could
        // not be guarded, so refuse; the client's retry claims the key afresh.
        _ => Err(ApiError::Unavailable("the Idempotency-Key record is gone".into())),
    }
}

/// The inline claim: inserts the key's record marked applied by this attempt; a later write
/// transaction of the same request finds its own mark. A record of anyone else (a concurrent
/// attempt that got there first) refuses: the server's idempotency layer then answers from it.
fn claim_inline(conn: &mut DbConnection, k: &RequestKey, c: &InlineClaim) -> Result<(), ApiError> {
    if c.deferred() {
        return Ok(());
    }
    let ts = crate::platform::ids::now();
    let insert = diesel::insert_into(t::table)
        .values((
            t::caller.eq(&k.caller),
            t::idem_key.eq(&k.key),
            t::method.eq(&c.method),
            t::path.eq(&c.path),
            t::request_hash.eq(&c.request_hash),
            t::locked_until.eq(ts + chrono::Duration::seconds(c.lease_secs)),
            t::created_at.eq(ts),
            t::owner.eq(&c.owner),
            t::attempt.eq(&k.attempt),
            t::committed_attempt.eq(&k.attempt),
        ))
        .on_conflict_do_nothing();
    if super::dialect::execute(conn, insert)? == 1 {
        return Ok(());
    }
    let mine = t::table
        .find((&k.caller, &k.key))
        .filter(t::committed_attempt.eq(&k.attempt))
        .count()
        .get_result::<i64>(conn)?;
    if mine == 1 {
        return Ok(());
    }
    Err(got_there_first())
}

/// A concurrent attempt with the same key recorded it first (the server's idempotency layer
/// answers from that record instead).
pub fn got_there_first() -> ApiError {
    ApiError::Conflict {
        detail: "another request with this Idempotency-Key got there first".into(),
        existing_id: None,
    }
}
