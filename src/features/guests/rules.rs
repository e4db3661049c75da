//! Pure rules of guest profiles: validating a patch into a row, preferences, references, the
//! consent source by caller, whose reads are audited. No database; time is passed in.

use chrono::NaiveDate;

use super::db::CustomerRow;
use crate::auth::{Actor, PersonalView, Principal};
use crate::features::guests::model::*;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::fields::{normalize_tag, Checks};

pub(crate) struct Applied {
    pub(crate) tags: Option<Vec<String>>,
    pub(crate) refs: Option<Vec<ExternalRef>>,
    pub(crate) changed: Vec<&'static str>,
}

/// Validates `p` and writes it into `row`; every invalid field lands in `c`. `today` bounds the
/// birth date.
pub(crate) fn apply_patch(
    row: &mut CustomerRow,
    p: &CustomerPatch,
    cipher: &Cipher,
    c: &mut Checks,
    today: NaiveDate,
) -> Result<Applied, ApiError> {
    let mut changed = Vec::new();
    apply_contact(row, p, c, &mut changed);
    apply_profile(row, p, c, &mut changed, today)?;
    let tags = p.tags.as_ref().map(|list| {
        changed.push("tags");
        check_tags(list, c)
    });
    if let Some(prefs) = &p.preferences {
        changed.push("preferences");
        let clean = check_preferences(prefs, c);
        row.preferences = serde_json::to_string(&clean).map_err(ApiError::internal)?;
    }
    if let Some(dates) = &p.special_dates {
        changed.push("special_dates");
        let clean = check_special_dates(dates, c);
        row.special_dates = serde_json::to_string(&clean).map_err(ApiError::internal)?;
    }
    let refs = p.external_refs.as_ref().map(|list| {
        changed.push("external_refs");
        check_refs(list, c)
    });
    if let Some(doc) = &p.identity_document {
        changed.push("identity_document");
        apply_document(row, doc.as_ref(), cipher, c)?;
    }
    row.refresh_search_text();
    Ok(Applied { tags, refs, changed })
}

/// Names, email and phone.
fn apply_contact(row: &mut CustomerRow, p: &CustomerPatch, c: &mut Checks, changed: &mut Vec<&'static str>) {
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
}

/// Gender, nationality, language, birth date, company, job title, address, channels.
fn apply_profile(
    row: &mut CustomerRow,
    p: &CustomerPatch,
    c: &mut Checks,
    changed: &mut Vec<&'static str>,
    today: NaiveDate,
) -> Result<(), ApiError> {
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
            Some(a) => Some(serde_json::to_string(&check_address(a, c)).map_err(ApiError::internal)?),
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
    Ok(())
}

fn check_address(a: &Address, c: &mut Checks) -> Address {
    Address {
        line1: c.opt_text("address.line1", a.line1.as_deref(), 200),
        line2: c.opt_text("address.line2", a.line2.as_deref(), 200),
        city: c.opt_text("address.city", a.city.as_deref(), 100),
        region: c.opt_text("address.region", a.region.as_deref(), 100),
        postal_code: c.opt_text("address.postal_code", a.postal_code.as_deref(), 20),
        country: a.country.as_deref().and_then(|x| c.country("address.country", x)),
    }
}

/// Normalized, sorted, deduplicated; at most 50.
fn check_tags(list: &[String], c: &mut Checks) -> Vec<String> {
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
    out
}

fn check_special_dates(dates: &[SpecialDate], c: &mut Checks) -> Vec<SpecialDate> {
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
    clean
}

/// The identity document: the number encrypted, its last four characters kept for display.
fn apply_document(
    row: &mut CustomerRow,
    doc: Option<&IdentityDocumentInput>,
    cipher: &Cipher,
    c: &mut Checks,
) -> Result<(), ApiError> {
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
    Ok(())
}

pub(crate) fn check_preferences(p: &Preferences, c: &mut Checks) -> Preferences {
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

pub(crate) fn check_refs(list: &[ExternalRef], c: &mut Checks) -> Vec<ExternalRef> {
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

pub(crate) fn check_system_ref(system: &str, external_id: &str) -> Result<ExternalRef, ApiError> {
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
pub(crate) struct NewContact {
    pub(crate) email: bool,
    pub(crate) phone: bool,
}

impl NewContact {
    pub(crate) const ALL: NewContact = NewContact {
        email: true,
        phone: true,
    };
    pub(crate) const NONE: NewContact = NewContact {
        email: false,
        phone: false,
    };
}

pub(crate) fn default_source(who: &Principal) -> ConsentSource {
    match who.actor {
        Actor::Staff(_) => ConsentSource::FrontDesk,
        Actor::ApiKey(_) | Actor::System(_) => ConsentSource::Integration,
        Actor::Customer { .. } => ConsentSource::App,
    }
}

/// Staff and integration reads of whole personal data are audited (SPEC §9).
pub(crate) fn audits_reads(who: &Principal) -> bool {
    matches!(who.personal_view(), PersonalView::Full | PersonalView::Contact)
        && !matches!(who.actor, Actor::Customer { .. })
}
