//! The integration upsert by external reference (`customer.external_ref_upserted`).

use diesel::prelude::*;
use serde_json::json;

use super::consents::write_consent_in_tx;
use super::create::insert_in_tx;
use super::db::{add_refs, ensure_unique, load_records, lock_row_for_update, CustomerRow};
use super::render::render;
use super::rules::{check_refs, check_system_ref, default_source, NewContact};
use super::update::update_in_tx;
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{customer_external_refs, customers};
use crate::db::{write_tx, DbConnection};
use crate::features::guests::model::*;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::fields::{parse_email, parse_phone, Checks};

/// Integration upsert by `(system, external_id)`: update the referenced guest, else link the
/// reference to a guest with the same email or phone, else create one.
pub fn upsert_by_ref(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    system: &str,
    external_id: &str,
    mut input: CustomerCreate,
) -> Result<UpsertResult, ApiError> {
    who.require(Perm::CustomersWrite)?;
    let r = check_system_ref(system, external_id)?;
    if input.grade_override.is_some() {
        who.require(Perm::CustomersGradeOverride)
            .map_err(|_| ApiError::Forbidden("only managers and admins may set grade_override".into()))?;
    }
    write_tx(conn, |conn| {
        let (target, outcome) = find_target_in_tx(conn, &r, &input)?;
        let row = match target {
            Some(id) => merge_in_tx(conn, cipher, who, &id, (outcome == "linked").then_some(&r), input)?,
            None => {
                if !input.external_refs.contains(&r) {
                    input.external_refs.push(r.clone());
                }
                insert_in_tx(conn, cipher, who, input, false)?
            }
        };
        outbox::emit_in_tx(
            conn,
            who,
            NewEvent::new("customer.external_ref_upserted", "customer", &row.id)
                .data(json!({"customer_id": row.id, "system": r.system, "outcome": outcome})),
        )?;
        let rec = load_records(conn, vec![row])?
            .pop()
            .ok_or_else(|| ApiError::internal("lost upsert"))?;
        Ok(UpsertResult {
            outcome: outcome.to_string(),
            customer: render(&rec, who.personal_view(), cipher),
        })
    })
}

/// The guest the reference names (`updated`), else one with the same email or phone
/// (`linked`), else none (`created`).
fn find_target_in_tx(
    conn: &mut DbConnection,
    r: &ExternalRef,
    input: &CustomerCreate,
) -> Result<(Option<String>, &'static str), ApiError> {
    let by_ref: Option<String> = customer_external_refs::table
        .find((&r.system, &r.external_id))
        .select(customer_external_refs::customer_id)
        .first(conn)
        .optional()?;
    if by_ref.is_some() {
        return Ok((by_ref, "updated"));
    }
    let email = input.email.as_deref().and_then(|e| parse_email(e).ok());
    let phone = input.phone.as_deref().and_then(|p| parse_phone(p).ok());
    let mut found = None;
    if let Some(e) = &email {
        found = customers::table
            .filter(customers::email_norm.eq(e))
            .select(customers::id)
            .first::<String>(conn)
            .optional()?;
    }
    if found.is_none() {
        if let Some(p) = &phone {
            found = customers::table
                .filter(customers::phone.eq(p))
                .select(customers::id)
                .first::<String>(conn)
                .optional()?;
        }
    }
    let outcome = if found.is_none() { "created" } else { "linked" };
    Ok((found, outcome))
}

/// Updates guest `id` with `input` (fields present overwrite, absent ones are kept), links
/// `link` when given, adds the new references and records the consents given.
pub(crate) fn merge_in_tx(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    id: &str,
    link: Option<&ExternalRef>,
    mut input: CustomerCreate,
) -> Result<CustomerRow, ApiError> {
    let row = lock_row_for_update(conn, id)?;
    let consents = std::mem::take(&mut input.consents);
    let extra_refs = std::mem::take(&mut input.external_refs);
    let row = update_in_tx(conn, cipher, who, row, &CustomerPatch::from(input), "customer.upserted")?;
    if let Some(r) = link {
        add_refs(conn, &row.id, std::slice::from_ref(r))?;
    }
    let mut c = Checks::new();
    let extra = check_refs(&extra_refs, &mut c);
    c.finish()?;
    let known: Vec<ExternalRef> = load_records(conn, vec![row.clone()])?
        .pop()
        .map(|x| x.refs)
        .unwrap_or_default();
    let new_refs: Vec<ExternalRef> = extra.into_iter().filter(|x| !known.contains(x)).collect();
    ensure_unique(conn, &row, NewContact::NONE, Some(&new_refs))?;
    add_refs(conn, &row.id, &new_refs)?;
    for ci in consents {
        write_consent_in_tx(
            conn,
            who,
            &row.id,
            ci.purpose,
            ci.granted,
            ci.source_channel.unwrap_or_else(|| default_source(who)),
        )?;
    }
    Ok(row)
}
