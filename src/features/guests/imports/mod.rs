//! Bulk guest imports (`POST /api/v1/customer-imports`, `concierge import FILE`): an NDJSON or
//! CSV file, one guest per record, the same fields and validation as `POST /customers`, upserted
//! by external reference or email. The upload is stored in chunks and answered 202; a worker
//! applies the chunks in the background (leased, so any instance resumes an import another left
//! behind); a bad record fails alone.

mod batch;
pub mod db;
pub mod model;
pub mod records;
pub mod run;

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use serde_json::json;

use self::db::ImportRow;
use self::model::CustomerImport;
use self::records::Format;
use self::run::StoredRecord;
use crate::auth::{Perm, Principal};
use crate::db::{read_tx, with_conn, write_tx, DbConnection, Pool};
use crate::features::audit;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::ids::{new_id, now};
use crate::server::workers::Signal;

/// Records per stored chunk (and per transaction when applied): short transactions on SQLite,
/// whose one writer the others wait for (`db::dialect::batch_per_write`).
pub fn chunk_records(backend: crate::db::Backend) -> usize {
    crate::db::dialect::batch_per_write(backend)
}
/// Bytes of records per stored chunk at most (an upload holds at most this much in memory).
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// The largest file accepted.
pub const MAX_IMPORT_BYTES: u64 = 1024 * 1024 * 1024;
/// Imports one caller may have open (uploading, queued or running) at once: the disk they may
/// fill with waiting records is bounded (this × `MAX_IMPORT_BYTES`).
pub const MAX_OPEN_PER_CALLER: i64 = 3;

/// What `begin` found.
pub enum Begun {
    /// A new import to upload into.
    New(String),
    /// The import this caller's Idempotency-Key already started (the body must be the same).
    Existing(Box<ImportRow>),
}

/// Opens an import for `who` (guests refused), or finds the one their key opened.
pub fn begin(
    conn: &mut DbConnection,
    who: &Principal,
    format: Format,
    header: Option<&[String]>,
    key: Option<&str>,
    me: &str,
) -> Result<Begun, ApiError> {
    who.require(Perm::CustomersWrite)?;
    let actor = who
        .snapshot()
        .ok_or_else(|| ApiError::Forbidden("this caller cannot run imports".into()))?;
    write_tx(conn, |conn| {
        let ts = now();
        if let Some(k) = key {
            if let Some(old) = db::by_key(conn, who.actor_kind(), who.actor_id(), k)? {
                if old.state != "receiving" {
                    return Ok(Begun::Existing(Box::new(old)));
                }
                if old.lease_until.is_some_and(|t| t > ts) {
                    return Err(ApiError::Conflict {
                        detail: "an upload with this Idempotency-Key is still running".into(),
                        existing_id: Some(old.id),
                    });
                }
                db::delete(conn, &old.id)?; // an abandoned upload: start over
            }
        }
        // Two uploads of one caller started together count each other.
        let caller = format!("customer_imports:{}:{}", who.actor_kind(), who.actor_id());
        crate::db::dialect::serialize_on(conn, &caller)?;
        if db::open_count(conn, who.actor_kind(), who.actor_id())? >= MAX_OPEN_PER_CALLER {
            return Err(ApiError::Conflict {
                detail: format!(
                    "{MAX_OPEN_PER_CALLER} imports of yours are still open (uploading, queued or running); \
                     start another when one has ended"
                ),
                existing_id: None,
            });
        }
        let id = new_id();
        db::insert(
            conn,
            &ImportRow {
                id: id.clone(),
                format: format.as_str().into(),
                state: "receiving".into(),
                header: header.map(|h| json!(h).to_string()),
                total: 0,
                processed: 0,
                created: 0,
                updated: 0,
                failed: 0,
                actor,
                actor_kind: who.actor_kind().into(),
                actor_id: who.actor_id().into(),
                idempotency_key: key.map(str::to_string),
                body_sha256: None,
                lease_owner: Some(me.into()),
                lease_until: Some(ts + Span::seconds(db::LEASE_SECS)),
                created_at: ts,
                updated_at: ts,
                finished_at: None,
            },
        )?;
        Ok(Begun::New(id))
    })
}

/// Stores one chunk of an upload.
pub fn add_chunk(conn: &mut DbConnection, id: &str, seq: i64, records: &[StoredRecord]) -> Result<(), ApiError> {
    let first_line = records.first().map(|r| r.0).unwrap_or(0);
    let text = serde_json::to_string(records).map_err(ApiError::internal)?;
    write_tx(conn, |conn| {
        db::add_chunk(conn, id, seq, first_line, &text, records.len() as i64, now())
    })
}

/// Ends an upload: the import is queued for the workers. Audited (no personal data: counts).
pub fn seal(conn: &mut DbConnection, who: &Principal, id: &str, sha: &str) -> Result<CustomerImport, ApiError> {
    write_tx(conn, |conn| {
        if !db::seal(conn, id, sha, now())? {
            return Err(ApiError::Unavailable("the import was given up while uploading".into()));
        }
        let row = db::find(conn, id)?.ok_or_else(|| ApiError::not_found("import"))?;
        audit::record(
            conn,
            who,
            "customer_import.created",
            "customer_import",
            Some(id),
            json!({"format": row.format, "total": row.total}),
        )?;
        db::view(conn, row)
    })
}

/// Keeps a slow upload's lease alive between chunks.
pub fn keep_uploading(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    if write_tx(conn, |conn| db::renew_upload(conn, id, now()))? {
        Ok(())
    } else {
        Err(ApiError::Unavailable("the import was given up while uploading".into()))
    }
}

/// Gives up an upload that failed (best effort: an abandoned one is swept later anyway).
pub fn abandon(conn: &mut DbConnection, id: &str) {
    if let Err(e) = write_tx(conn, |conn| db::delete(conn, id)) {
        log::warn!("import {id}: the abandoned upload could not be deleted yet: {e}");
    }
}

/// One import, for the caller who started it (or an admin); others get 404.
pub fn get(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<CustomerImport, ApiError> {
    who.require(Perm::CustomersWrite)?;
    read_tx(conn, |conn| {
        let row = db::find(conn, id)?.ok_or_else(|| ApiError::not_found("import"))?;
        let own = row.actor_kind == who.actor_kind() && row.actor_id == who.actor_id();
        if !own && !who.sees_others_work() {
            return Err(ApiError::not_found("import"));
        }
        db::view(conn, row)
    })
}

/// Applies every import that is waiting (and sweeps abandoned uploads); returns how many it
/// finished or advanced. `concierge run-jobs` and the worker call it.
pub fn run_pending(pool: &Pool, cipher: &Cipher, me: &str) -> Result<usize, ApiError> {
    with_conn(pool, |conn| write_tx(conn, |conn| db::delete_abandoned(conn, now())))?;
    let mut n = 0;
    while let Some(id) = with_conn(pool, |conn| write_tx(conn, |conn| db::claim(conn, me, now())))? {
        run::run_import(pool, cipher, &id, me, |_| {})?;
        n += 1;
    }
    Ok(n)
}

/// Applies import `id` here and now (the command line), reporting progress after each chunk;
/// `false` when another worker holds it.
pub fn apply_now(
    pool: &Pool,
    cipher: &Cipher,
    id: &str,
    me: &str,
    progress: impl FnMut(&ImportRow),
) -> Result<bool, ApiError> {
    if !with_conn(pool, |conn| write_tx(conn, |conn| db::claim_id(conn, id, me, now())))? {
        return Ok(false);
    }
    run::run_import(pool, cipher, id, me, progress)?;
    Ok(true)
}

/// The background worker of `serve`: frees what this instance held before a restart, then
/// applies waiting imports, woken at once by a new upload or every `poll`.
pub fn spawn_worker(pool: Pool, cipher: Arc<Cipher>, me: String, signal: Arc<Signal>, poll: Duration) {
    let started = std::thread::Builder::new()
        .name("concierge-imports".into())
        .spawn(move || {
            match with_conn(&pool, |conn| db::release_mine(conn, &me)) {
                Ok(n) if n > 0 => log::info!("imports: resuming {n} import(s) this instance held before"),
                Ok(_) => {}
                Err(e) => log::warn!("imports: could not release earlier leases: {e}"),
            }
            loop {
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_pending(&pool, &cipher, &me)));
                match run {
                    Ok(Err(e)) => log::warn!("imports: a run failed (retried): {e}"),
                    Err(_) => log::error!("imports: a run panicked (retried)"),
                    Ok(Ok(_)) => {}
                }
                if !signal.wait(poll) {
                    return;
                }
            }
        });
    if let Err(e) = started {
        log::error!("cannot start the import worker: {e}");
    }
}
