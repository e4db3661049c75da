//! Reading one guest: the 360° view, by id or by external reference (unmasked reads audited).

use diesel::prelude::*;
use serde_json::json;

use super::db::{load_records, load_row, recent_stays};
use super::render::render;
use super::rules::{audits_reads, check_system_ref};
use crate::auth::{Perm, PersonalView, Principal};
use crate::db::group_commit::Write;
use crate::db::schema::customer_external_refs;
use crate::db::{read_tx, DbConnection};
use crate::features::audit;
use crate::features::guests::model::*;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;

/// The 360° view of one guest, read in one read-only transaction. An unmasked read also
/// returns its audit row, which the caller commits before answering (`db_then_commit`).
pub fn get(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    id: &str,
) -> Result<(Customer, Option<Write>), ApiError> {
    who.require_staff_or_owner(Perm::CustomersRead, id, "customer")?;
    let c = read_tx(conn, |conn| {
        let row = load_row(conn, id)?;
        let rec = load_records(conn, vec![row])?
            .pop()
            .ok_or_else(|| ApiError::not_found("customer"))?;
        let mut c = render(&rec, who.personal_view(), cipher);
        if who.personal_view() != PersonalView::Hidden {
            c.recent_stays = Some(recent_stays(conn, who, id)?);
        }
        Ok(c)
    })?;
    let audit =
        audits_reads(who).then(|| audit::deferred(who, "customer.read_unmasked", "customer", Some(id), json!({})));
    Ok((c, audit))
}

pub fn get_by_ref(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    system: &str,
    external_id: &str,
) -> Result<(Customer, Option<Write>), ApiError> {
    who.require(Perm::CustomersRead)?;
    let r = check_system_ref(system, external_id)?;
    let id: Option<String> = customer_external_refs::table
        .find((&r.system, &r.external_id))
        .select(customer_external_refs::customer_id)
        .first(conn)
        .optional()?;
    match id {
        Some(id) => get(conn, cipher, who, &id),
        None => Err(ApiError::not_found("customer")),
    }
}
