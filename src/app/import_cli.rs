//! `concierge import FILE [--format ndjson|csv]`: the same import as
//! `POST /api/v1/customer-imports`, from the command line, with a progress bar on stderr. The
//! file is stored first (so a crash resumes where it stopped, in this command run again or in any
//! `serve`), then applied here.

use std::io::{Read, Write};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::features::guests::imports::db::ImportRow;
use crate::features::guests::imports::records::{parse_header, Format, Splitter};
use crate::features::guests::imports::run::{stored, StoredRecord};
use crate::features::guests::imports::{self, chunk_records, Begun};
use crate::server::state::AppState;

pub fn run(state: &AppState, args: &[String]) -> Result<(), String> {
    let (path, format) = parse_args(args)?;
    super::reactions::install(); // creating guests emits events others react to
    let mut file = std::fs::File::open(&path).map_err(|e| format!("cannot open {path}: {e}"))?;
    let who = Principal::system("cli-import");
    let me = format!("cli-import@{}", state.config.instance_id);
    let id = upload(state, &who, &me, format, &mut file)?;
    eprintln!("stored {path} as import {id}; applying");
    let started = Instant::now();
    let ok = imports::apply_now(&state.pool, &state.cipher, &id, &me, |r| progress(r, started))
        .map_err(|e| format!("the import stopped (run the command again or `serve` to resume): {e}"))?;
    eprintln!();
    if !ok {
        return Err(format!(
            "import {id} is being applied by a running server; follow it with GET /api/v1/customer-imports/{id}"
        ));
    }
    let job = state
        .pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut c| imports::db::find(&mut c, &id).map_err(|e| e.to_string()))?
        .ok_or("the import vanished")?;
    println!(
        "import {id}: {} guests, {} created, {} updated, {} failed in {:.1}s",
        job.total,
        job.created,
        job.updated,
        job.failed,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn parse_args(args: &[String]) -> Result<(String, Format), String> {
    let mut path = None;
    let mut format = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--format" => format = it.next().and_then(|f| Format::parse(f)),
            _ if path.is_none() => path = Some(a.clone()),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    let path = path.ok_or("usage: concierge import FILE [--format ndjson|csv]")?;
    let by_ext = if path.ends_with(".csv") {
        Some(Format::Csv)
    } else {
        Some(Format::Ndjson)
    };
    Ok((path.clone(), format.or(by_ext).unwrap_or(Format::Ndjson)))
}

/// Stores the file in chunks and queues it; returns the import id.
fn upload(state: &AppState, who: &Principal, me: &str, format: Format, file: &mut impl Read) -> Result<String, String> {
    let mut conn = crate::db::checkout(&state.pool).map_err(|e| e.to_string())?;
    let mut splitter = Splitter::new(format);
    let (mut id, mut sha, mut seq, mut pending) = (None, Sha256::new(), 0i64, Vec::<StoredRecord>::new());
    let mut buf = vec![0u8; 1 << 20];
    let mut out = Vec::new();
    loop {
        let n = file.read(&mut buf).map_err(|e| format!("cannot read the file: {e}"))?;
        if n == 0 {
            splitter.end(&mut out);
        } else {
            sha.update(&buf[..n]);
            splitter.feed(&buf[..n], &mut out);
        }
        for r in out.drain(..) {
            if id.is_none() {
                let header = match format {
                    Format::Csv => Some(parse_header(&r.bytes).map_err(|e| format!("{}: {}", e.field, e.message))?),
                    Format::Ndjson => None,
                };
                match imports::begin(&mut conn, who, format, header.as_deref(), None, me).map_err(|e| e.to_string())? {
                    Begun::New(i) => id = Some(i),
                    Begun::Existing(_) => return Err("an import with this key exists".into()),
                }
                if header.is_some() {
                    continue;
                }
            }
            pending.push(stored(r));
            if pending.len() >= chunk_records(conn.backend()) {
                let i = id.as_deref().unwrap_or_default();
                imports::add_chunk(&mut conn, i, seq, &pending).map_err(|e| e.to_string())?;
                seq += 1;
                pending.clear();
            }
        }
        if n == 0 {
            break;
        }
    }
    let id = id.ok_or("the file holds no guest")?;
    if !pending.is_empty() {
        imports::add_chunk(&mut conn, &id, seq, &pending).map_err(|e| e.to_string())?;
    }
    if seq == 0
        && pending.is_empty()
        && imports::db::find(&mut conn, &id)
            .map_err(|e| e.to_string())?
            .is_some_and(|j| j.total == 0)
    {
        imports::abandon(&mut conn, &id);
        return Err("the file holds no guest".into());
    }
    imports::seal(&mut conn, who, &id, &hex::encode(sha.finalize())).map_err(|e| e.to_string())?;
    Ok(id)
}

fn progress(r: &ImportRow, started: Instant) {
    let total = r.total.max(1);
    let done = r.processed.min(total);
    let width = 30;
    let filled = (done * width / total) as usize;
    let rate = r.processed as f64 / started.elapsed().as_secs_f64().max(0.001);
    eprint!(
        "\r[{}{}] {:>3}% {}/{} created {} updated {} failed {} ({:.0}/s)   ",
        "#".repeat(filled),
        ".".repeat(width as usize - filled),
        done * 100 / total,
        r.processed,
        r.total,
        r.created,
        r.updated,
        r.failed,
        rate
    );
    let _ = std::io::stderr().flush();
}
