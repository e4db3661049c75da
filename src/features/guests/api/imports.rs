//! `POST /api/v1/customer-imports` (streamed: the file never sits whole in memory) and
//! `GET /api/v1/customer-imports/{id}`.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::auth::{Perm, Principal};
use crate::features::guests::imports::model::CustomerImport;
use crate::features::guests::imports::records::{parse_header, Format, Record, Splitter};
use crate::features::guests::imports::run::{stored, StoredRecord};
use crate::features::guests::imports::{self, chunk_records, Begun, CHUNK_BYTES, MAX_IMPORT_BYTES};
use crate::platform::error::{ApiError, Problem};
use crate::server::state::AppState;

/// Imports guests in bulk from an NDJSON file (`application/x-ndjson`: one `POST /customers`
/// body per line) or a CSV file (`text/csv`: a header row of field names — `given_name`,
/// `family_name`, `email`, `phone`, …, `tags` and `external_refs` (`system:id`) separated by `;`,
/// `address.city`, `preferences.pillow`, `consent.marketing_email` = `granted|withdrawn` — then
/// one guest per row). Each guest is upserted: the guest holding one of its external references,
/// else the guest with its email, is updated (fields present overwrite); otherwise it is created.
/// Answers 202 once the file is stored; the import then runs in the background (poll its
/// `Location`). A bad line fails alone. Up to 1 GiB. With `Idempotency-Key`, a retry with the same
/// file answers the same import (`Idempotent-Replayed: true`); another file under the key, 422.
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])),
    request_body(content(
        (String = "application/x-ndjson", example = "{\"given_name\":\"Wei\",\"family_name\":\"Zhang\",\"email\":\"wei@example.com\"}\n"),
        (String = "text/csv", example = "given_name,family_name,email,tags\nWei,Zhang,wei@example.com,vip;business\n")),
        description = "The file"),
    responses((status = 202, description = "Stored and queued (or, for a retried Idempotency-Key, the import it started)", body = CustomerImport,
                   headers(("Location" = String, description = "The import to poll"),
                           ("Idempotent-Replayed" = String, description = "`true` when this answers a retried Idempotency-Key"))),
              (status = 400, description = "The body ended early", body = Problem, content_type = "application/problem+json"),
              (status = 408, description = "The body stalled for the deadline", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "An upload with this key is still running, or the caller already has 3 imports open", body = Problem, content_type = "application/problem+json"),
              (status = 413, description = "Larger than 1 GiB", body = Problem, content_type = "application/problem+json"),
              (status = 415, description = "Neither NDJSON nor CSV", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "A bad CSV header, an empty file, or another file under the key", body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/customer-imports")]
pub async fn create_customer_import(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    p.require(Perm::CustomersWrite)?;
    let format = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Format::from_content_type)
        .ok_or_else(|| ApiError::UnsupportedMediaType("send application/x-ndjson or text/csv".into()))?;
    let key = crate::server::idempotency::key_in(req.headers())?;
    let mut up = Upload::new(state.clone(), p, format, key);
    let outcome = up.receive(payload).await;
    if let (Err(_), Some(id)) = (&outcome, up.id.clone()) {
        let _ = state
            .db_unadmitted(move |conn| {
                imports::abandon(conn, &id);
                Ok(())
            })
            .await;
    }
    let (job, replayed) = outcome?;
    if !replayed {
        state.workers.imports.wake();
    }
    let mut res = HttpResponse::Accepted();
    res.insert_header((header::LOCATION, format!("/api/v1/customer-imports/{}", job.id)));
    if replayed {
        res.insert_header(("idempotent-replayed", "true"));
    }
    Ok(res.json(job))
}

/// An import's progress: counts, state, and the failed lines with the field and the reason.
/// Visible to the caller who started it and to unrestricted admins (others: 404).
#[utoipa::path(tag = "customers", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Import id")),
    responses((status = 200, description = "The import", body = CustomerImport)))]
#[get("/api/v1/customer-imports/{id}")]
pub async fn get_customer_import(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let job = state.db(move |conn| imports::get(conn, &p, &id)).await?;
    Ok(HttpResponse::Ok().json(job))
}

/// One upload in progress.
struct Upload {
    state: web::Data<AppState>,
    who: Principal,
    format: Format,
    key: Option<String>,
    id: Option<String>,
    existing: Option<CustomerImport>,
    existing_sha: Option<String>,
    splitter: Splitter,
    header_seen: bool,
    pending: Vec<StoredRecord>,
    pending_bytes: usize,
    renewed: std::time::Instant,
    seq: i64,
    records: u64,
    sha: Sha256,
}

impl Upload {
    fn new(state: web::Data<AppState>, who: Principal, format: Format, key: Option<String>) -> Self {
        Upload {
            state,
            who,
            format,
            key,
            id: None,
            existing: None,
            existing_sha: None,
            splitter: Splitter::new(format),
            header_seen: false,
            pending: Vec::new(),
            pending_bytes: 0,
            renewed: std::time::Instant::now(),
            seq: 0,
            records: 0,
            sha: Sha256::new(),
        }
    }

    /// Reads the body to its end, storing chunks as they fill; the job and whether it was a
    /// replay of the caller's key.
    async fn receive(&mut self, mut payload: web::Payload) -> Result<(CustomerImport, bool), ApiError> {
        let stall = Duration::from_secs(self.state.config.body_timeout_secs);
        let mut bytes_in: u64 = 0;
        let mut out = Vec::new();
        loop {
            let next = actix_web::rt::time::timeout(stall, payload.next())
                .await
                .map_err(|_| ApiError::RequestTimeout("the body stalled".into()))?;
            let Some(part) = next else { break };
            let part = part.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
            bytes_in += part.len() as u64;
            if bytes_in > MAX_IMPORT_BYTES {
                return Err(ApiError::PayloadTooLarge(
                    "an import file may hold at most 1 GiB".into(),
                ));
            }
            self.sha.update(&part);
            self.splitter.feed(&part, &mut out);
            self.take(&mut out).await?;
            self.keep_lease().await?;
        }
        self.splitter.end(&mut out);
        self.take(&mut out).await?;
        self.finish().await
    }

    async fn take(&mut self, out: &mut Vec<Record>) -> Result<(), ApiError> {
        for r in out.drain(..) {
            if self.format == Format::Csv && !self.header_seen {
                self.header_seen = true;
                let h = parse_header(&r.bytes).map_err(|e| ApiError::Validation(vec![e]))?;
                self.start(Some(h)).await?;
                continue;
            }
            if self.id.is_none() && self.existing.is_none() {
                self.start(None).await?;
            }
            self.records += 1;
            if self.existing.is_some() {
                continue; // a replay: only the body's hash matters
            }
            self.pending_bytes += r.bytes.len();
            self.pending.push(stored(r));
            if self.pending.len() >= chunk_records(self.state.backend) || self.pending_bytes >= CHUNK_BYTES {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn start(&mut self, header: Option<Vec<String>>) -> Result<(), ApiError> {
        let (who, format, key) = (self.who.clone(), self.format, self.key.clone());
        let me = self.state.config.instance_id.clone();
        let begun = self
            .state
            .db(move |conn| imports::begin(conn, &who, format, header.as_deref(), key.as_deref(), &me))
            .await?;
        match begun {
            Begun::New(id) => self.id = Some(id),
            Begun::Existing(row) => {
                self.existing_sha = row.body_sha256.clone();
                let (who, id) = (self.who.clone(), row.id.clone());
                self.existing = Some(self.state.db(move |conn| imports::get(conn, &who, &id)).await?);
            }
        }
        Ok(())
    }

    /// A slow client: the upload's lease is renewed every 10 s between chunks, so no worker
    /// sweeps it as abandoned while bytes still arrive.
    async fn keep_lease(&mut self) -> Result<(), ApiError> {
        let Some(id) = self.id.clone() else { return Ok(()) };
        if self.renewed.elapsed() < Duration::from_secs(10) {
            return Ok(());
        }
        self.renewed = std::time::Instant::now();
        self.state.db(move |conn| imports::keep_uploading(conn, &id)).await
    }

    async fn flush(&mut self) -> Result<(), ApiError> {
        let (Some(id), false) = (self.id.clone(), self.pending.is_empty()) else {
            return Ok(());
        };
        let records = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        self.renewed = std::time::Instant::now();
        let seq = self.seq;
        self.seq += 1;
        self.state
            .db(move |conn| imports::add_chunk(conn, &id, seq, &records))
            .await
    }

    async fn finish(&mut self) -> Result<(CustomerImport, bool), ApiError> {
        let sha = hex::encode(std::mem::take(&mut self.sha).finalize());
        if let Some(job) = self.existing.take() {
            if self.existing_sha.as_deref() != Some(sha.as_str()) {
                return Err(ApiError::field(
                    "Idempotency-Key",
                    "was already used for a different file",
                ));
            }
            return Ok((job, true));
        }
        if self.records == 0 {
            return Err(ApiError::field("body", "the file holds no guest"));
        }
        self.flush().await?;
        let (who, id) = (self.who.clone(), self.id.clone().unwrap_or_default());
        let job = self.state.db(move |conn| imports::seal(conn, &who, &id, &sha)).await?;
        Ok((job, false))
    }
}
