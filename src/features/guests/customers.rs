//! Guest profiles (SPEC §3): create, 360° read, patch with optimistic concurrency, search,
//! duplicate detection, external references, consents with history. Personal data is masked per
//! caller in `render`; unmasked staff and integration reads are audited.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::auth::{Actor, Perm, PersonalView, Principal};
use crate::db::schema::{consent_events, customer_consents, customer_external_refs, customer_tags, customers, stays};
use crate::db::{read_tx, write_tx, Backend, DbConnection, MultiBackend};
use crate::features::audit;
use crate::features::guests::model::*;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::fields::{mask_document, mask_email, mask_phone, normalize_tag, parse_email, parse_phone, Checks};
use crate::platform::ids::{new_id, now};
use crate::platform::page::{self as pagination, Order, PageParams};

#[derive(Queryable, Insertable, AsChangeset, Clone, Debug)]
#[diesel(table_name = customers)]
#[diesel(treat_none_as_null = true)]
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
    fn new(id: String, ts: NaiveDateTime) -> Self {
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
    fn refresh_search_text(&mut self) {
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

type ConsentEventRow = (String, String, bool, String, String, Option<String>, NaiveDateTime);

/// A row with its satellites.
pub struct CustomerRecord {
    pub row: CustomerRow,
    pub tags: Vec<String>,
    pub refs: Vec<ExternalRef>,
    pub consents: Vec<ConsentState>,
}

struct Applied {
    tags: Option<Vec<String>>,
    refs: Option<Vec<ExternalRef>>,
    changed: Vec<&'static str>,
}

/// Validates `p` and writes it into `row`; every invalid field lands in `c`.
fn apply_patch(row: &mut CustomerRow, p: &CustomerPatch, cipher: &Cipher, c: &mut Checks) -> Result<Applied, ApiError> {
    let mut changed = Vec::new();
    if let Some(v) = &p.given_name {
        row.given_name = c.text("given_name", v, 1, 100);
        changed.push("given_name");
    }
    if let Some(v) = &p.family_name {
        row.family_name = c.text("family_name", v, 1, 100);
        changed.push("family_name");
    }
    if let Some(v) = &p.email {
        changed.push("email");
        match v.as_deref().map(str::trim) {
            None => {
                row.email = None;
                row.email_norm = None;
            }
            Some("") => c.fail("email", "must be a valid email address (send null to remove it)"),
            Some(e) => {
                if let Some(norm) = c.email("email", e) {
                    row.email = Some(e.to_string());
                    row.email_norm = Some(norm);
                }
            }
        }
    }
    if let Some(v) = &p.phone {
        changed.push("phone");
        row.phone = match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(ph) => c.phone("phone", ph),
        };
    }
    if let Some(v) = &p.gender {
        changed.push("gender");
        row.gender = v.map(|g| g.as_str().to_string());
    }
    if let Some(v) = &p.nationality {
        changed.push("nationality");
        row.nationality = v.as_deref().and_then(|n| c.country("nationality", n));
    }
    if let Some(v) = &p.language {
        changed.push("language");
        row.language = v.as_deref().and_then(|l| c.language("language", l));
    }
    if let Some(v) = &p.birth_date {
        changed.push("birth_date");
        if let Some(d) = v {
            let today = Utc::now().date_naive();
            if *d > today || *d < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(*d) {
                c.fail("birth_date", "must be between 1900-01-01 and today");
            }
        }
        row.birth_date = *v;
    }
    if let Some(v) = &p.company {
        changed.push("company");
        row.company = c.opt_text("company", v.as_deref(), 200);
    }
    if let Some(v) = &p.job_title {
        changed.push("job_title");
        row.job_title = c.opt_text("job_title", v.as_deref(), 100);
    }
    if let Some(v) = &p.address {
        changed.push("address");
        row.address = match v {
            None => None,
            Some(a) => {
                let clean = Address {
                    line1: c.opt_text("address.line1", a.line1.as_deref(), 200),
                    line2: c.opt_text("address.line2", a.line2.as_deref(), 200),
                    city: c.opt_text("address.city", a.city.as_deref(), 100),
                    region: c.opt_text("address.region", a.region.as_deref(), 100),
                    postal_code: c.opt_text("address.postal_code", a.postal_code.as_deref(), 20),
                    country: a.country.as_deref().and_then(|x| c.country("address.country", x)),
                };
                Some(serde_json::to_string(&clean).map_err(ApiError::internal)?)
            }
        };
    }
    if let Some(v) = &p.preferred_channel {
        changed.push("preferred_channel");
        row.preferred_channel = v.map(|x| x.as_str().to_string());
    }
    if let Some(v) = &p.source_channel {
        changed.push("source_channel");
        row.source_channel = v.as_str().to_string();
    }
    let tags = match &p.tags {
        None => None,
        Some(list) => {
            changed.push("tags");
            if list.len() > 50 {
                c.fail("tags", "at most 50 tags");
            }
            let mut out = Vec::new();
            for (i, t) in list.iter().enumerate() {
                match normalize_tag(t) {
                    Ok(t) => out.push(t),
                    Err(m) => c.fail(format!("tags[{i}]"), m),
                }
            }
            out.sort();
            out.dedup();
            Some(out)
        }
    };
    if let Some(prefs) = &p.preferences {
        changed.push("preferences");
        let clean = check_preferences(prefs, c);
        row.preferences = serde_json::to_string(&clean).map_err(ApiError::internal)?;
    }
    if let Some(dates) = &p.special_dates {
        changed.push("special_dates");
        if dates.len() > 20 {
            c.fail("special_dates", "at most 20 dates");
        }
        let mut clean = Vec::new();
        for (i, d) in dates.iter().enumerate() {
            let label = c.opt_text(&format!("special_dates[{i}].label"), d.label.as_deref(), 100);
            if d.kind == SpecialDateKind::Other && label.is_none() {
                c.fail(format!("special_dates[{i}].label"), "is required for kind `other`");
            }
            clean.push(SpecialDate {
                kind: d.kind,
                label,
                date: d.date,
            });
        }
        row.special_dates = serde_json::to_string(&clean).map_err(ApiError::internal)?;
    }
    let refs = match &p.external_refs {
        None => None,
        Some(list) => {
            changed.push("external_refs");
            Some(check_refs(list, c))
        }
    };
    if let Some(doc) = &p.identity_document {
        changed.push("identity_document");
        match doc {
            None => {
                row.id_doc_type = None;
                row.id_doc_country = None;
                row.id_doc_number_enc = None;
                row.id_doc_key_id = None;
                row.id_doc_last4 = None;
            }
            Some(d) => {
                let number: String = d.number.trim().to_ascii_uppercase();
                let chars = number.chars().count();
                let valid = (4..=32).contains(&chars) && number.chars().all(|ch| ch.is_ascii_alphanumeric());
                if !valid {
                    c.fail("identity_document.number", "must be 4 to 32 letters and digits");
                }
                let country = c.country("identity_document.issuing_country", &d.issuing_country);
                if valid {
                    row.id_doc_type = Some(d.doc_type.as_str().to_string());
                    row.id_doc_country = country;
                    row.id_doc_number_enc = Some(cipher.encrypt(&number)?);
                    row.id_doc_key_id = Some(cipher.key_id.clone());
                    // Characters, not bytes: a byte index may fall inside a character.
                    row.id_doc_last4 = Some(number.chars().skip(chars - 4).collect());
                }
            }
        }
    }
    row.refresh_search_text();
    Ok(Applied { tags, refs, changed })
}

fn check_preferences(p: &Preferences, c: &mut Checks) -> Preferences {
    let list = |c: &mut Checks, name: &str, items: &[String]| -> Vec<String> {
        if items.len() > 20 {
            c.fail(format!("preferences.{name}"), "at most 20 items");
        }
        items
            .iter()
            .enumerate()
            .filter_map(|(i, s)| c.opt_text(&format!("preferences.{name}[{i}]"), Some(s), 64))
            .collect()
    };
    if let Some(t) = &p.wake_up_time {
        let ok = chrono::NaiveTime::parse_from_str(t, "%H:%M").is_ok() && t.len() == 5;
        if !ok {
            c.fail("preferences.wake_up_time", "must be HH:MM (24 h)");
        }
    }
    if let Some(t) = p.room_temperature_celsius {
        if !(16.0..=30.0).contains(&t) {
            c.fail("preferences.room_temperature_celsius", "must be between 16 and 30");
        }
    }
    Preferences {
        room_type: p.room_type,
        floor: p.floor,
        view: c.opt_text("preferences.view", p.view.as_deref(), 64),
        pillow: c.opt_text("preferences.pillow", p.pillow.as_deref(), 64),
        newspaper: c.opt_text("preferences.newspaper", p.newspaper.as_deref(), 64),
        wake_up_time: p.wake_up_time.clone(),
        room_temperature_celsius: p.room_temperature_celsius,
        minibar: c.opt_text("preferences.minibar", p.minibar.as_deref(), 200),
        dietary_restrictions: list(c, "dietary_restrictions", &p.dietary_restrictions),
        allergies: list(c, "allergies", &p.allergies),
        favourite_dishes: list(c, "favourite_dishes", &p.favourite_dishes),
        favourite_drinks: list(c, "favourite_drinks", &p.favourite_drinks),
        notes: c.opt_text("preferences.notes", p.notes.as_deref(), 2000),
    }
}

fn check_refs(list: &[ExternalRef], c: &mut Checks) -> Vec<ExternalRef> {
    if list.len() > 20 {
        c.fail("external_refs", "at most 20 references");
    }
    let mut out: Vec<ExternalRef> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let system = r.system.trim().to_lowercase();
        if !(1..=40).contains(&system.len())
            || !system
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            c.fail(
                format!("external_refs[{i}].system"),
                "must be 1 to 40 characters of a-z, 0-9, '_' and '-'",
            );
        }
        let external_id = c.text(&format!("external_refs[{i}].external_id"), &r.external_id, 1, 100);
        let rf = ExternalRef { system, external_id };
        if out.contains(&rf) {
            c.fail(format!("external_refs[{i}]"), "duplicate reference");
        }
        out.push(rf);
    }
    out
}

fn check_system_ref(system: &str, external_id: &str) -> Result<ExternalRef, ApiError> {
    let mut c = Checks::new();
    let r = check_refs(
        &[ExternalRef {
            system: system.into(),
            external_id: external_id.into(),
        }],
        &mut c,
    );
    c.finish()?;
    Ok(r.into_iter().next().unwrap_or(ExternalRef {
        system: String::new(),
        external_id: String::new(),
    }))
}

/// Which contact values to check for duplicates: those staff or an integration just set.
/// Guests are never told (self-registration and `/me` skip the check): a 409 naming another
/// guest would reveal that guest to them. Duplicates left so are for staff to merge.
#[derive(Clone, Copy)]
struct NewContact {
    email: bool,
    phone: bool,
}

impl NewContact {
    const ALL: NewContact = NewContact {
        email: true,
        phone: true,
    };
    const NONE: NewContact = NewContact {
        email: false,
        phone: false,
    };
}

/// 409 naming the existing guest when another profile has the same email or phone (those of
/// `contact`) or reference.
fn ensure_unique(
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

fn replace_tags(conn: &mut DbConnection, id: &str, tags: &[String]) -> Result<(), ApiError> {
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

fn replace_refs(conn: &mut DbConnection, id: &str, refs: &[ExternalRef]) -> Result<(), ApiError> {
    diesel::delete(customer_external_refs::table.filter(customer_external_refs::customer_id.eq(id))).execute(conn)?;
    add_refs(conn, id, refs)
}

fn add_refs(conn: &mut DbConnection, id: &str, refs: &[ExternalRef]) -> Result<(), ApiError> {
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

fn default_source(who: &Principal) -> ConsentSource {
    match who.actor {
        Actor::Staff(_) => ConsentSource::FrontDesk,
        Actor::ApiKey(_) | Actor::System(_) => ConsentSource::Integration,
        Actor::Customer { .. } => ConsentSource::App,
    }
}

fn write_consent(
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
    let actor_id = match who.actor {
        Actor::Customer { ref customer_id } if customer_id.is_empty() => id.to_string(),
        _ => who.actor_id().to_string(),
    };
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
    Ok(())
}

/// Inserts a new profile inside the caller's transaction; returns its row.
/// `self_registration` skips the staff permission check (the guest app's sign-up).
pub fn insert_in_tx(
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
    let ts = now();
    let mut row = CustomerRow::new(new_id(), ts);
    let mut c = Checks::new();
    let consents = input.consents.clone();
    let refs_in = input.external_refs.clone();
    let go = input.grade_override.clone();
    let source = input.source_channel;
    let applied = apply_patch(&mut row, &CustomerPatch::from(input), cipher, &mut c)?;
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
    let contact = if self_registration {
        NewContact::NONE
    } else {
        NewContact::ALL
    };
    ensure_unique(conn, &row, contact, Some(&refs))?;
    diesel::insert_into(customers::table).values(&row).execute(conn)?;
    replace_tags(conn, &row.id, applied.tags.as_deref().unwrap_or_default())?;
    add_refs(conn, &row.id, &refs)?;
    for ci in &consents {
        write_consent(
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

fn load_row(conn: &mut DbConnection, id: &str) -> Result<CustomerRow, ApiError> {
    customers::table
        .find(id)
        .first::<CustomerRow>(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("customer"))
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
        let cs: Vec<(String, String, bool, String, NaiveDateTime)> = customer_consents::table
            .filter(customer_consents::customer_id.eq_any(&ids))
            .select((
                customer_consents::customer_id,
                customer_consents::purpose,
                customer_consents::granted,
                customer_consents::source_channel,
                customer_consents::updated_at,
            ))
            .order((customer_consents::customer_id, customer_consents::purpose))
            .load(conn)?;
        for (cid, purpose, granted, source, ts) in cs {
            if let Some(purpose) = ConsentPurpose::parse(&purpose) {
                consents.entry(cid).or_default().push(ConsentState {
                    purpose,
                    granted,
                    source_channel: ConsentSource::parse(&source).unwrap_or(ConsentSource::FrontDesk),
                    updated_at: ts.and_utc(),
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

/// The profile as `view` may see it.
pub fn render(rec: &CustomerRecord, view: PersonalView, cipher: &Cipher) -> Customer {
    let r = &rec.row;
    let grade_override = match (&r.grade_override, &r.grade_override_reason) {
        (Some(g), reason) => Grade::parse(g).map(|grade| GradeOverride {
            grade,
            reason: reason.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    let grade = grade_override
        .as_ref()
        .map(|g| g.grade)
        .or_else(|| Grade::parse(&r.grade))
        .unwrap_or(Grade::Potential);
    let address: Option<Address> = r.address.as_deref().and_then(|a| serde_json::from_str(a).ok());
    let document = match (&r.id_doc_type, &r.id_doc_last4) {
        (Some(t), Some(last4)) => {
            let number = match view {
                PersonalView::Full => match (&r.id_doc_key_id, &r.id_doc_number_enc) {
                    (Some(k), Some(enc)) => cipher.decrypt(k, enc).unwrap_or_else(|e| {
                        log::error!("identity document of customer {} unreadable: {e}", r.id);
                        mask_document(last4)
                    }),
                    _ => mask_document(last4),
                },
                _ => mask_document(last4),
            };
            DocumentType::parse(t).map(|doc_type| IdentityDocument {
                doc_type,
                number,
                issuing_country: r.id_doc_country.clone(),
            })
        }
        _ => None,
    };
    let mut c = Customer {
        id: r.id.clone(),
        given_name: Some(r.given_name.clone()),
        family_name: Some(r.family_name.clone()),
        email: r.email.clone(),
        phone: r.phone.clone(),
        gender: r.gender.as_deref().and_then(Gender::parse),
        nationality: r.nationality.clone(),
        language: r.language.clone(),
        birth_date: r.birth_date,
        company: r.company.clone(),
        job_title: r.job_title.clone(),
        address,
        preferred_channel: r.preferred_channel.as_deref().and_then(ContactChannel::parse),
        grade,
        grade_override,
        lifecycle_stage: LifecycleStage::parse(&r.lifecycle_stage).unwrap_or(LifecycleStage::Prospect),
        source_channel: SourceChannel::parse(&r.source_channel).unwrap_or(SourceChannel::Direct),
        tags: rec.tags.clone(),
        preferences: Some(serde_json::from_str(&r.preferences).unwrap_or_default()),
        special_dates: serde_json::from_str(&r.special_dates).unwrap_or_default(),
        consents: rec.consents.clone(),
        external_refs: rec.refs.clone(),
        identity_document: document,
        personal_data: String::new(),
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
        recent_stays: None,
    };
    match view {
        PersonalView::Full => c.personal_data = "full".into(),
        PersonalView::Contact => c.personal_data = "contact".into(),
        PersonalView::Masked => {
            c.personal_data = "masked".into();
            c.email = c.email.as_deref().map(mask_email);
            c.phone = c.phone.as_deref().map(mask_phone);
            c.address = c.address.map(|a| Address {
                city: a.city,
                region: a.region,
                country: a.country,
                ..Default::default()
            });
        }
        PersonalView::Hidden => {
            c.personal_data = "hidden".into();
            c.given_name = None;
            c.family_name = None;
            c.email = None;
            c.phone = None;
            c.gender = None;
            c.birth_date = None;
            c.company = None;
            c.job_title = None;
            c.address = None;
            c.tags = Vec::new();
            c.preferences = None;
            c.special_dates = Vec::new();
            c.external_refs = Vec::new();
            c.identity_document = None;
            // The reason is free text about the guest: analysts see the grade, not why.
            c.grade_override = None;
        }
    }
    c
}

/// Staff and integration reads of whole personal data are audited (SPEC §9).
fn audits_reads(who: &Principal) -> bool {
    matches!(who.personal_view(), PersonalView::Full | PersonalView::Contact)
        && !matches!(who.actor, Actor::Customer { .. })
}

fn recent_stays(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Vec<StaySummary>, ApiError> {
    let mut q = stays::table
        .filter(stays::customer_id.eq(id))
        .select((
            stays::id,
            stays::property_id,
            stays::confirmation_number,
            stays::check_in,
            stays::check_out,
            stays::status,
        ))
        .order((stays::check_in.desc(), stays::id.desc()))
        .limit(5)
        .into_boxed();
    if let Some(scope) = who.property_scope() {
        q = q.filter(stays::property_id.eq_any(scope.to_vec()));
    }
    let rows: Vec<(String, String, String, NaiveDate, NaiveDate, String)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, property_id, confirmation_number, check_in, check_out, status)| StaySummary {
                id,
                property_id,
                confirmation_number,
                check_in,
                check_out,
                status,
            },
        )
        .collect())
}

/// The 360° view of one guest.
pub fn get(conn: &mut DbConnection, cipher: &Cipher, who: &Principal, id: &str) -> Result<Customer, ApiError> {
    match &who.actor {
        Actor::Customer { customer_id } if customer_id != id => return Err(ApiError::not_found("customer")),
        Actor::Customer { .. } => {}
        _ => who.require(Perm::CustomersRead)?,
    }
    let body = |conn: &mut DbConnection| {
        let row = load_row(conn, id)?;
        let rec = load_records(conn, vec![row])?
            .pop()
            .ok_or_else(|| ApiError::not_found("customer"))?;
        let mut c = render(&rec, who.personal_view(), cipher);
        if who.personal_view() != PersonalView::Hidden {
            c.recent_stays = Some(recent_stays(conn, who, id)?);
        }
        if audits_reads(who) {
            audit::record(conn, who, "customer.read_unmasked", "customer", Some(id), json!({}))?;
        }
        Ok(c)
    };
    if audits_reads(who) {
        write_tx(conn, body)
    } else {
        read_tx(conn, body)
    }
}

pub fn get_by_ref(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    system: &str,
    external_id: &str,
) -> Result<Customer, ApiError> {
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

/// The `q` filter: a substring of names, email or phone digits (indexed: pg_trgm on
/// PostgreSQL, FTS5 trigram on SQLite). For `masked` callers (agents) only a substring of the
/// names, or a whole email or phone number: fragments of contact data find nothing, so masked
/// digits cannot be recovered by bisection.
fn filter_text<'a>(
    mut q: customers::BoxedQuery<'a, MultiBackend>,
    backend: Backend,
    text: &str,
    masked: bool,
) -> customers::BoxedQuery<'a, MultiBackend> {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let names = || {
        diesel::dsl::sql::<diesel::sql_types::Bool>(
            "lower(customers.given_name || ' ' || customers.family_name || ' ' || customers.family_name \
             || customers.given_name) LIKE ",
        )
        .bind::<diesel::sql_types::Text, _>(pattern.clone())
        .sql(" ESCAPE '\\'")
    };
    let (emails, phones) = exact_contact(text);
    let whole_contact = || {
        customers::email_norm
            .eq_any(emails.clone())
            .or(customers::phone.eq_any(phones.clone()))
    };
    let contact_given = !emails.is_empty() || !phones.is_empty();
    match backend {
        // pg_trgm GIN index; backslash is PostgreSQL's default LIKE escape.
        Backend::Postgres => {
            let hit = customers::search_text.like(pattern.clone());
            q = match (masked, contact_given) {
                (false, _) => q.filter(hit),
                (true, false) => q.filter(hit.and(names())),
                (true, true) => q.filter(hit.and(names()).or(whole_contact())),
            };
        }
        Backend::Sqlite => {
            // The FTS5 trigram index narrows the candidates (its LIKE has no ESCAPE, so
            // it is a superset); the exact match on the row finishes the job.
            let fts = diesel::dsl::sql::<diesel::sql_types::Bool>(
                "customers.rowid IN (SELECT rowid FROM customers_fts WHERE customers_fts.search_text LIKE ",
            )
            .bind::<diesel::sql_types::Text, _>(format!("%{text}%"))
            .sql(")");
            let hit = fts.and(customers::search_text.like(pattern.clone()).escape('\\'));
            q = match (masked, contact_given) {
                (false, _) => q.filter(hit),
                (true, false) => q.filter(hit.and(names())),
                (true, true) => q.filter(hit.and(names()).or(whole_contact())),
            };
        }
    }
    q
}

/// `q` read as a whole email or a whole phone number (normalized), if it is one.
fn exact_contact(q: &str) -> (Vec<String>, Vec<String>) {
    (
        parse_email(q).into_iter().collect(),
        parse_phone(q).into_iter().collect(),
    )
}

pub fn list(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    f: &CustomerFilter,
    page: &PageParams,
) -> Result<CustomerPage, ApiError> {
    who.require(Perm::CustomersRead)?;
    if who.personal_view() == PersonalView::Hidden
        && (f.q.is_some() || f.email.is_some() || f.phone.is_some() || f.tag.is_some())
    {
        return Err(ApiError::Forbidden(
            "analysts may not search by personal data (q, email, phone, tag)".into(),
        ));
    }
    let order = Order::parse(f.sort.as_deref(), Order::Asc)?;
    let cur = page.resolve(order)?;
    let mut c = Checks::new();
    let q_text =
        f.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| c.text("q", s, 1, 100).to_lowercase());
    let email = f.email.as_deref().map(|e| {
        parse_email(e).unwrap_or_else(|m| {
            c.fail("email", m);
            String::new()
        })
    });
    let phone = f.phone.as_deref().map(|p| {
        parse_phone(p).unwrap_or_else(|m| {
            c.fail("phone", m);
            String::new()
        })
    });
    let tag = f.tag.as_deref().map(|t| {
        normalize_tag(t).unwrap_or_else(|m| {
            c.fail("tag", m);
            String::new()
        })
    });
    c.finish()?;
    if let Some(pid) = &f.property_id {
        if !who.can_access_property(pid) {
            return Err(ApiError::not_found("property"));
        }
    }
    let backend = conn.backend();
    let audited = audits_reads(who);
    // Callers who see contact data masked (agents) must not recover it by searching fragments:
    // `q` matches their names only, or a whole email or phone exactly.
    let masked = who.personal_view() == PersonalView::Masked;
    let body = |conn: &mut DbConnection| {
        let mut q = customers::table.into_boxed();
        if let Some(text) = &q_text {
            q = filter_text(q, backend, text, masked);
        }
        if let Some(e) = &email {
            q = q.filter(customers::email_norm.eq(e.clone()));
        }
        if let Some(p) = &phone {
            q = q.filter(customers::phone.eq(p.clone()));
        }
        if let Some(t) = &tag {
            q = q.filter(
                customers::id.eq_any(
                    customer_tags::table
                        .filter(customer_tags::tag.eq(t.clone()))
                        .select(customer_tags::customer_id),
                ),
            );
        }
        if let Some(g) = f.grade {
            // Effective grade: the override wins.
            q = q.filter(
                customers::grade_override
                    .eq(g.as_str())
                    .or(customers::grade_override.is_null().and(customers::grade.eq(g.as_str()))),
            );
        }
        if let Some(l) = f.lifecycle_stage {
            q = q.filter(customers::lifecycle_stage.eq(l.as_str()));
        }
        if let Some(pid) = &f.property_id {
            q = q.filter(
                customers::id.eq_any(
                    stays::table
                        .filter(stays::property_id.eq(pid.clone()))
                        .select(stays::customer_id),
                ),
            );
        }
        q = match (order, &cur.after) {
            (Order::Asc, Some(a)) => q.filter(customers::id.gt(a.clone())),
            (Order::Desc, Some(a)) => q.filter(customers::id.lt(a.clone())),
            _ => q,
        };
        q = match order {
            Order::Asc => q.order(customers::id.asc()),
            Order::Desc => q.order(customers::id.desc()),
        };
        let rows: Vec<CustomerRow> = q.limit(cur.limit + 1).load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        let recs = load_records(conn, rows)?;
        let data: Vec<Customer> = recs.iter().map(|r| render(r, who.personal_view(), cipher)).collect();
        if audited && !data.is_empty() {
            let ids: Vec<&str> = data.iter().map(|c| c.id.as_str()).collect();
            audit::record(
                conn,
                who,
                "customer.list_unmasked",
                "customer",
                None,
                json!({"ids": ids}),
            )?;
        }
        Ok(CustomerPage { data, next_cursor })
    };
    if audited {
        write_tx(conn, body)
    } else {
        read_tx(conn, body)
    }
}

/// Applies `patch` inside the caller's transaction to `row`, bumping the version.
fn update_in_tx(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    mut row: CustomerRow,
    patch: &CustomerPatch,
    action: &str,
) -> Result<CustomerRow, ApiError> {
    let mut c = Checks::new();
    let before = (row.email_norm.clone(), row.phone.clone());
    let applied = apply_patch(&mut row, patch, cipher, &mut c)?;
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
        let row = load_row(conn, id)?;
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
        let by_ref: Option<String> = customer_external_refs::table
            .find((&r.system, &r.external_id))
            .select(customer_external_refs::customer_id)
            .first(conn)
            .optional()?;
        let email = input.email.as_deref().and_then(|e| parse_email(e).ok());
        let phone = input.phone.as_deref().and_then(|p| parse_phone(p).ok());
        let (target, outcome) = match by_ref {
            Some(id) => (Some(id), "updated"),
            None => {
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
                (found, "linked")
            }
        };
        let outcome = if target.is_none() { "created" } else { outcome };
        let row = match target {
            Some(id) => {
                let row = load_row(conn, &id)?;
                let consents = std::mem::take(&mut input.consents);
                let extra_refs = std::mem::take(&mut input.external_refs);
                let row = update_in_tx(conn, cipher, who, row, &CustomerPatch::from(input), "customer.upserted")?;
                if outcome == "linked" {
                    add_refs(conn, &row.id, std::slice::from_ref(&r))?;
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
                    write_consent(
                        conn,
                        who,
                        &row.id,
                        ci.purpose,
                        ci.granted,
                        ci.source_channel.unwrap_or_else(|| default_source(who)),
                    )?;
                }
                row
            }
            None => {
                if !input.external_refs.contains(&r) {
                    input.external_refs.push(r.clone());
                }
                insert_in_tx(conn, cipher, who, input, false)?
            }
        };
        let rec = load_records(conn, vec![row])?
            .pop()
            .ok_or_else(|| ApiError::internal("lost upsert"))?;
        Ok(UpsertResult {
            outcome: outcome.to_string(),
            customer: render(&rec, who.personal_view(), cipher),
        })
    })
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
        let row = load_row(conn, id)?;
        write_consent(conn, who, id, purpose, update.granted, source)?;
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
            .select((
                consent_events::id,
                consent_events::purpose,
                consent_events::granted,
                consent_events::source_channel,
                consent_events::actor_kind,
                consent_events::actor_id,
                consent_events::created_at,
            ))
            .order(consent_events::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(a) = &cur.after {
            q = q.filter(consent_events::id.lt(a.clone()));
        }
        let rows: Vec<ConsentEventRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.0);
        let data = rows
            .into_iter()
            .filter_map(|r| {
                Some(ConsentEvent {
                    id: r.0,
                    purpose: ConsentPurpose::parse(&r.1)?,
                    granted: r.2,
                    source_channel: ConsentSource::parse(&r.3).unwrap_or(ConsentSource::FrontDesk),
                    actor_kind: r.4,
                    actor_id: if who.personal_view() == PersonalView::Hidden {
                        None
                    } else {
                        r.5
                    },
                    created_at: r.6.and_utc(),
                })
            })
            .collect();
        Ok(ConsentEventPage { data, next_cursor })
    })
}
