//! A profile as the caller may see it (masking per personal-data view).

use crate::auth::PersonalView;
use crate::features::guests::db::{CustomerRecord, CustomerRow};
use crate::features::guests::model::*;
use crate::platform::crypto::Cipher;
use crate::platform::fields::{mask_document, mask_email, mask_phone};

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
    let document = document(r, view, cipher);
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
    mask(&mut c, view);
    c
}

/// The identity document: the number in full for `full` readers, else its last four only.
fn document(r: &CustomerRow, view: PersonalView, cipher: &Cipher) -> Option<IdentityDocument> {
    match (&r.id_doc_type, &r.id_doc_last4) {
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
    }
}

/// Masks or hides what `view` may not see, and says which it did in `personal_data`.
fn mask(c: &mut Customer, view: PersonalView) {
    match view {
        PersonalView::Full => c.personal_data = "full".into(),
        PersonalView::Contact => c.personal_data = "contact".into(),
        PersonalView::Masked => {
            c.personal_data = "masked".into();
            c.email = c.email.as_deref().map(mask_email);
            c.phone = c.phone.as_deref().map(mask_phone);
            c.address = c.address.take().map(|a| Address {
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
}
