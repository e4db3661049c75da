//! Consents: a decision with its history (`consent.changed`), and the history read.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::json;

use super::db::{load_row, lock_row_for_update, ConsentEventRow};
use super::rules::default_source;
use crate::auth::{Actor, Perm, PersonalView, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{consent_events, customer_consents, customers};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::features::guests::model::*;
use crate::platform::error::ApiError;
use crate::platform::ids::{new_id, now};
use crate::platform::page::{self as pagination, Order, PageParams};

/// The consent decisions `(customer id, purpose, granted, source)` of new profiles, with their
/// history, in one statement each; their `consent.changed` events are the caller's to emit
/// (`consent_changed`), after the profiles' own.
pub(crate) fn insert_new_consents_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    decisions: &[(&str, ConsentPurpose, bool, ConsentSource)],
) -> Result<(), ApiError> {
    if decisions.is_empty() {
        return Ok(());
    }
    let ts = now();
    let rows: Vec<_> = decisions
        .iter()
        .map(|(id, purpose, granted, source)| {
            (
                customer_consents::customer_id.eq(*id),
                customer_consents::purpose.eq(purpose.as_str()),
                customer_consents::granted.eq(*granted),
                customer_consents::source_channel.eq(source.as_str()),
                customer_consents::updated_at.eq(ts),
            )
        })
        .collect();
    crate::db::dialect::execute(conn, diesel::insert_into(customer_consents::table).values(&rows))?;
    let history: Vec<_> = decisions
        .iter()
        .map(|(id, purpose, granted, source)| {
            (
                consent_events::id.eq(new_id()),
                consent_events::customer_id.eq(*id),
                consent_events::purpose.eq(purpose.as_str()),
                consent_events::granted.eq(*granted),
                consent_events::source_channel.eq(source.as_str()),
                consent_events::actor_kind.eq(who.actor_kind()),
                consent_events::actor_id.eq(Some(consent_actor(who, id))),
                consent_events::created_at.eq(ts),
            )
        })
        .collect();
    crate::db::dialect::execute(conn, diesel::insert_into(consent_events::table).values(&history))?;
    Ok(())
}

/// Who decided: the caller, or — signing up, before they have an id — the new guest.
fn consent_actor(who: &Principal, id: &str) -> String {
    match who.actor {
        Actor::Customer { ref customer_id } if customer_id.is_empty() => id.to_string(),
        _ => who.actor_id().to_string(),
    }
}

/// The `consent.changed` event of one decision (ids and the decision: no personal data).
pub(crate) fn consent_changed(id: &str, purpose: ConsentPurpose, granted: bool, source: ConsentSource) -> NewEvent<'_> {
    NewEvent::new("consent.changed", "customer", id).data(json!({
        "customer_id": id,
        "purpose": purpose.as_str(),
        "granted": granted,
        "source_channel": source.as_str(),
    }))
}

pub(crate) fn write_consent_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    purpose: ConsentPurpose,
    granted: bool,
    source: ConsentSource,
) -> Result<(), ApiError> {
    let ts = now();
    let exists: i64 = customer_consents::table
        .find((id, purpose.as_str()))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        diesel::update(customer_consents::table.find((id, purpose.as_str())))
            .set((
                customer_consents::granted.eq(granted),
                customer_consents::source_channel.eq(source.as_str()),
                customer_consents::updated_at.eq(ts),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(customer_consents::table)
            .values((
                customer_consents::customer_id.eq(id),
                customer_consents::purpose.eq(purpose.as_str()),
                customer_consents::granted.eq(granted),
                customer_consents::source_channel.eq(source.as_str()),
                customer_consents::updated_at.eq(ts),
            ))
            .execute(conn)?;
    }
    let actor_id = consent_actor(who, id);
    diesel::insert_into(consent_events::table)
        .values((
            consent_events::id.eq(new_id()),
            consent_events::customer_id.eq(id),
            consent_events::purpose.eq(purpose.as_str()),
            consent_events::granted.eq(granted),
            consent_events::source_channel.eq(source.as_str()),
            consent_events::actor_kind.eq(who.actor_kind()),
            consent_events::actor_id.eq(Some(actor_id)),
            consent_events::created_at.eq(ts),
        ))
        .execute(conn)?;
    outbox::emit_in_tx(conn, who, consent_changed(id, purpose, granted, source))?;
    Ok(())
}

/// Records a consent decision with its history; bumps the profile version.
pub fn set_consent(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    purpose: ConsentPurpose,
    update: ConsentUpdate,
) -> Result<ConsentState, ApiError> {
    let is_self = matches!(&who.actor, Actor::Customer { customer_id } if customer_id == id);
    if !is_self {
        who.require(Perm::CustomersWrite)?;
    }
    let source = update.source_channel.unwrap_or_else(|| default_source(who));
    write_tx(conn, |conn| {
        let row = lock_row_for_update(conn, id)?;
        write_consent_in_tx(conn, who, id, purpose, update.granted, source)?;
        diesel::update(customers::table.find(id))
            .set((customers::version.eq(row.version + 1), customers::updated_at.eq(now())))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            "consent.changed",
            "customer",
            Some(id),
            json!({"purpose": purpose.as_str(), "granted": update.granted, "source_channel": source.as_str()}),
        )?;
        Ok(ConsentState {
            purpose,
            granted: update.granted,
            source_channel: source,
            updated_at: Utc::now(),
        })
    })
}

pub fn consent_history(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    page: &PageParams,
) -> Result<ConsentEventPage, ApiError> {
    let is_self = matches!(&who.actor, Actor::Customer { customer_id } if customer_id == id);
    if !is_self {
        who.require(Perm::CustomersRead)?;
    }
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        load_row(conn, id)?;
        let mut q = consent_events::table
            .filter(consent_events::customer_id.eq(id))
            .select(ConsentEventRow::as_select())
            .order(consent_events::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(a) = &cur.after {
            q = q.filter(consent_events::id.lt(a.clone()));
        }
        let rows: Vec<ConsentEventRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        let data = rows
            .into_iter()
            .filter_map(|r| {
                Some(ConsentEvent {
                    id: r.id,
                    purpose: ConsentPurpose::parse(&r.purpose)?,
                    granted: r.granted,
                    source_channel: ConsentSource::parse(&r.source_channel).unwrap_or(ConsentSource::FrontDesk),
                    actor_kind: r.actor_kind,
                    actor_id: if who.personal_view() == PersonalView::Hidden {
                        None
                    } else {
                        r.actor_id
                    },
                    created_at: r.created_at.and_utc(),
                })
            })
            .collect();
        Ok(ConsentEventPage { data, next_cursor })
    })
}
