//! The fast path of a chunk. A record that creates a guest sharing no external reference, email
//! or phone with an existing guest or with another record of its chunk cannot depend on any
//! other line: all such records are inserted together, each table in one statement
//! (`create::insert_many_in_tx`). The others — updates, failures, records that share a contact
//! with another — are applied line by line afterwards, in file order, as before.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use crate::auth::Principal;
use crate::db::schema::{customer_external_refs as xr, customers};
use crate::db::DbConnection;
use crate::features::guests::create::{prepare, NewCustomer};
use crate::features::guests::model::CustomerCreate;
use crate::platform::crypto::Cipher;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::fields::parse_email;

/// One record of a chunk, parsed (or why not).
pub type Parsed = (i64, Result<CustomerCreate, Vec<FieldError>>);

/// A record for the batch: its line, the profile to insert, and its input (to apply it line by
/// line instead if the batch cannot be inserted).
pub struct Fast {
    pub line: i64,
    pub new: NewCustomer,
    pub input: CustomerCreate,
}

#[derive(Hash, PartialEq, Eq, Clone)]
enum Key {
    Email(String),
    Phone(String),
    Ref(String, String),
}

/// The keys a record would be matched or checked by. For a record that is not a valid new
/// profile, the raw values: they only serve to keep the records they meet out of the batch.
fn keys_of(new: Option<&NewCustomer>, input: &CustomerCreate) -> Vec<Key> {
    if let Some(n) = new {
        let mut keys: Vec<Key> = n
            .refs
            .iter()
            .map(|r| Key::Ref(r.system.clone(), r.external_id.clone()))
            .collect();
        keys.extend(n.row.email_norm.clone().map(Key::Email));
        keys.extend(n.row.phone.clone().map(Key::Phone));
        return keys;
    }
    let mut keys: Vec<Key> = input
        .external_refs
        .iter()
        .map(|r| Key::Ref(r.system.trim().to_lowercase(), r.external_id.trim().to_string()))
        .collect();
    keys.extend(input.email.as_deref().and_then(|e| parse_email(e).ok()).map(Key::Email));
    keys.extend(input.phone.clone().map(Key::Phone));
    keys
}

/// Splits a chunk into the batch and the rest (in file order).
pub fn split(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    records: Vec<Parsed>,
) -> Result<(Vec<Fast>, Vec<Parsed>), ApiError> {
    let mut candidates: Vec<(i64, Option<NewCustomer>, CustomerCreate)> = Vec::new();
    let mut rest = Vec::new();
    for (line, parsed) in records {
        match parsed {
            Ok(input) => {
                let new = prepare(cipher, who, input.clone(), false).ok();
                candidates.push((line, new, input));
            }
            Err(fields) => rest.push((line, Err(fields))),
        }
    }
    let keys: Vec<Vec<Key>> = candidates.iter().map(|(_, n, i)| keys_of(n.as_ref(), i)).collect();
    let mut seen: HashMap<&Key, usize> = HashMap::new();
    for k in keys.iter().flatten() {
        *seen.entry(k).or_default() += 1;
    }
    let held = held_keys(conn, &candidates, &keys)?;
    let mut fast = Vec::new();
    for ((line, new, input), keys) in candidates.into_iter().zip(&keys) {
        let alone = keys.iter().all(|k| seen.get(k) == Some(&1) && !held.contains(k));
        match new {
            Some(new) if alone => fast.push(Fast { line, new, input }),
            _ => rest.push((line, Ok(input))),
        }
    }
    rest.sort_by_key(|r| r.0);
    Ok((fast, rest))
}

/// The candidates' keys some guest already holds: one query per kind (per reference system).
fn held_keys(
    conn: &mut DbConnection,
    candidates: &[(i64, Option<NewCustomer>, CustomerCreate)],
    keys: &[Vec<Key>],
) -> Result<HashSet<Key>, ApiError> {
    let mut emails = Vec::new();
    let mut phones = Vec::new();
    let mut refs: HashMap<&str, Vec<&str>> = HashMap::new();
    for ((_, new, _), keys) in candidates.iter().zip(keys) {
        if new.is_none() {
            continue; // not for the batch whatever it meets
        }
        for k in keys {
            match k {
                Key::Email(e) => emails.push(e.as_str()),
                Key::Phone(p) => phones.push(p.as_str()),
                Key::Ref(s, id) => refs.entry(s.as_str()).or_default().push(id.as_str()),
            }
        }
    }
    // Planned with each chunk's own values (`plan_each_statement_in_tx` in the chunk's
    // transaction): a prepared plan made while the table was small would scan it later.
    let mut held = HashSet::new();
    if !emails.is_empty() {
        let found: Vec<Option<String>> = customers::table
            .into_boxed()
            .filter(customers::email_norm.eq_any(&emails))
            .select(customers::email_norm)
            .load(conn)?;
        held.extend(found.into_iter().flatten().map(Key::Email));
    }
    if !phones.is_empty() {
        let found: Vec<Option<String>> = customers::table
            .into_boxed()
            .filter(customers::phone.eq_any(&phones))
            .select(customers::phone)
            .load(conn)?;
        held.extend(found.into_iter().flatten().map(Key::Phone));
    }
    for (system, ids) in refs {
        let found: Vec<String> = xr::table
            .into_boxed()
            .filter(xr::system.eq(system))
            .filter(xr::external_id.eq_any(&ids))
            .select(xr::external_id)
            .load(conn)?;
        held.extend(found.into_iter().map(|id| Key::Ref(system.to_string(), id)));
    }
    Ok(held)
}
