//! The import tables: jobs, the chunks of records still to apply, the failed lines.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::model::{CustomerImport, ImportError, ERRORS_SHOWN};
use crate::db::schema::{customer_import_chunks as ch, customer_import_errors as er, customer_imports as im};
use crate::db::DbConnection;
use crate::platform::error::ApiError;

/// How long a worker (or an upload) holds an import without renewing.
pub const LEASE_SECS: i64 = 60;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = im)]
pub struct ImportRow {
    pub id: String,
    pub format: String,
    pub state: String,
    pub header: Option<String>,
    pub total: i64,
    pub processed: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
    pub actor: String,
    pub actor_kind: String,
    pub actor_id: String,
    pub idempotency_key: Option<String>,
    pub body_sha256: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ch)]
pub struct ChunkRow {
    pub seq: i64,
    pub first_line: i64,
    pub records: String,
}

pub fn insert(conn: &mut DbConnection, row: &ImportRow) -> Result<(), ApiError> {
    diesel::insert_into(im::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ImportRow>, ApiError> {
    Ok(im::table
        .find(id)
        .select(ImportRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_key(conn: &mut DbConnection, kind: &str, actor: &str, key: &str) -> Result<Option<ImportRow>, ApiError> {
    Ok(im::table
        .filter(im::actor_kind.eq(kind))
        .filter(im::actor_id.eq(actor))
        .filter(im::idempotency_key.eq(key))
        .select(ImportRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    diesel::delete(ch::table.filter(ch::import_id.eq(id))).execute(conn)?;
    diesel::delete(er::table.filter(er::import_id.eq(id))).execute(conn)?;
    diesel::delete(im::table.find(id)).execute(conn)?;
    Ok(())
}

/// Stores one chunk of an upload, counts its records and renews the upload's lease.
pub fn add_chunk(
    conn: &mut DbConnection,
    id: &str,
    seq: i64,
    first_line: i64,
    records: &str,
    count: i64,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(ch::table)
        .values((
            ch::import_id.eq(id),
            ch::seq.eq(seq),
            ch::first_line.eq(first_line),
            ch::records.eq(records),
        ))
        .execute(conn)?;
    let n = diesel::update(im::table.find(id).filter(im::state.eq("receiving")))
        .set((
            im::total.eq(im::total + count),
            im::lease_until.eq(now + Duration::seconds(LEASE_SECS)),
            im::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(ApiError::Unavailable("the import was given up while uploading".into()));
    }
    Ok(())
}

/// The caller's imports not ended yet (uploading, queued or running).
pub fn open_count(conn: &mut DbConnection, actor_kind: &str, actor_id: &str) -> Result<i64, ApiError> {
    Ok(im::table
        .filter(im::actor_kind.eq(actor_kind))
        .filter(im::actor_id.eq(actor_id))
        .filter(im::state.eq_any(["receiving", "queued", "running"]))
        .count()
        .get_result(conn)?)
}

/// The upload is complete: the import waits for a worker.
pub fn seal(conn: &mut DbConnection, id: &str, sha: &str, now: NaiveDateTime) -> Result<bool, ApiError> {
    let n = diesel::update(im::table.find(id).filter(im::state.eq("receiving")))
        .set((
            im::state.eq("queued"),
            im::body_sha256.eq(sha),
            im::lease_owner.eq(None::<String>),
            im::lease_until.eq(None::<NaiveDateTime>),
            im::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Takes the oldest import no live worker holds; `None` when there is none.
pub fn claim(conn: &mut DbConnection, me: &str, now: NaiveDateTime) -> Result<Option<String>, ApiError> {
    let free = im::lease_until.is_null().or(im::lease_until.lt(now));
    let candidates: Vec<String> = im::table
        .filter(im::state.eq_any(["queued", "running"]))
        .filter(free)
        .order(im::created_at)
        .select(im::id)
        .limit(4)
        .load(conn)?;
    for id in candidates {
        let free = im::lease_until.is_null().or(im::lease_until.lt(now));
        let waiting = im::state.eq_any(["queued", "running"]);
        let n = diesel::update(im::table.find(&id).filter(waiting).filter(free))
            .set((
                im::state.eq("running"),
                im::lease_owner.eq(me),
                im::lease_until.eq(now + Duration::seconds(LEASE_SECS)),
            ))
            .execute(conn)?;
        if n == 1 {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Takes import `id` if no live worker holds it (the command-line import applies its own file).
pub fn claim_id(conn: &mut DbConnection, id: &str, me: &str, now: NaiveDateTime) -> Result<bool, ApiError> {
    let free = im::lease_until.is_null().or(im::lease_until.lt(now));
    let n = diesel::update(
        im::table
            .find(id)
            .filter(im::state.eq_any(["queued", "running"]))
            .filter(free),
    )
    .set((
        im::state.eq("running"),
        im::lease_owner.eq(me),
        im::lease_until.eq(now + Duration::seconds(LEASE_SECS)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Renews `me`'s lease inside a chunk's transaction (it also locks the job row); `false` when
/// another worker took the import over.
pub fn renew(conn: &mut DbConnection, id: &str, me: &str, now: NaiveDateTime) -> Result<bool, ApiError> {
    let n = diesel::update(im::table.find(id).filter(im::lease_owner.eq(me)))
        .set((
            im::lease_until.eq(now + Duration::seconds(LEASE_SECS)),
            im::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// The next chunk to apply, in upload order.
pub fn next_chunk(conn: &mut DbConnection, id: &str) -> Result<Option<ChunkRow>, ApiError> {
    Ok(ch::table
        .filter(ch::import_id.eq(id))
        .order(ch::seq)
        .select(ChunkRow::as_select())
        .first(conn)
        .optional()?)
}

/// Records a chunk as applied: its counts, its failed lines; the raw records are deleted.
pub fn finish_chunk(
    conn: &mut DbConnection,
    id: &str,
    seq: i64,
    counts: (i64, i64, i64),
    errors: &[ImportError],
) -> Result<(), ApiError> {
    let (created, updated, failed) = counts;
    for e in errors {
        diesel::insert_into(er::table)
            .values((
                er::import_id.eq(id),
                er::line.eq(e.line),
                er::field.eq(&e.field),
                er::message.eq(&e.message),
            ))
            .execute(conn)?;
    }
    diesel::delete(ch::table.find((id, seq))).execute(conn)?;
    diesel::update(im::table.find(id))
        .set((
            im::processed.eq(im::processed + created + updated + failed),
            im::created.eq(im::created + created),
            im::updated.eq(im::updated + updated),
            im::failed.eq(im::failed + failed),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends an import before its end (its importer may no longer act): the records not applied are
/// deleted; the counts say how far it got.
pub fn stop(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    diesel::delete(ch::table.filter(ch::import_id.eq(id))).execute(conn)?;
    end(conn, id, "stopped", now)
}

/// Deletes the uploads abandoned while receiving (their lease ran out) in one conditional
/// statement, so an upload sealed or renewed meanwhile is left alone; their chunks and errors go
/// with them (ON DELETE CASCADE). Returns how many.
pub fn delete_abandoned(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, ApiError> {
    Ok(diesel::delete(
        im::table
            .filter(im::state.eq("receiving"))
            .filter(im::lease_until.lt(now)),
    )
    .execute(conn)?)
}

/// Renews an upload's lease while it streams (a slow client between two chunks).
pub fn renew_upload(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<bool, ApiError> {
    let n = diesel::update(im::table.find(id).filter(im::state.eq("receiving")))
        .set(im::lease_until.eq(now + Duration::seconds(LEASE_SECS)))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn complete(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    end(conn, id, "completed", now)
}

/// The import's final state; its lease is given up.
fn end(conn: &mut DbConnection, id: &str, state: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(im::table.find(id))
        .set((
            im::state.eq(state),
            im::finished_at.eq(Some(now)),
            im::lease_owner.eq(None::<String>),
            im::lease_until.eq(None::<NaiveDateTime>),
            im::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// At start: the imports this instance held before a restart are free again at once.
pub fn release_mine(conn: &mut DbConnection, me: &str) -> Result<usize, ApiError> {
    Ok(
        diesel::update(im::table.filter(im::lease_owner.eq(me)).filter(im::state.eq("running")))
            .set(im::lease_until.eq(None::<NaiveDateTime>))
            .execute(conn)?,
    )
}

pub fn view(conn: &mut DbConnection, r: ImportRow) -> Result<CustomerImport, ApiError> {
    let errors: Vec<(i64, String, String)> = er::table
        .filter(er::import_id.eq(&r.id))
        .order((er::line, er::field))
        .select((er::line, er::field, er::message))
        .limit(ERRORS_SHOWN)
        .load(conn)?;
    Ok(CustomerImport {
        id: r.id,
        format: r.format,
        state: r.state,
        total: r.total,
        processed: r.processed,
        created: r.created,
        updated: r.updated,
        failed: r.failed,
        errors: errors
            .into_iter()
            .map(|(line, field, message)| ImportError { line, field, message })
            .collect(),
        created_at: r.created_at.and_utc(),
        finished_at: r.finished_at.map(|t| t.and_utc()),
    })
}
