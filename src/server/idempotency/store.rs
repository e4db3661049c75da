//! The `idempotency_keys` records: claim, lease, the stored answer, release.
//!
//! Exactly once rests on the applied marker the business transaction writes (`db::applied`),
//! not on timing: the lease only decides when a retry may try.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::applied::{already_applied, InlineClaim, RequestKey};
use crate::db::schema::idempotency_keys as t;
use crate::db::DbConnection;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::ids::now;

/// A claim lasts this long unless the running request renews it (every `RENEW_SECS`).
pub const LEASE_SECS: i64 = 15;
pub const RENEW_SECS: u64 = 5;
const KEEP_HOURS: i64 = 48;

pub enum Claim {
    /// Run the request; the key is ours.
    Run,
    Replay {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// What the claim needs to know of the request.
pub struct ClaimRequest<'a> {
    pub key: &'a RequestKey,
    pub method: &'a str,
    pub path: &'a str,
    pub request_hash: &'a str,
    pub owner: &'a str,
}

/// What a claim needs to know of a key already recorded.
#[derive(Queryable, Selectable)]
#[diesel(table_name = t)]
struct Recorded {
    request_hash: String,
    status: Option<i32>,
    response_headers: Option<String>,
    response_body: Option<String>,
    locked_until: NaiveDateTime,
    committed_attempt: Option<String>,
}

/// Drops answers older than 48 h.
pub fn purge_old(conn: &mut DbConnection) -> Result<(), ApiError> {
    diesel::delete(t::table.filter(t::created_at.lt(now() - Duration::hours(KEEP_HOURS)))).execute(conn)?;
    Ok(())
}

/// Records a key and its answer at once: when the request wrote nothing (it failed before its
/// transaction, or had none), or inside the use case's transaction (`applied`: marked applied
/// by this attempt). `Ok(false)` when another attempt recorded the key first.
pub fn insert_answered(
    conn: &mut DbConnection,
    cipher: &Cipher,
    key: &RequestKey,
    claim: &InlineClaim,
    a: &Answer<'_>,
    applied: bool,
) -> Result<bool, ApiError> {
    let ts = now();
    let insert = diesel::insert_into(t::table)
        .values((
            t::caller.eq(&key.caller),
            t::idem_key.eq(&key.key),
            t::method.eq(&claim.method),
            t::path.eq(&claim.path),
            t::request_hash.eq(&claim.request_hash),
            t::locked_until.eq(ts),
            t::created_at.eq(ts),
            t::owner.eq(&claim.owner),
            t::attempt.eq(&key.attempt),
            t::committed_attempt.eq(applied.then_some(&key.attempt)),
            t::status.eq(Some(a.status as i32)),
            t::response_headers.eq(Some(serde_json::to_string(a.headers).unwrap_or_default())),
            t::response_body.eq(Some(sealed(cipher, a.body)?)),
        ))
        .on_conflict_do_nothing();
    Ok(crate::db::dialect::execute(conn, insert)? == 1)
}

fn sealed(cipher: &Cipher, body: &[u8]) -> Result<String, ApiError> {
    Ok(format!(
        "{}:{}",
        cipher.key_id,
        cipher.encrypt(&String::from_utf8_lossy(body))?
    ))
}

pub fn claim(conn: &mut DbConnection, cipher: &Cipher, r: &ClaimRequest<'_>) -> Result<Claim, ApiError> {
    let ts = now();
    let (caller, key) = (&r.key.caller, &r.key.key);
    let inserted = diesel::insert_into(t::table)
        .values((
            t::caller.eq(caller),
            t::idem_key.eq(key),
            t::method.eq(r.method),
            t::path.eq(r.path),
            t::request_hash.eq(r.request_hash),
            t::locked_until.eq(ts + Duration::seconds(LEASE_SECS)),
            t::created_at.eq(ts),
            t::owner.eq(r.owner),
            t::attempt.eq(&r.key.attempt),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => return Ok(Claim::Run),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {}
        Err(e) => return Err(e.into()),
    }
    let Recorded {
        request_hash: hash,
        status,
        response_headers: headers,
        response_body: body,
        locked_until,
        committed_attempt: committed,
    } = t::table.find((caller, key)).select(Recorded::as_select()).first(conn)?;
    if hash != r.request_hash {
        return Err(ApiError::field(
            "Idempotency-Key",
            "was already used for a different request",
        ));
    }
    if let (Some(status), Some(body)) = (status, body) {
        return replay(cipher, status, headers, &body);
    }
    if locked_until > ts {
        return Err(still_running());
    }
    if committed.is_some() {
        // Applied, answer lost: that is the answer from now on.
        let e = already_applied();
        let answer = Answer {
            status: 409,
            headers: &[],
            body: &problem_body(&e),
        };
        store_answer(conn, cipher, caller, key, None, &answer)?;
        return Err(e);
    }
    // The first attempt died without committing: take the key over.
    let n = diesel::update(t::table.find((caller, key)))
        .filter(t::locked_until.le(ts))
        .filter(t::status.is_null())
        .set((
            t::locked_until.eq(ts + Duration::seconds(LEASE_SECS)),
            t::owner.eq(r.owner),
            t::attempt.eq(&r.key.attempt),
        ))
        .execute(conn)?;
    if n == 1 {
        Ok(Claim::Run)
    } else {
        Err(still_running())
    }
}

pub fn still_running() -> ApiError {
    ApiError::Conflict {
        detail: "a request with this Idempotency-Key is still being processed; retry shortly".into(),
        existing_id: None,
    }
}

fn problem_body(e: &ApiError) -> Vec<u8> {
    serde_json::to_vec(&e.problem()).unwrap_or_default()
}

fn replay(cipher: &Cipher, status: i32, headers: Option<String>, body: &str) -> Result<Claim, ApiError> {
    let (key_id, ct) = body
        .split_once(':')
        .ok_or_else(|| ApiError::internal("corrupt idempotency record"))?;
    let body = cipher.decrypt(key_id, ct)?.into_bytes();
    let headers: Vec<(String, String)> = serde_json::from_str(headers.as_deref().unwrap_or("[]")).unwrap_or_default();
    let mut headers = headers;
    if status >= 400 && headers.is_empty() {
        headers.push(("content-type".into(), crate::platform::error::PROBLEM_JSON.into()));
    }
    Ok(Claim::Replay {
        status: status as u16,
        headers,
        body,
    })
}

/// An answer to keep.
pub struct Answer<'a> {
    pub status: u16,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Stores the answer (encrypted: it may hold personal data or a one-time secret). Run on a
/// durable connection: a client is told this answer. With `attempt`, only the attempt that
/// applied the use case — or, if none did, the one holding the claim — may answer, so a losing
/// attempt never overwrites the winner's answer; `Ok(false)` when this attempt may not.
pub fn store_answer(
    conn: &mut DbConnection,
    cipher: &Cipher,
    caller: &str,
    key: &str,
    attempt: Option<&str>,
    a: &Answer<'_>,
) -> Result<bool, ApiError> {
    let enc = sealed(cipher, a.body)?;
    let mut q = diesel::update(t::table.find((caller, key)))
        .filter(t::status.is_null())
        .into_boxed();
    if let Some(me) = attempt {
        q = q.filter(
            t::committed_attempt
                .eq(me)
                .or(t::committed_attempt.is_null().and(t::attempt.eq(me))),
        );
    }
    let n = q
        .set((
            t::status.eq(Some(a.status as i32)),
            t::response_headers.eq(Some(serde_json::to_string(a.headers).unwrap_or_default())),
            t::response_body.eq(Some(enc)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Extends the lease of a key whose request is still running (this attempt's claim only).
pub fn renew(conn: &mut DbConnection, rk: &RequestKey) -> Result<(), ApiError> {
    diesel::update(t::table.find((&rk.caller, &rk.key)))
        .filter(t::status.is_null())
        .filter(t::attempt.eq(&rk.attempt))
        .set(t::locked_until.eq(now() + Duration::seconds(LEASE_SECS)))
        .execute(conn)?;
    Ok(())
}

/// Frees this attempt's claim after a failure so the client may retry; if the use case was
/// applied, ends the lease instead, so the retry hears "already applied" at once. A claim taken
/// over by a later attempt is left alone.
pub fn release(conn: &mut DbConnection, rk: &RequestKey) -> Result<(), ApiError> {
    let mine = t::table.find((&rk.caller, &rk.key));
    let freed = diesel::delete(mine)
        .filter(t::status.is_null())
        .filter(t::committed_attempt.is_null())
        .filter(t::attempt.eq(&rk.attempt))
        .execute(conn)?;
    if freed == 0 {
        diesel::update(mine)
            .filter(t::status.is_null())
            .filter(t::attempt.eq(&rk.attempt))
            .set(t::locked_until.eq(now()))
            .execute(conn)?;
    }
    Ok(())
}

/// At start: the keys this instance's previous run left unanswered. Those never applied are
/// freed (their requests died with the process); those applied answer "already applied" at
/// once instead of after the lease. On SQLite every open key is this process's (one instance
/// per file).
pub fn release_abandoned(conn: &mut DbConnection, owner: &str) -> Result<(usize, usize), ApiError> {
    // An embedded database has one instance: every open claim is its previous run's.
    let sqlite = crate::db::dialect::is_embedded(conn);
    let freed = if sqlite {
        diesel::delete(
            t::table
                .filter(t::status.is_null())
                .filter(t::committed_attempt.is_null()),
        )
        .execute(conn)?
    } else {
        diesel::delete(
            t::table
                .filter(t::status.is_null())
                .filter(t::committed_attempt.is_null())
                .filter(t::owner.eq(owner)),
        )
        .execute(conn)?
    };
    let expired = if sqlite {
        diesel::update(t::table.filter(t::status.is_null()))
            .set(t::locked_until.eq(now()))
            .execute(conn)?
    } else {
        diesel::update(t::table.filter(t::status.is_null()).filter(t::owner.eq(owner)))
            .set(t::locked_until.eq(now()))
            .execute(conn)?
    };
    Ok((freed, expired))
}
