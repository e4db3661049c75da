//! Patching a guest profile with optimistic concurrency (`customer.updated`).

use diesel::prelude::*;
use serde_json::json;

use super::db::{ensure_unique, load_records, lock_row_for_update, replace_refs, replace_tags, CustomerRow};
use super::render::render;
use super::rules::{apply_patch, NewContact};
use crate::auth::{Actor, Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::customers;
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::features::guests::model::*;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::now;

/// Applies `patch` inside the caller's transaction to `row`, bumping the version.
pub(crate) fn update_in_tx(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    mut row: CustomerRow,
    patch: &CustomerPatch,
    action: &str,
) -> Result<CustomerRow, ApiError> {
    let mut c = Checks::new();
    let before = (row.email_norm.clone(), row.phone.clone());
    let applied = apply_patch(&mut row, patch, cipher, &mut c, chrono::Utc::now().date_naive())?;
    let staff_side = !matches!(who.actor, Actor::Customer { .. });
    let contact = NewContact {
        email: staff_side && row.email_norm != before.0,
        phone: staff_side && row.phone != before.1,
    };
    let mut changed = applied.changed;
    if let Some(go) = &patch.grade_override {
        who.require(Perm::CustomersGradeOverride)
            .map_err(|_| ApiError::Forbidden("only managers and admins may set grade_override".into()))?;
        changed.push("grade_override");
        match go {
            None => {
                row.grade_override = None;
                row.grade_override_reason = None;
            }
            Some(g) => {
                row.grade_override_reason = Some(c.text("grade_override.reason", &g.reason, 1, 500));
                row.grade_override = Some(g.grade.as_str().into());
            }
        }
    }
    c.finish()?;
    ensure_unique(conn, &row, contact, applied.refs.as_deref())?;
    row.version += 1;
    row.updated_at = now();
    diesel::update(customers::table.find(&row.id)).set(&row).execute(conn)?;
    if let Some(tags) = &applied.tags {
        replace_tags(conn, &row.id, tags)?;
    }
    if let Some(refs) = &applied.refs {
        replace_refs(conn, &row.id, refs)?;
    }
    audit::record(conn, who, action, "customer", Some(&row.id), json!({"fields": changed}))?;
    outbox::emit_in_tx(
        conn,
        who,
        NewEvent::new("customer.updated", "customer", &row.id)
            .data(json!({"customer_id": row.id, "changed": changed, "version": row.version})),
    )?;
    Ok(row)
}

/// PATCH with optimistic concurrency: `if_match` is the version from the `ETag`.
pub fn update(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    id: &str,
    patch: CustomerPatch,
    if_match: Option<i64>,
) -> Result<Customer, ApiError> {
    let is_self = matches!(&who.actor, Actor::Customer { customer_id } if customer_id == id);
    if !is_self {
        who.require(Perm::CustomersWrite)?;
    }
    write_tx(conn, |conn| {
        let row = lock_row_for_update(conn, id)?;
        let current = row.version;
        // The body is validated first (a bad body is a 422 whatever the version); a stale
        // version then rolls the whole transaction back.
        let row = update_in_tx(
            conn,
            cipher,
            who,
            row,
            &patch,
            if is_self {
                "customer.self_updated"
            } else {
                "customer.updated"
            },
        )?;
        if let Some(v) = if_match.filter(|v| *v != current) {
            return Err(ApiError::PreconditionFailed(format!(
                "the profile changed since you read it (version {current} now, {v} in If-Match); reload and retry"
            )));
        }
        let rec = load_records(conn, vec![row])?
            .pop()
            .ok_or_else(|| ApiError::internal("lost update"))?;
        Ok(render(&rec, who.personal_view(), cipher))
    })
}
