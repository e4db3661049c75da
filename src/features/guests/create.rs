//! Creating a guest profile (`customer.created`).

use diesel::prelude::*;
use serde_json::json;

use super::consents::write_consent_in_tx;
use super::db::{add_refs, ensure_unique, load_records, replace_tags, CustomerRow};
use super::render::render;
use super::rules::{apply_patch, check_refs, default_source, Applied, NewContact};
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::customers;
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::features::guests::model::*;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};

/// Inserts a new profile inside the caller's transaction; returns its row.
/// `self_registration` skips the staff permission check (the guest app's sign-up).
pub(crate) fn insert_in_tx(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    input: CustomerCreate,
    self_registration: bool,
) -> Result<CustomerRow, ApiError> {
    if !self_registration {
        who.require(Perm::CustomersWrite)?;
        if input.grade_override.is_some() {
            who.require(Perm::CustomersGradeOverride)
                .map_err(|_| ApiError::Forbidden("only managers and admins may set grade_override".into()))?;
        }
    }
    let (row, applied, refs, consents) = checked_row(cipher, input)?;
    let contact = if self_registration {
        NewContact::NONE
    } else {
        NewContact::ALL
    };
    ensure_unique(conn, &row, contact, Some(&refs))?;
    diesel::insert_into(customers::table).values(&row).execute(conn)?;
    replace_tags(conn, &row.id, applied.tags.as_deref().unwrap_or_default())?;
    add_refs(conn, &row.id, &refs)?;
    outbox::emit_in_tx(
        conn,
        who,
        NewEvent::new("customer.created", "customer", &row.id).data(json!({
            "customer_id": row.id,
            "fields": applied.changed,
            "source_channel": row.source_channel,
            "self_registration": self_registration,
        })),
    )?;
    for ci in &consents {
        write_consent_in_tx(
            conn,
            who,
            &row.id,
            ci.purpose,
            ci.granted,
            ci.source_channel.unwrap_or_else(|| default_source(who)),
        )?;
    }
    if !self_registration {
        audit::record(
            conn,
            who,
            "customer.created",
            "customer",
            Some(&row.id),
            json!({"fields": applied.changed}),
        )?;
    }
    Ok(row)
}

pub fn create(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    input: CustomerCreate,
) -> Result<Customer, ApiError> {
    write_tx(conn, |conn| {
        let row = insert_in_tx(conn, cipher, who, input, false)?;
        let rec = load_records(conn, vec![row])?
            .pop()
            .ok_or_else(|| ApiError::internal("lost insert"))?;
        Ok(render(&rec, who.personal_view(), cipher))
    })
}

/// The new row from `input`, validated (every invalid field in one 422), with its tags,
/// references and consents.
fn checked_row(
    cipher: &Cipher,
    input: CustomerCreate,
) -> Result<(CustomerRow, Applied, Vec<ExternalRef>, Vec<ConsentInput>), ApiError> {
    let mut row = CustomerRow::new(new_id(), now());
    let mut c = Checks::new();
    let consents = input.consents.clone();
    let refs_in = input.external_refs.clone();
    let go = input.grade_override.clone();
    let source = input.source_channel;
    let today = chrono::Utc::now().date_naive();
    let applied = apply_patch(&mut row, &CustomerPatch::from(input), cipher, &mut c, today)?;
    if let Some(s) = source {
        row.source_channel = s.as_str().to_string();
    }
    let refs = check_refs(&refs_in, &mut c);
    if let Some(g) = &go {
        let reason = c.text("grade_override.reason", &g.reason, 1, 500);
        row.grade_override = Some(g.grade.as_str().into());
        row.grade_override_reason = Some(reason);
    }
    let mut seen = Vec::new();
    for (i, ci) in consents.iter().enumerate() {
        if seen.contains(&ci.purpose) {
            c.fail(format!("consents[{i}].purpose"), "listed twice");
        }
        seen.push(ci.purpose);
    }
    c.finish()?;
    Ok((row, applied, refs, consents))
}
