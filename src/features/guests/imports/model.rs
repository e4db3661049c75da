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
    /// `receiving` (upload running), `queued`, `running`, `completed`.
    #[schema(example = "running")]
    pub state: String,
    /// Guests (records) in the file; blank lines are not counted.
    pub total: i64,
    pub processed: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
    /// The failed lines, first by line number (at most 1,000; `failed` counts them all).
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

/// The errors shown at most.
pub const ERRORS_SHOWN: i64 = 1000;
