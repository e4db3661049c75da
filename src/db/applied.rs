//! The applied marker of a keyed request (`Idempotency-Key`): the first statement of every write
//! transaction (`write_tx`) marks the request's key as applied by this attempt, in the same
//! transaction as the business change. A second attempt — a retry after a crash between the
//! commit and the stored answer, or a takeover while the first still runs — finds the key
//! marked by another attempt and rolls back, so a use case is applied at most once whatever
//! crashed. The server's idempotency layer names the request (`with_request_key`); outside keyed
//! requests (jobs, tools, requests without the header) nothing is checked.

use std::cell::RefCell;

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
