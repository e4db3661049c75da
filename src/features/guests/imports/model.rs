//! Wire types of bulk imports.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A bulk import of guests and how far it got. `processed = created + updated + failed`; it
/// reaches `total` when `state` is `completed`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerImport {
    pub id: String,
    /// `ndjson` or `csv`.
    #[schema(example = "ndjson")]
    pub format: String,
    /// `receiving` (upload running), `queued`, `running`, `completed`, or `stopped` (the
    /// importer could no longer act — deactivated, demoted, key revoked — so the rest was not
    /// applied).
    #[schema(example = "running")]
    pub state: String,
    /// Guests (records) in the file; blank lines are not counted.
    pub total: i64,
    pub processed: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
    /// Why lines failed, by line number: the first 1,000 failed lines (`failed` counts them all).
    pub errors: Vec<ImportError>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Why one line was not applied.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportError {
    /// The file line the record starts on (1-based; a CSV header is line 1).
    pub line: i64,
    /// The field, as in `POST /customers` errors (`email`, `preferences.pillow`), or `line`.
    pub field: String,
    pub message: String,
}

/// Failed lines whose errors are kept and shown, at most.
pub const ERRORS_SHOWN: i64 = 1000;
