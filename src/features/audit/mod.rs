//! The append-only audit log (SPEC §9): who did what to which record, when, from where.

pub mod api;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::db::group_commit::Write;
use crate::db::schema::audit_log;
use crate::db::DbConnection;
use crate::platform::error::ApiError;
use crate::platform::ids::{new_id, now};
use crate::platform::page::{self as pagination, Order, Page, PageItem, PageParams};

/// Appends one entry in the caller's transaction. `details` must not hold personal data (ids
/// and field names only).
pub fn record(
    conn: &mut DbConnection,
    who: &Principal,
    action: &str,
    target_kind: &str,
    target_id: Option<&str>,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    AuditRow::new(who, action, target_kind, target_id, details).insert(conn)
}

/// One entry per target of a batch (a bulk import's new guests), in one statement.
pub fn record_many(
    conn: &mut DbConnection,
    who: &Principal,
    action: &str,
    target_kind: &str,
    targets: Vec<(String, serde_json::Value)>,
) -> Result<(), ApiError> {
    if targets.is_empty() {
        return Ok(());
    }
    let rows: Vec<AuditRow> = targets
        .into_iter()
        .map(|(id, details)| AuditRow::new(who, action, target_kind, Some(&id), details))
        .collect();
    crate::db::dialect::execute(conn, diesel::insert_into(audit_log::table).values(&rows))?;
    Ok(())
}

/// The entry of a read, to be committed with the audit rows of concurrent reads before the
/// answer is sent (`AppState::db_then_commit`); stamped now, when the read happened.
pub fn deferred(
    who: &Principal,
    action: &str,
    target_kind: &str,
    target_id: Option<&str>,
    details: serde_json::Value,
) -> Write {
    let entry = AuditRow::new(who, action, target_kind, target_id, details);
    Box::new(move |conn| entry.insert(conn))
}

/// One `audit_log` row as stored (appended and read back).
#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
struct AuditRow {
    id: String,
    occurred_at: NaiveDateTime,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    target_kind: String,
    target_id: Option<String>,
    ip: Option<String>,
    request_id: Option<String>,
    details: String,
}

impl AuditRow {
    fn new(
        who: &Principal,
        action: &str,
        target_kind: &str,
        target_id: Option<&str>,
        details: serde_json::Value,
    ) -> Self {
        AuditRow {
            id: new_id(),
            occurred_at: now(),
            actor_kind: who.actor_kind().to_string(),
            actor_id: Some(who.actor_id().to_string()),
            action: action.to_string(),
            target_kind: target_kind.to_string(),
            target_id: target_id.map(str::to_string),
            ip: who.ip.clone(),
            request_id: who.request_id.clone(),
            details: details.to_string(),
        }
    }

    fn insert(&self, conn: &mut DbConnection) -> Result<(), ApiError> {
        diesel::insert_into(audit_log::table).values(self).execute(conn)?;
        Ok(())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    /// `staff`, `customer`, `api_key` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    #[schema(example = "customer.read_unmasked")]
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

pub type AuditPage = Page<AuditEntry>;

impl PageItem for AuditEntry {
    const PAGE: &'static str = "AuditPage";
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
    pub actor_id: Option<String>,
}

/// Newest first.
pub fn list(conn: &mut DbConnection, filter: &AuditFilter, page: &PageParams) -> Result<AuditPage, ApiError> {
    let cur = page.resolve(Order::Desc)?;
    let mut q = audit_log::table
        .select(AuditRow::as_select())
        .order(audit_log::id.desc())
        .limit(cur.limit + 1)
        .into_boxed();
    if let Some(v) = &filter.target_kind {
        q = q.filter(audit_log::target_kind.eq(v.clone()));
    }
    if let Some(v) = &filter.target_id {
        q = q.filter(audit_log::target_id.eq(v.clone()));
    }
    if let Some(v) = &filter.action {
        q = q.filter(audit_log::action.eq(v.clone()));
    }
    if let Some(v) = &filter.actor_id {
        q = q.filter(audit_log::actor_id.eq(v.clone()));
    }
    if let Some(after) = &cur.after {
        q = q.filter(audit_log::id.lt(after.clone()));
    }
    let rows: Vec<AuditRow> = q.load(conn)?;
    let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
    let data = rows
        .into_iter()
        .map(|r| AuditEntry {
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            id: r.id,
            occurred_at: r.occurred_at.and_utc(),
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            target_kind: r.target_kind,
            target_id: r.target_id,
            ip: r.ip,
            request_id: r.request_id,
        })
        .collect();
    Ok(AuditPage { data, next_cursor })
}
