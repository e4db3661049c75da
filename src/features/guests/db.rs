//! The guest tables: the profile row with its satellites (tags, references, consents) and the
//! queries on them.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::rules::NewContact;
use crate::auth::Principal;
use crate::db::dialect::{customer_text_hit, text_plan, TextPlan};
use crate::db::schema::{consent_events, customer_consents, customer_external_refs, customer_tags, customers, stays};
use crate::db::{DbConnection, MultiBackend};
use crate::features::guests::model::*;
use crate::platform::error::ApiError;
use crate::platform::fields::{parse_email, parse_phone};
use crate::platform::ids::now;

#[derive(Queryable, Selectable, Insertable, AsChangeset, Clone, Debug)]
#[diesel(table_name = customers)]
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct CustomerRow {
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
    pub email_norm: Option<String>,
    pub phone: Option<String>,
    pub gender: Option<String>,
    pub nationality: Option<String>,
    pub language: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub address: Option<String>,
    pub preferred_channel: Option<String>,
    pub grade: String,
    pub grade_override: Option<String>,
    pub grade_override_reason: Option<String>,
    pub lifecycle_stage: String,
    pub source_channel: String,
    pub preferences: String,
    pub special_dates: String,
    pub id_doc_type: Option<String>,
    pub id_doc_country: Option<String>,
    pub id_doc_number_enc: Option<String>,
    pub id_doc_key_id: Option<String>,
    pub id_doc_last4: Option<String>,
    pub search_text: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl CustomerRow {
    pub(crate) fn new(id: String, ts: NaiveDateTime) -> Self {
        CustomerRow {
            id,
            given_name: String::new(),
            family_name: String::new(),
            email: None,
            email_norm: None,
            phone: None,
            gender: None,
            nationality: None,
            language: None,
            birth_date: None,
            company: None,
            job_title: None,
            address: None,
            preferred_channel: None,
            grade: Grade::Potential.as_str().into(),
            grade_override: None,
            grade_override_reason: None,
            lifecycle_stage: LifecycleStage::Prospect.as_str().into(),
            source_channel: SourceChannel::Direct.as_str().into(),
            preferences: "{}".into(),
            special_dates: "[]".into(),
            id_doc_type: None,
            id_doc_country: None,
            id_doc_number_enc: None,
            id_doc_key_id: None,
            id_doc_last4: None,
            search_text: String::new(),
            version: 1,
            created_at: ts,
            updated_at: ts,
        }
    }

    /// Lower-case haystack for substring search: names both ways round (so "zhangwei" and
    /// "wei zhang" match), email, phone digits.
    pub(crate) fn refresh_search_text(&mut self) {
        let mut s = format!(
            "{} {} {}{} {}",
            self.given_name,
            self.family_name,
            self.family_name,
            self.given_name,
            self.email_norm.as_deref().unwrap_or("")
        );
        if let Some(p) = &self.phone {
            s.push(' ');
            s.push_str(p.trim_start_matches('+'));
        }
        self.search_text = s.to_lowercase();
    }
}

/// One consent decision of the history.
#[derive(Queryable, Selectable)]
#[diesel(table_name = consent_events)]
pub(crate) struct ConsentEventRow {
    pub(crate) id: String,
    pub(crate) purpose: String,
    pub(crate) granted: bool,
    pub(crate) source_channel: String,
    pub(crate) actor_kind: String,
    pub(crate) actor_id: Option<String>,
    pub(crate) created_at: NaiveDateTime,
}

/// The current state of one consent.
#[derive(Queryable, Selectable)]
#[diesel(table_name = customer_consents)]
struct ConsentRow {
    customer_id: String,
    purpose: String,
    granted: bool,
    source_channel: String,
    updated_at: NaiveDateTime,
}

/// A stay as the profile lists it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = stays)]
struct StayRow {
    id: String,
    property_id: String,
    confirmation_number: String,
    check_in: NaiveDate,
    check_out: NaiveDate,
    status: String,
}

/// A row with its satellites.
pub struct CustomerRecord {
    pub row: CustomerRow,
    pub tags: Vec<String>,
    pub refs: Vec<ExternalRef>,
    pub consents: Vec<ConsentState>,
}

/// 409 naming the existing guest when another profile has the same email or phone (those of
/// `contact`) or reference.
pub(crate) fn ensure_unique(
    conn: &mut DbConnection,
    row: &CustomerRow,
    contact: NewContact,
    refs: Option<&[ExternalRef]>,
) -> Result<(), ApiError> {
    if let Some(email) = row.email_norm.as_ref().filter(|_| contact.email) {
        let other: Option<String> = customers::table
            .filter(customers::email_norm.eq(email))
            .filter(customers::id.ne(&row.id))
            .select(customers::id)
            .first(conn)
            .optional()?;
        if let Some(existing_id) = other {
            return Err(ApiError::Conflict {
                detail: "a guest with this email exists".into(),
                existing_id: Some(existing_id),
            });
        }
    }
    if let Some(phone) = row.phone.as_ref().filter(|_| contact.phone) {
        let other: Option<String> = customers::table
            .filter(customers::phone.eq(phone))
            .filter(customers::id.ne(&row.id))
            .select(customers::id)
            .first(conn)
            .optional()?;
        if let Some(existing_id) = other {
            return Err(ApiError::Conflict {
                detail: "a guest with this phone number exists".into(),
                existing_id: Some(existing_id),
            });
        }
    }
    for r in refs.unwrap_or_default() {
        let other: Option<String> = customer_external_refs::table
            .find((&r.system, &r.external_id))
            .select(customer_external_refs::customer_id)
            .first(conn)
            .optional()?;
        if let Some(existing_id) = other.filter(|o| o != &row.id) {
            return Err(ApiError::Conflict {
                detail: format!("reference {}:{} belongs to another guest", r.system, r.external_id),
                existing_id: Some(existing_id),
            });
        }
    }
    Ok(())
}

pub(crate) fn replace_tags(conn: &mut DbConnection, id: &str, tags: &[String]) -> Result<(), ApiError> {
    diesel::delete(customer_tags::table.filter(customer_tags::customer_id.eq(id))).execute(conn)?;
    if !tags.is_empty() {
        // Row by row: batch INSERT does not compile through MultiConnection; tags are ≤ 50.
        for t in tags {
            diesel::insert_into(customer_tags::table)
                .values((customer_tags::customer_id.eq(id), customer_tags::tag.eq(t)))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Tags `(customer id, tag)` of new profiles, in one statement.
pub(crate) fn insert_tags(conn: &mut DbConnection, tags: &[(&str, &str)]) -> Result<(), ApiError> {
    if tags.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = tags
        .iter()
        .map(|(id, t)| (customer_tags::customer_id.eq(*id), customer_tags::tag.eq(*t)))
        .collect();
    crate::db::dialect::execute(conn, diesel::insert_into(customer_tags::table).values(&rows))?;
    Ok(())
}

/// References `(customer id, reference)` of new profiles, in one statement.
pub(crate) fn add_refs_many(conn: &mut DbConnection, refs: &[(&str, &ExternalRef)]) -> Result<(), ApiError> {
    if refs.is_empty() {
        return Ok(());
    }
    let ts = now();
    let rows: Vec<_> = refs
        .iter()
        .map(|(id, r)| {
            (
                customer_external_refs::system.eq(&r.system),
                customer_external_refs::external_id.eq(&r.external_id),
                customer_external_refs::customer_id.eq(*id),
                customer_external_refs::created_at.eq(ts),
            )
        })
        .collect();
    crate::db::dialect::execute(conn, diesel::insert_into(customer_external_refs::table).values(&rows))?;
    Ok(())
}

pub(crate) fn replace_refs(conn: &mut DbConnection, id: &str, refs: &[ExternalRef]) -> Result<(), ApiError> {
    diesel::delete(customer_external_refs::table.filter(customer_external_refs::customer_id.eq(id))).execute(conn)?;
    add_refs(conn, id, refs)
}

pub(crate) fn add_refs(conn: &mut DbConnection, id: &str, refs: &[ExternalRef]) -> Result<(), ApiError> {
    let ts = now();
    for r in refs {
        diesel::insert_into(customer_external_refs::table)
            .values((
                customer_external_refs::system.eq(&r.system),
                customer_external_refs::external_id.eq(&r.external_id),
                customer_external_refs::customer_id.eq(id),
                customer_external_refs::created_at.eq(ts),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub(crate) fn load_row(conn: &mut DbConnection, id: &str) -> Result<CustomerRow, ApiError> {
    customers::table
        .find(id)
        .select(CustomerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("customer"))
}

/// Locks the guest's row for the rest of the write transaction, then loads it: concurrent
/// changes of one guest apply one after the other, each on the state the other left (no lost
/// update, one If-Match applies once).
pub(crate) fn lock_row_for_update(conn: &mut DbConnection, id: &str) -> Result<CustomerRow, ApiError> {
    crate::db::lock_row!(conn, customers::table, customers::version, id)?;
    load_row(conn, id)
}

/// Loads tags, references and consents of `rows` in three queries (no N+1).
pub fn load_records(conn: &mut DbConnection, rows: Vec<CustomerRow>) -> Result<Vec<CustomerRecord>, ApiError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    let mut refs: HashMap<String, Vec<ExternalRef>> = HashMap::new();
    let mut consents: HashMap<String, Vec<ConsentState>> = HashMap::new();
    if !ids.is_empty() {
        let t: Vec<(String, String)> = customer_tags::table
            .filter(customer_tags::customer_id.eq_any(&ids))
            .select((customer_tags::customer_id, customer_tags::tag))
            .order((customer_tags::customer_id, customer_tags::tag))
            .load(conn)?;
        for (cid, tag) in t {
            tags.entry(cid).or_default().push(tag);
        }
        let r: Vec<(String, String, String)> = customer_external_refs::table
            .filter(customer_external_refs::customer_id.eq_any(&ids))
            .select((
                customer_external_refs::customer_id,
                customer_external_refs::system,
                customer_external_refs::external_id,
            ))
            .order((
                customer_external_refs::customer_id,
                customer_external_refs::system,
                customer_external_refs::external_id,
            ))
            .load(conn)?;
        for (cid, system, external_id) in r {
            refs.entry(cid).or_default().push(ExternalRef { system, external_id });
        }
        let cs: Vec<ConsentRow> = customer_consents::table
            .filter(customer_consents::customer_id.eq_any(&ids))
            .select(ConsentRow::as_select())
            .order((customer_consents::customer_id, customer_consents::purpose))
            .load(conn)?;
        for c in cs {
            if let Some(purpose) = ConsentPurpose::parse(&c.purpose) {
                consents.entry(c.customer_id).or_default().push(ConsentState {
                    purpose,
                    granted: c.granted,
                    source_channel: ConsentSource::parse(&c.source_channel).unwrap_or(ConsentSource::FrontDesk),
                    updated_at: c.updated_at.and_utc(),
                });
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| CustomerRecord {
            tags: tags.remove(&row.id).unwrap_or_default(),
            refs: refs.remove(&row.id).unwrap_or_default(),
            consents: consents.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

pub(crate) fn recent_stays(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Vec<StaySummary>, ApiError> {
    let mut q = stays::table
        .filter(stays::customer_id.eq(id))
        .select(StayRow::as_select())
        .order((stays::check_in.desc(), stays::id.desc()))
        .limit(5)
        .into_boxed();
    if let Some(scope) = who.property_scope() {
        q = q.filter(stays::property_id.eq_any(scope.to_vec()));
    }
    let rows: Vec<StayRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| StaySummary {
            id: r.id,
            property_id: r.property_id,
            confirmation_number: r.confirmation_number,
            check_in: r.check_in,
            check_out: r.check_out,
            status: r.status,
        })
        .collect())
}

/// How a `q` is looked for: a whole email or phone number exactly (through their own indexes:
/// a long pattern would make the trigram index read the lists of every common trigram), else
/// a substring of names, email or phone digits as `dialect::text_plan` finds it.
pub(crate) enum TextQuery {
    Exact {
        emails: Vec<String>,
        phones: Vec<String>,
    },
    /// `needle`: what the search text is searched for (`needle()` of the `q`).
    Substring {
        plan: TextPlan,
        needle: String,
    },
}

/// Plans `text` (lower case); on SQLite a substring costs one probe of the trigram table.
pub(crate) fn plan_text(conn: &mut DbConnection, text: &str) -> Result<TextQuery, diesel::result::Error> {
    let (emails, phones) = exact_contact(text);
    if !emails.is_empty() || !phones.is_empty() {
        return Ok(TextQuery::Exact { emails, phones });
    }
    let needle = needle(text);
    Ok(TextQuery::Substring {
        plan: text_plan(conn, &needle)?,
        needle,
    })
}

/// What the search text is searched for: phones are kept there as bare digits, so "+86 138"
/// searches "86138".
fn needle(text: &str) -> String {
    let rest = text.trim_start_matches('+');
    let phone_like =
        rest.chars().any(|c| c.is_ascii_digit()) && rest.chars().all(|c| c.is_ascii_digit() || " -().".contains(c));
    if phone_like {
        rest.chars().filter(char::is_ascii_digit).collect()
    } else {
        text.to_string()
    }
}

/// The `q` filter, as `plan_text` planned it. For `masked` callers (agents) only a substring of
/// the names, or a whole email or phone number: fragments of contact data find nothing, so
/// masked digits cannot be recovered by bisection.
pub(crate) fn filter_text<'a>(
    q: customers::BoxedQuery<'a, MultiBackend>,
    text: &TextQuery,
    masked: bool,
) -> customers::BoxedQuery<'a, MultiBackend> {
    let (plan, needle) = match text {
        // Only the lists that hold something: an empty `IN ()` is rendered `1=0`, and the `OR`
        // of it made SQLite scan every guest (242 ms at 1M for a whole email).
        TextQuery::Exact { emails, phones } if phones.is_empty() => {
            return q.filter(customers::email_norm.eq_any(emails.clone()))
        }
        TextQuery::Exact { emails, phones } if emails.is_empty() => {
            return q.filter(customers::phone.eq_any(phones.clone()))
        }
        TextQuery::Exact { emails, phones } => {
            return q.filter(
                customers::email_norm
                    .eq_any(emails.clone())
                    .or(customers::phone.eq_any(phones.clone())),
            )
        }
        TextQuery::Substring { plan, needle } => (plan, needle),
    };
    let escaped = needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let hit = customer_text_hit(plan, &pattern);
    if !masked {
        return q.filter(hit);
    }
    let names = diesel::dsl::sql::<diesel::sql_types::Bool>(
        "lower(customers.given_name || ' ' || customers.family_name || ' ' || customers.family_name \
         || customers.given_name) LIKE ",
    )
    .bind::<diesel::sql_types::Text, _>(pattern)
    .sql(" ESCAPE '\\'");
    q.filter(hit.and(names))
}

/// `q` read as a whole email or a whole phone number (normalized), if it is one.
pub(crate) fn exact_contact(q: &str) -> (Vec<String>, Vec<String>) {
    (
        parse_email(q).into_iter().collect(),
        parse_phone(q).into_iter().collect(),
    )
}
