//! Creating a guest profile (`customer.created`).

use serde_json::json;

use super::consents::{consent_changed, insert_new_consents_in_tx};
use super::db::{add_refs_many, ensure_unique, insert_tags, load_records, CustomerRow};
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
    let new = prepare(cipher, who, input, self_registration)?;
    let contact = if self_registration {
        NewContact::NONE
    } else {
        NewContact::ALL
    };
    ensure_unique(conn, &new.row, contact, Some(&new.refs))?;
    let row = new.row.clone();
    insert_many_in_tx(conn, who, vec![new], self_registration)?;
    Ok(row)
}

/// A new profile, validated and ready to insert (`insert_many_in_tx`).
pub(crate) struct NewCustomer {
    pub(crate) row: CustomerRow,
    applied: Applied,
    pub(crate) refs: Vec<ExternalRef>,
    consents: Vec<ConsentInput>,
}

/// Checks the caller's rights and `input` (every invalid field in one 422), without the database.
pub(crate) fn prepare(
    cipher: &Cipher,
    who: &Principal,
    input: CustomerCreate,
    self_registration: bool,
) -> Result<NewCustomer, ApiError> {
    if !self_registration {
        who.require(Perm::CustomersWrite)?;
        if input.grade_override.is_some() {
            who.require(Perm::CustomersGradeOverride)
                .map_err(|_| ApiError::Forbidden("only managers and admins may set grade_override".into()))?;
        }
    }
    let (row, applied, refs, consents) = checked_row(cipher, input)?;
    Ok(NewCustomer {
        row,
        applied,
        refs,
        consents,
    })
}

/// Inserts new profiles whose email, phone and references no other guest holds (the caller
/// checked), with their tags, references, consents, `customer.created` events and audit rows:
/// each table in one statement, however many profiles.
pub(crate) fn insert_many_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    new: Vec<NewCustomer>,
    self_registration: bool,
) -> Result<(), ApiError> {
    if new.is_empty() {
        return Ok(());
    }
    let rows: Vec<&CustomerRow> = new.iter().map(|n| &n.row).collect();
    crate::db::dialect::execute(conn, diesel::insert_into(customers::table).values(rows))?;
    let tags: Vec<(&str, &str)> = new
        .iter()
        .flat_map(|n| {
            let tags = n.applied.tags.as_deref().unwrap_or_default();
            tags.iter().map(|t| (n.row.id.as_str(), t.as_str()))
        })
        .collect();
    insert_tags(conn, &tags)?;
    let refs: Vec<(&str, &ExternalRef)> = new
        .iter()
        .flat_map(|n| n.refs.iter().map(|r| (n.row.id.as_str(), r)))
        .collect();
    add_refs_many(conn, &refs)?;
    // Each profile's own event, then its consents' (numbered 1, 2, … per guest).
    let decisions: Vec<_> = new
        .iter()
        .flat_map(|n| {
            let source = |ci: &ConsentInput| ci.source_channel.unwrap_or_else(|| default_source(who));
            n.consents
                .iter()
                .map(move |ci| (n.row.id.as_str(), ci.purpose, ci.granted, source(ci)))
        })
        .collect();
    insert_new_consents_in_tx(conn, who, &decisions)?;
    let mut events = Vec::new();
    for n in &new {
        events.push(NewEvent::new("customer.created", "customer", &n.row.id).data(json!({
            "customer_id": n.row.id,
            "fields": n.applied.changed,
            "source_channel": n.row.source_channel,
            "self_registration": self_registration,
        })));
        let mine = decisions.iter().filter(|d| d.0 == n.row.id);
        events.extend(mine.map(|(id, purpose, granted, source)| consent_changed(id, *purpose, *granted, *source)));
    }
    outbox::emit_new_in_tx(conn, who, events)?;
    if !self_registration {
        let targets = new
            .iter()
            .map(|n| (n.row.id.clone(), json!({"fields": n.applied.changed})))
            .collect();
        audit::record_many(conn, who, "customer.created", "customer", targets)?;
    }
    Ok(())
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
