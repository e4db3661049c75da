//! Applying an import: chunk by chunk, each chunk in one transaction that applies its records
//! (a savepoint each, so a bad line fails alone), records the failed lines, deletes the raw
//! records and moves the counters — so after a crash or restart the import resumes exactly at
//! the first chunk not committed, on whichever instance takes its lease.

use diesel::prelude::*;

use super::batch::{self, Parsed};
use super::db::{self, ImportRow};
use super::model::{ImportError, ERRORS_SHOWN};
use super::records::{parse_record, Format, Record};
use crate::auth::{Actor, Principal};
use crate::db::schema::{customer_external_refs, customers};
use crate::db::{savepoint, write_tx, DbConnection, Pool};
use crate::features::guests::create::{insert_in_tx, insert_many_in_tx};
use crate::features::guests::model::CustomerCreate;
use crate::features::guests::rules::check_refs;
use crate::features::guests::upsert::merge_in_tx;
use crate::platform::crypto::Cipher;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::fields::{parse_email, Checks};
use crate::platform::ids::now;

/// One stored record: `[line, text]`, or `[line, null, why]` for one refused at upload.
pub type StoredRecord = (i64, Option<String>, Option<String>);

/// A record as stored: its text, or why it was refused already (not UTF-8, NUL, too long).
pub fn stored(r: Record) -> StoredRecord {
    if r.too_long {
        let why = format!("is longer than {} bytes", super::records::MAX_RECORD_BYTES);
        return (r.line, None, Some(why));
    }
    match String::from_utf8(r.bytes) {
        Ok(t) if t.contains('\0') => (r.line, None, Some("contains a NUL character".into())),
        Ok(t) => (r.line, Some(t), None),
        Err(_) => (r.line, None, Some("is not valid UTF-8".into())),
    }
}

enum Applied {
    Created,
    Updated,
}

/// Applies chunks of `id` while `me` holds its lease; completes it when none is left.
/// Returns the chunks applied.
pub fn run_import(
    pool: &Pool,
    cipher: &Cipher,
    id: &str,
    me: &str,
    mut progress: impl FnMut(&ImportRow),
) -> Result<usize, ApiError> {
    let mut applied = 0;
    loop {
        let step = crate::db::with_conn(pool, |conn| {
            write_tx(conn, |conn| apply_next_chunk(conn, cipher, id, me))
        })?;
        match step {
            Step::Applied(row) => {
                applied += 1;
                progress(&row);
            }
            Step::Done(row) => {
                progress(&row);
                return Ok(applied);
            }
            Step::Lost => return Ok(applied),
        }
    }
}

enum Step {
    Applied(ImportRow),
    Done(ImportRow),
    Lost,
}

fn apply_next_chunk(conn: &mut DbConnection, cipher: &Cipher, id: &str, me: &str) -> Result<Step, ApiError> {
    // A chunk's lookups see a table that grows with every chunk: plans kept from the first
    // chunks would scan it (measured: the reference lookup took 175 ms by the 60th chunk).
    crate::db::dialect::plan_each_statement_in_tx(conn)?;
    let ts = now();
    if !db::renew(conn, id, me, ts)? {
        return Ok(Step::Lost);
    }
    let job = db::find(conn, id)?.ok_or_else(|| ApiError::internal("import vanished"))?;
    let Some(who) = current_actor(conn, &job.actor, ts)? else {
        // The importer can no longer act (deactivated, demoted, key revoked or expired) or
        // could not be read: the rest of the file is not applied.
        db::stop(conn, id, ts)?;
        return Ok(Step::Done(db::find(conn, id)?.unwrap_or(job)));
    };
    let Some(chunk) = db::next_chunk(conn, id)? else {
        db::complete(conn, id, ts)?;
        return Ok(Step::Done(db::find(conn, id)?.unwrap_or(job)));
    };
    let format = Format::parse(&job.format).unwrap_or(Format::Ndjson);
    let header: Option<Vec<String>> = job.header.as_deref().and_then(|h| serde_json::from_str(h).ok());
    let Ok(records) = serde_json::from_str::<Vec<StoredRecord>>(&chunk.records) else {
        // Retrying would not make it readable: the import stops at that line, said so.
        log::error!(
            "import {id}: stored chunk {} is unreadable; the import stops",
            chunk.seq
        );
        let why = ImportError {
            line: chunk.first_line,
            field: "line".into(),
            message: "the stored records from this line on could not be read; the import stopped here".into(),
        };
        db::finish_chunk(conn, id, chunk.seq, (0, 0, 0), &[why])?;
        db::stop(conn, id, ts)?;
        return Ok(Step::Done(db::find(conn, id)?.unwrap_or(job)));
    };
    let parsed = records
        .into_iter()
        .map(|(line, text, refused)| {
            let input = match (text, refused) {
                (_, Some(why)) => Err(vec![FieldError::new("line", why)]),
                (Some(text), None) => parse_line(format, header.as_deref(), line, text),
                (None, None) => Err(vec![FieldError::new("line", "is empty")]),
            };
            (line, input)
        })
        .collect();
    let (mut created, rest) = apply_batch(conn, cipher, &who, parsed)?;
    let (mut updated, mut errors, mut failed) = (0, Vec::new(), 0);
    for (line, input) in rest {
        let outcome = match input {
            Ok(input) => apply_input(conn, cipher, &who, input)?,
            Err(fields) => Err(fields),
        };
        match outcome {
            Ok(Applied::Created) => created += 1,
            Ok(Applied::Updated) => updated += 1,
            Err(fields) => {
                failed += 1;
                // The first lines' errors are kept; later failures are only counted.
                if job.failed + failed <= ERRORS_SHOWN {
                    push_errors(&mut errors, line, fields);
                }
            }
        }
    }
    db::finish_chunk(conn, id, chunk.seq, (created, updated, failed), &errors)?;
    Ok(Step::Applied(db::find(conn, id)?.unwrap_or(job)))
}

fn push_errors(errors: &mut Vec<ImportError>, line: i64, fields: Vec<FieldError>) {
    for f in fields {
        if !errors.iter().any(|e| e.line == line && e.field == f.field) {
            errors.push(ImportError {
                line,
                field: f.field,
                message: f.message,
            });
        }
    }
}

/// The importer as they are now: a staff member still active (with their current role), an
/// API key not revoked or expired, or the command line. `None`: they may no longer act.
fn current_actor(
    conn: &mut DbConnection,
    stored: &str,
    ts: chrono::NaiveDateTime,
) -> Result<Option<Principal>, ApiError> {
    let Some(mut who) = Principal::from_snapshot(stored) else {
        return Ok(None);
    };
    let still = match &mut who.actor {
        Actor::Staff(s) => match crate::features::staff::staff_card(conn, &s.id)? {
            Some(card) if card.active => card.role().map(|r| s.role = r).is_some(),
            _ => false,
        },
        Actor::ApiKey(k) => crate::features::staff::api_key_usable(conn, &k.id, ts)?,
        Actor::System(_) => true,
        Actor::Customer { .. } => false,
    };
    Ok((still && who.require(crate::auth::Perm::CustomersWrite).is_ok()).then_some(who))
}

/// The records that create a guest alone (`batch`) inserted together, in a savepoint: the
/// number created and the records left to apply line by line. Should the batch fail (a guest
/// created meanwhile by another writer holds one of its contacts), its records join the others.
fn apply_batch(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    parsed: Vec<Parsed>,
) -> Result<(i64, Vec<Parsed>), ApiError> {
    let (fast, mut rest) = batch::split(conn, cipher, who, parsed)?;
    if fast.is_empty() {
        return Ok((0, rest));
    }
    let n = fast.len() as i64;
    let (new, inputs): (Vec<_>, Vec<_>) = fast.into_iter().map(|f| (f.new, (f.line, f.input))).unzip();
    match savepoint(conn, |conn| insert_many_in_tx(conn, who, new, false)) {
        Ok(()) => Ok((n, rest)),
        Err(e @ ApiError::Unavailable(_)) => Err(e),
        Err(e) => {
            log::info!("import: a batch of {n} new guests fell back to line by line: {e}");
            rest.extend(inputs.into_iter().map(|(line, input)| (line, Ok(input))));
            rest.sort_by_key(|r| r.0);
            Ok((0, rest))
        }
    }
}

/// One record parsed as `POST /customers` takes it.
fn parse_line(
    format: Format,
    header: Option<&[String]>,
    line: i64,
    text: String,
) -> Result<CustomerCreate, Vec<FieldError>> {
    let record = Record {
        line,
        bytes: text.into_bytes(),
        too_long: false,
    };
    parse_record(format, header, &record)
}

/// One record validated as `POST /customers` would, then applied in a savepoint.
/// `Ok(Err(fields))`: this line fails. `Err`: the database is away, busy or a concurrent change
/// got in the way — the whole chunk rolls back and is applied again later, so no line is lost to
/// a passing fault.
fn apply_input(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    input: CustomerCreate,
) -> Result<Result<Applied, Vec<FieldError>>, ApiError> {
    match savepoint(conn, |conn| upsert_in_tx(conn, cipher, who, input)) {
        Ok(a) => Ok(Ok(a)),
        Err(ApiError::Validation(fields)) => Ok(Err(fields)),
        Err(ApiError::Conflict { detail, .. }) => Ok(Err(vec![FieldError::new("line", detail)])),
        Err(ApiError::Forbidden(m)) => Ok(Err(vec![FieldError::new("line", m)])),
        Err(other) => Err(other),
    }
}

/// Upsert by external reference (any of the record's), else by email, else a new guest.
fn upsert_in_tx(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    input: CustomerCreate,
) -> Result<Applied, ApiError> {
    match import_target(conn, &input)? {
        Some(id) => {
            merge_in_tx(conn, cipher, who, &id, None, input)?;
            Ok(Applied::Updated)
        }
        None => {
            insert_in_tx(conn, cipher, who, input, false)?;
            Ok(Applied::Created)
        }
    }
}

fn import_target(conn: &mut DbConnection, input: &CustomerCreate) -> Result<Option<String>, ApiError> {
    let mut c = Checks::new();
    let refs = check_refs(&input.external_refs, &mut c);
    c.finish()?;
    for r in &refs {
        let found: Option<String> = customer_external_refs::table
            .find((&r.system, &r.external_id))
            .select(customer_external_refs::customer_id)
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    let Some(email) = input.email.as_deref().and_then(|e| parse_email(e).ok()) else {
        return Ok(None);
    };
    Ok(customers::table
        .filter(customers::email_norm.eq(email))
        .order(customers::id)
        .select(customers::id)
        .first(conn)
        .optional()?)
}
