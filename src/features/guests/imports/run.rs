//! Applying an import: chunk by chunk, each chunk in one transaction that applies its records
//! (a savepoint each, so a bad line fails alone), records the failed lines, deletes the raw
//! records and moves the counters — so after a crash or restart the import resumes exactly at
//! the first chunk not committed, on whichever instance takes its lease.

use diesel::prelude::*;

use super::db::{self, ImportRow};
use super::model::ImportError;
use super::records::{parse_record, Format, Record};
use crate::auth::Principal;
use crate::db::schema::{customer_external_refs, customers};
use crate::db::{savepoint, write_tx, DbConnection, Pool};
use crate::features::guests::create::insert_in_tx;
use crate::features::guests::model::CustomerCreate;
use crate::features::guests::rules::check_refs;
use crate::features::guests::upsert::merge_in_tx;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
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
    let ts = now();
    if !db::renew(conn, id, me, ts)? {
        return Ok(Step::Lost);
    }
    let job = db::find(conn, id)?.ok_or_else(|| ApiError::internal("import vanished"))?;
    let Some(who) = Principal::from_snapshot(&job.actor) else {
        return Err(ApiError::internal("an import's actor could not be read"));
    };
    let Some(chunk) = db::next_chunk(conn, id)? else {
        db::complete(conn, id, ts)?;
        return Ok(Step::Done(db::find(conn, id)?.unwrap_or(job)));
    };
    let format = Format::parse(&job.format).unwrap_or(Format::Ndjson);
    let header: Option<Vec<String>> = job.header.as_deref().and_then(|h| serde_json::from_str(h).ok());
    let records: Vec<StoredRecord> = serde_json::from_str(&chunk.records).map_err(ApiError::internal)?;
    let (mut created, mut updated, mut errors, mut failed) = (0, 0, Vec::new(), 0);
    for (line, text, refused) in records {
        let outcome = match (text, refused) {
            (_, Some(why)) => Err(vec![crate::platform::error::FieldError::new("line", why)]),
            (Some(text), None) => apply_record(conn, cipher, &who, format, header.as_deref(), line, text),
            (None, None) => Err(vec![crate::platform::error::FieldError::new("line", "is empty")]),
        };
        match outcome {
            Ok(Applied::Created) => created += 1,
            Ok(Applied::Updated) => updated += 1,
            Err(fields) => {
                failed += 1;
                push_errors(&mut errors, line, fields);
            }
        }
    }
    db::finish_chunk(conn, id, chunk.seq, (created, updated, failed), &errors)?;
    Ok(Step::Applied(db::find(conn, id)?.unwrap_or(job)))
}

fn push_errors(errors: &mut Vec<ImportError>, line: i64, fields: Vec<crate::platform::error::FieldError>) {
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

/// One record: parsed and validated as `POST /customers` would, then applied in a savepoint.
/// A database outage aborts the chunk (it is retried whole); anything else fails this line.
fn apply_record(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    format: Format,
    header: Option<&[String]>,
    line: i64,
    text: String,
) -> Result<Applied, Vec<crate::platform::error::FieldError>> {
    let record = Record {
        line,
        bytes: text.into_bytes(),
        too_long: false,
    };
    let input = parse_record(format, header, &record)?;
    match savepoint(conn, |conn| upsert_in_tx(conn, cipher, who, input)) {
        Ok(a) => Ok(a),
        Err(e) => Err(line_errors(e)),
    }
}

fn line_errors(e: ApiError) -> Vec<crate::platform::error::FieldError> {
    use crate::platform::error::FieldError;
    match e {
        ApiError::Validation(fields) => fields,
        ApiError::Conflict { detail, .. } => vec![FieldError::new("line", detail)],
        ApiError::Forbidden(m) => vec![FieldError::new("line", m)],
        other => {
            log::warn!("import: a line could not be applied: {other}");
            vec![FieldError::new("line", "could not be applied")]
        }
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
