//! `concierge seed-demo`: a small demo group for testers. Idempotent: a second run changes
//! nothing.

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;

use crate::auth::passwords::hash_password;
use crate::auth::{Principal, Role};
use crate::db::schema::{customer_accounts, properties as props_t};
use crate::db::{write_tx, DbConnection};
use crate::features::guests::customers;
use crate::features::guests::interactions::{self, InteractionCreate};
use crate::features::guests::model::*;
use crate::features::loyalty::rewards;
use crate::features::properties;
use crate::features::staff;
use crate::features::stays::service::{self as stays, Outlet, SpendInput, StayInput, StayStatus};
use crate::features::surveys::service as surveys;
use crate::features::tickets::config::Severity;
use crate::features::tickets::service::{self as tickets, TicketChannel, TicketKind, TicketState};
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::ids::now;
use crate::platform::money::from_minor;

/// The password of every demo staff user (printed by `seed-demo`).
pub const DEMO_STAFF_PASSWORD: &str = "demo-staff-passphrase";

const GIVEN: &[&str] = &[
    "Wei", "Fang", "Min", "Jing", "Lei", "Amelie", "Louis", "Chloe", "Hugo", "Yuki", "Kenji", "Sofia", "Mateo",
    "Olivia", "Noah", "Priya", "Arjun",
];
const FAMILY: &[&str] = &[
    "Zhang", "Wang", "Li", "Liu", "Chen", "Martin", "Bernard", "Dubois", "Sato", "Tanaka", "Garcia", "Smith", "Brown",
    "Sharma", "Patel",
];

pub fn seed_demo(conn: &mut DbConnection, cipher: &Cipher) -> Result<String, ApiError> {
    super::reactions::install();
    let exists: i64 = props_t::table
        .filter(props_t::code.eq("SHA-BUND"))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok("demo data already loaded; nothing changed".into());
    }
    let system = Principal::system("seed");
    let mut out = String::from("Demo group loaded.\n\nProperties:\n");
    let (sha, par) = demo_properties(conn, &system)?;
    out += &format!(
        "  {} {} ({})\n  {} {} ({})\n\nStaff (email / password):\n",
        sha.code, sha.name, sha.id, par.code, par.name, par.id
    );
    let agent_id = demo_staff(conn, &sha, &par, &mut out)?;
    let today = Utc::now().date_naive();
    let mut first_id = String::new();
    for i in 0..50usize {
        let c = customers::create(conn, cipher, &system, demo_guest(i, today))?;
        if i == 0 {
            first_id = c.id.clone();
        }
        let property = if i % 3 == 0 { &par } else { &sha };
        demo_history(conn, &system, i, &c.id, property, today)?;
    }
    demo_rewards(conn, &system)?;
    let email = demo_guest_login(conn, &first_id)?;
    demo_tickets(conn, &system, &sha.id, &first_id, &agent_id)?;
    demo_surveys(conn, &sha.id)?;
    out += &format!("\n50 guests with preferences, consents, stays (points earned at check-out) and interactions;\n4 rewards; 3 tickets of the first guest; 12 survey answers at Shanghai.\nGuest app login: {email} / demo-guest-password\n");
    Ok(out)
}

fn demo_properties(
    conn: &mut DbConnection,
    system: &Principal,
) -> Result<(properties::Property, properties::Property), ApiError> {
    let sha = properties::create(
        conn,
        system,
        properties::PropertyCreate {
            code: "SHA-BUND".into(),
            name: "Concierge Bund Shanghai".into(),
            timezone: "Asia/Shanghai".into(),
            currency: "CNY".into(),
        },
    )?;
    let par = properties::create(
        conn,
        system,
        properties::PropertyCreate {
            code: "PAR-OPERA".into(),
            name: "Concierge Opéra Paris".into(),
            timezone: "Europe/Paris".into(),
            currency: "EUR".into(),
        },
    )?;
    Ok((sha, par))
}

/// The demo staff, one line each in `out`; the Shanghai agent's id.
fn demo_staff(
    conn: &mut DbConnection,
    sha: &properties::Property,
    par: &properties::Property,
    out: &mut String,
) -> Result<String, ApiError> {
    let people = [
        ("admin@demo.concierge", "Demo Admin", Role::Admin, vec![]),
        (
            "manager@demo.concierge",
            "Demo Manager",
            Role::Manager,
            vec![sha.id.clone()],
        ),
        ("agent@demo.concierge", "Demo Agent", Role::Agent, vec![sha.id.clone()]),
        (
            "agent.paris@demo.concierge",
            "Demo Agent Paris",
            Role::Agent,
            vec![par.id.clone()],
        ),
        ("analyst@demo.concierge", "Demo Analyst", Role::Analyst, vec![]),
    ];
    let mut agent_id = String::new();
    for (email, name, role, props) in people {
        // One demo password for all staff, passing the staff policy (which refuses a password
        // that contains the email's name part, e.g. `demo-admin-password` for `admin@…`).
        let password = DEMO_STAFF_PASSWORD.to_string();
        let user = staff::create(
            conn,
            None,
            staff::StaffCreate {
                email: email.into(),
                display_name: name.into(),
                role,
                property_ids: props,
                password: password.clone(),
            },
        )?;
        if email == "agent@demo.concierge" {
            agent_id = user.id.clone();
        }
        *out += &format!("  {:<30} {:<24} {}\n", email, password, role.as_str());
    }
    Ok(agent_id)
}

/// Demo guest `i`: names, contact, preferences, consents, a PMS reference, some documents.
fn demo_guest(i: usize, today: NaiveDate) -> CustomerCreate {
    let given = GIVEN[i % GIVEN.len()];
    let family = FAMILY[(i * 7) % FAMILY.len()];
    let mut tags = vec![];
    if i.is_multiple_of(5) {
        tags.push("business".to_string());
    }
    if i.is_multiple_of(9) {
        tags.push("honeymoon".to_string());
    }
    if i.is_multiple_of(11) {
        tags.push("allergy:nuts".to_string());
    }
    CustomerCreate {
        given_name: given.into(),
        family_name: family.into(),
        email: Some(format!(
            "{}.{}{}@example.com",
            given.to_lowercase(),
            family.to_lowercase(),
            i
        )),
        phone: Some(format!("+86138{:08}", 10_000_000 + i * 7919)),
        gender: Some(if i.is_multiple_of(2) {
            Gender::Female
        } else {
            Gender::Male
        }),
        nationality: Some(if i.is_multiple_of(3) { "FR" } else { "CN" }.into()),
        language: Some(if i.is_multiple_of(3) { "fr" } else { "zh-CN" }.into()),
        birth_date: NaiveDate::from_ymd_opt(1960 + (i as i32 % 40), (i as u32 % 12) + 1, (i as u32 % 27) + 1),
        company: i.is_multiple_of(4).then(|| "Acme Travel".to_string()),
        preferred_channel: Some(if i.is_multiple_of(2) {
            ContactChannel::Email
        } else {
            ContactChannel::Wechat
        }),
        source_channel: Some(
            [
                SourceChannel::Direct,
                SourceChannel::Ota,
                SourceChannel::Website,
                SourceChannel::App,
            ][i % 4],
        ),
        tags,
        preferences: Some(demo_preferences(i)),
        special_dates: if i.is_multiple_of(9) {
            vec![SpecialDate {
                kind: SpecialDateKind::Anniversary,
                label: None,
                date: today - Duration::days(365 + i as i64),
            }]
        } else {
            vec![]
        },
        consents: demo_consents(i),
        external_refs: vec![ExternalRef {
            system: "opera_pms".into(),
            external_id: format!("P-{:06}", 100_000 + i),
        }],
        identity_document: i.is_multiple_of(10).then(|| IdentityDocumentInput {
            doc_type: DocumentType::Passport,
            number: format!("E{:08}", 12_345_678 + i),
            issuing_country: "CN".into(),
        }),
        ..Default::default()
    }
}

fn demo_preferences(i: usize) -> Preferences {
    Preferences {
        room_type: Some(if i.is_multiple_of(2) {
            RoomTypePreference::King
        } else {
            RoomTypePreference::Twin
        }),
        floor: Some(if i.is_multiple_of(3) {
            FloorPreference::High
        } else {
            FloorPreference::Low
        }),
        pillow: i.is_multiple_of(4).then(|| "buckwheat".to_string()),
        wake_up_time: i.is_multiple_of(6).then(|| "06:30".to_string()),
        allergies: if i.is_multiple_of(11) {
            vec!["nuts".into()]
        } else {
            vec![]
        },
        ..Default::default()
    }
}

fn demo_consents(i: usize) -> Vec<ConsentInput> {
    vec![
        ConsentInput {
            purpose: ConsentPurpose::Surveys,
            granted: !i.is_multiple_of(7),
            source_channel: Some(ConsentSource::FrontDesk),
        },
        ConsentInput {
            purpose: ConsentPurpose::MarketingEmail,
            granted: i.is_multiple_of(2),
            source_channel: Some(ConsentSource::Web),
        },
    ]
}

/// A past stay of guest `i`, pushed the way a PMS would: reserved, a room charge, checked out
/// (which earns points), so searches, statements and tiers have something to show; a call.
fn demo_history(
    conn: &mut DbConnection,
    system: &Principal,
    i: usize,
    customer_id: &str,
    property: &properties::Property,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let (currency, nightly) = if property.code == "PAR-OPERA" {
        ("EUR", 250i64)
    } else {
        ("CNY", 1280i64)
    };
    let property = &property.id;
    let check_in = today - Duration::days(30 + (i as i64 * 11) % 300);
    let nights = 2 + (i as i64 % 4);
    let cn = format!("DEMO{:05}", i);
    let stay_input = |status: StayStatus| StayInput {
        property_id: property.clone(),
        confirmation_number: cn.clone(),
        customer_id: Some(customer_id.to_string()),
        customer_ref: None,
        check_in,
        check_out: check_in + Duration::days(nights),
        room_type: Some("deluxe_king".into()),
        room_number: Some(format!("{}", 1200 + i)),
        rate: Some(from_minor(nightly * 100, currency)),
        status: Some(status),
    };
    stays::upsert_stay(conn, system, stay_input(StayStatus::InHouse))?;
    stays::upsert_spend(
        conn,
        system,
        SpendInput {
            property_id: property.clone(),
            external_id: format!("DEMO-ROOM-{i:05}"),
            stay_id: None,
            confirmation_number: Some(cn.clone()),
            customer_id: None,
            outlet: Outlet::Room,
            amount: from_minor(nightly * 100 * nights, currency),
            spent_on: check_in,
            description: Some("room revenue".into()),
        },
    )?;
    stays::upsert_stay(conn, system, stay_input(StayStatus::CheckedOut))?;
    if i.is_multiple_of(4) {
        interactions::create(
            conn,
            system,
            customer_id,
            InteractionCreate {
                occurred_at: None,
                channel: InteractionChannel::Phone,
                direction: Direction::Outbound,
                summary: "Pre-arrival call: confirmed airport pickup".into(),
                content: None,
                result: Some("confirmed".into()),
                property_id: Some(property.clone()),
                follow_up_status: None,
                follow_up_due_at: None,
            },
        )?;
    }
    Ok(())
}

fn demo_rewards(conn: &mut DbConnection, system: &Principal) -> Result<(), ApiError> {
    for (code, name, cost) in [
        ("FREE-NIGHT", "Free night (deluxe room)", 5000),
        ("UPGRADE", "Room upgrade", 2000),
        ("FNB-VOUCHER", "Restaurant voucher", 1000),
        ("LATE-CHECKOUT", "Late check-out (4 pm)", 500),
    ] {
        rewards::create_reward(
            conn,
            system,
            rewards::RewardCreate {
                code: code.into(),
                name: name.into(),
                description: None,
                points_cost: cost,
                active: None,
            },
        )?;
    }
    Ok(())
}

/// The first demo guest can log in to the app; their email.
fn demo_guest_login(conn: &mut DbConnection, first_id: &str) -> Result<String, ApiError> {
    let hash = hash_password("demo-guest-password")?;
    let email: String = crate::db::schema::customers::table
        .find(first_id)
        .select(crate::db::schema::customers::email_norm)
        .first::<Option<String>>(conn)?
        .unwrap_or_default();
    write_tx(conn, |conn| {
        let ts = now();
        diesel::insert_into(customer_accounts::table)
            .values((
                customer_accounts::customer_id.eq(first_id),
                customer_accounts::email.eq(&email),
                customer_accounts::password_hash.eq(&hash),
                customer_accounts::created_at.eq(ts),
                customer_accounts::updated_at.eq(ts),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(email)
}

/// A few tickets of the first guest at Shanghai, at different points of their lifecycle.
fn demo_tickets(
    conn: &mut DbConnection,
    system: &Principal,
    sha_id: &str,
    first_id: &str,
    agent_id: &str,
) -> Result<(), ApiError> {
    let demo_tickets = [
        (
            "cleanliness",
            Severity::High,
            TicketChannel::Phone,
            "Bathroom not cleaned",
            None,
        ),
        (
            "noise",
            Severity::Medium,
            TicketChannel::OnSite,
            "Construction noise in the morning",
            Some(TicketState::Investigating),
        ),
        (
            "billing",
            Severity::Low,
            TicketChannel::Email,
            "Minibar charged twice",
            Some(TicketState::Resolved),
        ),
    ];
    for (category, severity, channel, subject, state) in demo_tickets {
        let t = tickets::create(
            conn,
            system,
            tickets::TicketCreate {
                property_id: sha_id.to_string(),
                customer_id: Some(first_id.to_string()),
                stay_id: None,
                kind: TicketKind::Complaint,
                category: category.into(),
                severity,
                channel,
                subject: subject.into(),
                description: format!("Demo ticket: {subject}."),
                owner_id: Some(agent_id.to_string()),
                source_kind: None,
                source_id: None,
            },
        )?;
        if let Some(to) = state {
            tickets::transition(
                conn,
                system,
                &t.id,
                tickets::TransitionRequest {
                    to,
                    resolution_summary: (to == TicketState::Resolved)
                        .then(|| "Refunded the second charge.".to_string()),
                    note: None,
                },
                None,
            )?;
        }
    }
    Ok(())
}

/// Survey answers from twelve guests at Shanghai who accept surveys (a couple of detractors
/// open feedback tickets).
fn demo_surveys(conn: &mut DbConnection, sha_id: &str) -> Result<(), ApiError> {
    let customer_ids: Vec<String> = crate::db::schema::customers::table
        .select(crate::db::schema::customers::id)
        .order(crate::db::schema::customers::id)
        .load(conn)?;
    let mut i = 0usize;
    for cid in &customer_ids {
        if i == 12 {
            break;
        }
        let issued = write_tx(conn, |conn| {
            surveys::issue(
                conn,
                surveys::NewInvitation {
                    template_id: "survey-post-stay",
                    customer_id: cid,
                    property_id: sha_id,
                    trigger: surveys::TriggerKind::Manual,
                    subject: (surveys::SubjectKind::None, None),
                    touchpoint: Some("demo".into()),
                    send_at: now(),
                },
            )
        })?;
        if let Ok((id, token)) = issued {
            let nps = [10, 9, 9, 8, 10, 7, 9, 3, 10, 6, 9, 8][i % 12];
            let answers = serde_json::from_value(
                serde_json::json!({"nps": nps, "room": 3 + (i % 3) as i64, "front_desk": 4 + (i % 2) as i64}),
            )
            .map_err(ApiError::internal)?;
            surveys::answer_with_token(
                conn,
                &id,
                &token,
                surveys::Answers {
                    answers,
                    staff_id: None,
                },
            )?;
            i += 1;
        }
    }
    Ok(())
}
