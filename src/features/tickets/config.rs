//! Ticket rules as data (SPEC §4): the category list, SLA policies per severity (group-wide and
//! per property), a property's business-hours calendar, and the ticket settings.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Perm, Principal, Role};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{
    business_calendars as bc, escalation_contacts, sla_policies as sp, ticket_categories as tc, ticket_settings,
};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::tickets::sla::{Calendar, Clock};
use crate::features::{audit, properties, staff};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::now;

string_enum!(
    /// Complaint grades (complaint manual §2.1).
    Severity { Low => "low", Medium => "medium", High => "high", Critical => "critical" }
);

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct TicketCategory {
    #[schema(example = "cleanliness")]
    pub code: String,
    #[schema(example = "Cleanliness")]
    pub name: String,
    /// Inactive categories stay on old tickets but cannot be chosen for new ones.
    pub active: bool,
    /// Display order.
    pub position: i32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryUpsert {
    #[schema(example = "Cleanliness", min_length = 1, max_length = 100)]
    pub name: String,
    /// Defaults to true.
    pub active: Option<bool>,
    /// Defaults to after the last one.
    #[schema(minimum = 0, maximum = 10_000)]
    pub position: Option<i32>,
}

/// Any signed-in caller (guests pick a category when they open a ticket).
pub fn list_categories(conn: &mut DbConnection, include_inactive: bool) -> Result<Vec<TicketCategory>, ApiError> {
    let mut q = tc::table
        .select((tc::code, tc::name, tc::active, tc::position))
        .order((tc::position, tc::code))
        .into_boxed();
    if !include_inactive {
        q = q.filter(tc::active.eq(true));
    }
    Ok(q.load::<(String, String, bool, i32)>(conn)?
        .into_iter()
        .map(|(code, name, active, position)| TicketCategory {
            code,
            name,
            active,
            position,
        })
        .collect())
}

/// Creates or renames/(de)activates a category (admins).
pub fn upsert_category(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
    input: CategoryUpsert,
) -> Result<(TicketCategory, bool), ApiError> {
    who.require_group_wide(Perm::TicketsConfigure)?;
    let mut c = Checks::new();
    if !(2..=40).contains(&code.len())
        || !code
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
    {
        c.fail("code", "must be 2 to 40 characters of a-z, 0-9 and '_'");
    }
    let name = c.text("name", &input.name, 1, 100);
    if let Some(p) = input.position {
        if !(0..=10_000).contains(&p) {
            c.fail("position", "must be between 0 and 10,000");
        }
    }
    c.finish()?;
    write_tx(conn, |conn| {
        let existing: Option<(bool, i32)> = tc::table
            .find(code)
            .select((tc::active, tc::position))
            .first(conn)
            .optional()?;
        let created = existing.is_none();
        let position = match (input.position, existing) {
            (Some(p), _) => p,
            (None, Some((_, p))) => p,
            (None, None) => {
                let max: Option<i32> = tc::table.select(diesel::dsl::max(tc::position)).first(conn)?;
                max.unwrap_or(0) + 1
            }
        };
        let active = input.active.or(existing.map(|e| e.0)).unwrap_or(true);
        if created {
            diesel::insert_into(tc::table)
                .values((
                    tc::code.eq(code),
                    tc::name.eq(&name),
                    tc::active.eq(active),
                    tc::position.eq(position),
                ))
                .execute(conn)?;
        } else {
            diesel::update(tc::table.find(code))
                .set((tc::name.eq(&name), tc::active.eq(active), tc::position.eq(position)))
                .execute(conn)?;
        }
        audit::record(
            conn,
            who,
            "tickets.category_set",
            "ticket_category",
            Some(code),
            json!({"name": name, "active": active}),
        )?;
        let ev = NewEvent::new("ticket_category.upserted", "ticket_category", code);
        outbox::emit_in_tx(conn, who, ev.data(json!({"code": code, "active": active})))?;
        Ok((
            TicketCategory {
                code: code.to_string(),
                name,
                active,
                position,
            },
            created,
        ))
    })
}

/// Fails with a field error unless `code` is an active category.
pub fn ensure_active_category(conn: &mut DbConnection, code: &str) -> Result<(), ApiError> {
    let active: Option<bool> = tc::table.find(code).select(tc::active).first(conn).optional()?;
    match active {
        Some(true) => Ok(()),
        Some(false) => Err(ApiError::field("category", "this category is no longer in use")),
        None => Err(ApiError::field(
            "category",
            "unknown category (see GET /api/v1/ticket-categories)",
        )),
    }
}

/// Response and resolution targets of one severity.
#[derive(Debug, Serialize, ToSchema, Clone, PartialEq)]
pub struct SlaPolicy {
    /// Null: the group's policy; otherwise the property whose override this is.
    pub property_id: Option<String>,
    pub severity: Severity,
    #[schema(example = 60)]
    pub first_response_minutes: i32,
    #[schema(example = 1440)]
    pub resolution_minutes: i32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyInput {
    /// 1 minute to 90 days.
    #[schema(example = 60, minimum = 1, maximum = 129_600)]
    pub first_response_minutes: i32,
    /// 1 minute to 365 days, not shorter than the first response.
    #[schema(example = 1440, minimum = 1, maximum = 525_600)]
    pub resolution_minutes: i32,
}

/// The group's policies, or (with `property_id`) the ones in force at that property, overrides
/// marked by their `property_id`.
pub fn list_policies(
    conn: &mut DbConnection,
    who: &Principal,
    property_id: Option<&str>,
) -> Result<Vec<SlaPolicy>, ApiError> {
    who.require(Perm::TicketsRead)?;
    read_tx(conn, |conn| {
        if let Some(p) = property_id {
            ensure_property(conn, who, p)?;
        }
        let mut out = Vec::new();
        for s in Severity::ALL {
            out.push(policy_for(conn, property_id, *s)?);
        }
        Ok(out)
    })
}

/// The policy in force for a severity at a property (its override, else the group's).
pub fn policy_for(
    conn: &mut DbConnection,
    property_id: Option<&str>,
    severity: Severity,
) -> Result<SlaPolicy, ApiError> {
    let rows: Vec<(Option<String>, i32, i32)> = sp::table
        .filter(sp::severity.eq(severity.as_str()))
        .filter(
            sp::property_id
                .is_null()
                .or(sp::property_id.eq(property_id.unwrap_or(""))),
        )
        .select((sp::property_id, sp::first_response_minutes, sp::resolution_minutes))
        .load(conn)?;
    let pick = rows
        .iter()
        .find(|r| r.0.is_some())
        .or_else(|| rows.first())
        .ok_or_else(|| ApiError::internal(format!("no SLA policy for {}", severity.as_str())))?;
    Ok(SlaPolicy {
        property_id: pick.0.clone(),
        severity,
        first_response_minutes: pick.1,
        resolution_minutes: pick.2,
    })
}

fn check_policy(input: &SlaPolicyInput) -> Result<(), ApiError> {
    let mut c = Checks::new();
    if !(1..=90 * 24 * 60).contains(&input.first_response_minutes) {
        c.fail("first_response_minutes", "must be between 1 and 129,600 (90 days)");
    }
    if !(1..=365 * 24 * 60).contains(&input.resolution_minutes) {
        c.fail("resolution_minutes", "must be between 1 and 525,600 (365 days)");
    } else if input.resolution_minutes < input.first_response_minutes {
        c.fail("resolution_minutes", "must not be shorter than first_response_minutes");
    }
    c.finish()
}

/// Sets the group's policy (property `None`) or a property's override for one severity.
/// Tickets already open keep the due times they were given.
pub fn set_policy(
    conn: &mut DbConnection,
    who: &Principal,
    property_id: Option<&str>,
    severity: Severity,
    input: SlaPolicyInput,
) -> Result<SlaPolicy, ApiError> {
    match property_id {
        // The group's policy applies at every property: group-wide.
        None => who.require_group_wide(Perm::TicketsConfigure)?,
        Some(_) => who.require(Perm::TicketsConfigure)?,
    }
    check_policy(&input)?;
    write_tx(conn, |conn| {
        if let Some(p) = property_id {
            ensure_property(conn, who, p)?;
        }
        let id = match property_id {
            None => format!("sla-group-{}", severity.as_str()),
            Some(p) => format!("sla-{p}-{}", severity.as_str()),
        };
        let n = diesel::update(sp::table.find(&id))
            .set((
                sp::first_response_minutes.eq(input.first_response_minutes),
                sp::resolution_minutes.eq(input.resolution_minutes),
                sp::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(sp::table)
                .values((
                    sp::id.eq(&id),
                    sp::property_id.eq(property_id),
                    sp::severity.eq(severity.as_str()),
                    sp::first_response_minutes.eq(input.first_response_minutes),
                    sp::resolution_minutes.eq(input.resolution_minutes),
                    sp::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            who,
            "tickets.sla_policy_set",
            "sla_policy",
            Some(&id),
            json!({"property_id": property_id, "severity": severity.as_str(),
                   "first_response_minutes": input.first_response_minutes, "resolution_minutes": input.resolution_minutes}),
        )?;
        let ev = NewEvent::new("sla_policy.upserted", "sla_policy", &id).property(property_id);
        let data = json!({"severity": severity.as_str(), "first_response_minutes": input.first_response_minutes, "resolution_minutes": input.resolution_minutes});
        outbox::emit_in_tx(conn, who, ev.data(data))?;
        policy_for(conn, property_id, severity)
    })
}

/// Removes a property's override: the group's policy applies there again.
pub fn remove_policy(
    conn: &mut DbConnection,
    who: &Principal,
    property_id: &str,
    severity: Severity,
) -> Result<(), ApiError> {
    who.require(Perm::TicketsConfigure)?;
    write_tx(conn, |conn| {
        ensure_property(conn, who, property_id)?;
        let n = diesel::delete(
            sp::table
                .filter(sp::property_id.eq(property_id))
                .filter(sp::severity.eq(severity.as_str())),
        )
        .execute(conn)?;
        if n == 0 {
            return Err(ApiError::not_found("SLA policy override"));
        }
        audit::record(
            conn,
            who,
            "tickets.sla_policy_removed",
            "property",
            Some(property_id),
            json!({"severity": severity.as_str()}),
        )?;
        let ev = NewEvent::new("sla_policy.removed", "property", property_id).property(property_id);
        outbox::emit_in_tx(conn, who, ev.data(json!({"severity": severity.as_str()})))?;
        Ok(())
    })
}

fn ensure_property(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<String, ApiError> {
    if !who.can_access_property(id) {
        return Err(ApiError::not_found("property"));
    }
    Ok(properties::basics(conn, id)?
        .ok_or_else(|| ApiError::not_found("property"))?
        .timezone)
}

/// A property's business hours; without one its SLA clocks run 24/7.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BusinessCalendar {
    /// Opening intervals per weekday, Monday first: seven lists of `["09:00", "18:00"]` pairs
    /// in the property's time zone; `"24:00"` closes at midnight. An empty list is a closed day.
    #[schema(
        schema_with = week_schema,
        example = json!([[["09:00","18:00"]],[["09:00","18:00"]],[["09:00","18:00"]],[["09:00","18:00"]],[["09:00","18:00"]],[],[]])
    )]
    pub week: Vec<Vec<(String, String)>>,
    /// Closed dates (local), e.g. public holidays; at most 400.
    #[serde(default)]
    #[schema(example = json!(["2026-10-01", "2026-10-02"]))]
    pub holidays: Vec<NaiveDate>,
}

/// `week` on the wire: 7 days × up to 6 `[start, end]` pairs (a tuple would render as an
/// invalid array of schemas).
fn week_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let time = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"))
        .description(Some("HH:MM local time; `24:00` as an end means midnight"));
    let pair = ArrayBuilder::new()
        .items(time)
        .min_items(Some(2))
        .max_items(Some(2))
        .description(Some("An opening interval `[start, end]`"));
    let day = ArrayBuilder::new().items(pair).max_items(Some(6));
    ArrayBuilder::new()
        .items(day)
        .min_items(Some(7))
        .max_items(Some(7))
        .description(Some("Monday first"))
        .build()
}

type Week = [Vec<(NaiveTime, Option<NaiveTime>)>; 7];

fn parse_week(c: &mut Checks, week: &[Vec<(String, String)>]) -> Week {
    let mut out: Week = Default::default();
    if week.len() != 7 {
        c.fail("week", "must list 7 days, Monday first");
        return out;
    }
    let time = |c: &mut Checks, field: String, s: &str| -> Option<NaiveTime> {
        match NaiveTime::parse_from_str(s, "%H:%M") {
            Ok(t) => Some(t),
            Err(_) => {
                c.fail(field, "must be a time HH:MM");
                None
            }
        }
    };
    for (d, day) in week.iter().enumerate() {
        if day.len() > 6 {
            c.fail(format!("week[{d}]"), "at most 6 intervals a day");
            continue;
        }
        let mut prev_end: Option<NaiveTime> = None;
        for (i, (from, to)) in day.iter().enumerate() {
            let field = format!("week[{d}][{i}]");
            let Some(start) = time(c, field.clone(), from) else {
                continue;
            };
            let end = if to == "24:00" {
                None
            } else {
                match time(c, field.clone(), to) {
                    Some(t) => Some(t),
                    None => continue,
                }
            };
            if end.is_some_and(|e| e <= start) {
                c.fail(field, "must end after it starts");
                continue;
            }
            if prev_end.is_some_and(|p| start < p) {
                c.fail(field, "intervals must be in order and not overlap");
                continue;
            }
            if i > 0 && day[i - 1].1 == "24:00" {
                c.fail(field, "nothing can follow an interval that ends at 24:00");
                continue;
            }
            prev_end = end;
            out[d].push((start, end));
        }
    }
    let listed = week.iter().any(|d| !d.is_empty());
    if !listed {
        c.fail("week", "needs at least one opening interval");
    }
    out
}

pub fn get_calendar(conn: &mut DbConnection, who: &Principal, property_id: &str) -> Result<BusinessCalendar, ApiError> {
    who.require(Perm::TicketsRead)?;
    read_tx(conn, |conn| {
        ensure_property(conn, who, property_id)?;
        let row: Option<(String, String)> = bc::table
            .find(property_id)
            .select((bc::week, bc::holidays))
            .first(conn)
            .optional()?;
        let (week, holidays) = row.ok_or_else(|| ApiError::not_found("business calendar (clocks run 24/7)"))?;
        Ok(BusinessCalendar {
            week: serde_json::from_str(&week).map_err(ApiError::internal)?,
            holidays: serde_json::from_str(&holidays).map_err(ApiError::internal)?,
        })
    })
}

pub fn set_calendar(
    conn: &mut DbConnection,
    who: &Principal,
    property_id: &str,
    input: BusinessCalendar,
) -> Result<BusinessCalendar, ApiError> {
    who.require(Perm::TicketsConfigure)?;
    let mut c = Checks::new();
    parse_week(&mut c, &input.week);
    if input.holidays.len() > 400 {
        c.fail("holidays", "at most 400 dates");
    }
    c.finish()?;
    let mut holidays: Vec<NaiveDate> = input.holidays.clone();
    holidays.sort();
    holidays.dedup();
    let stored = BusinessCalendar {
        week: input.week,
        holidays,
    };
    write_tx(conn, |conn| {
        ensure_property(conn, who, property_id)?;
        let week = serde_json::to_string(&stored.week).map_err(ApiError::internal)?;
        let hol = serde_json::to_string(&stored.holidays).map_err(ApiError::internal)?;
        let n = diesel::update(bc::table.find(property_id))
            .set((bc::week.eq(&week), bc::holidays.eq(&hol), bc::updated_at.eq(now())))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(bc::table)
                .values((
                    bc::property_id.eq(property_id),
                    bc::week.eq(&week),
                    bc::holidays.eq(&hol),
                    bc::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            who,
            "tickets.calendar_set",
            "property",
            Some(property_id),
            json!({"holidays": stored.holidays.len()}),
        )?;
        let ev = NewEvent::new("business_calendar.upserted", "business_calendar", property_id).property(property_id);
        outbox::emit_in_tx(conn, who, ev.data(json!({"holidays": stored.holidays.len()})))?;
        Ok(stored)
    })
}

pub fn remove_calendar(conn: &mut DbConnection, who: &Principal, property_id: &str) -> Result<(), ApiError> {
    who.require(Perm::TicketsConfigure)?;
    write_tx(conn, |conn| {
        ensure_property(conn, who, property_id)?;
        let n = diesel::delete(bc::table.find(property_id)).execute(conn)?;
        if n == 0 {
            return Err(ApiError::not_found("business calendar"));
        }
        audit::record(
            conn,
            who,
            "tickets.calendar_removed",
            "property",
            Some(property_id),
            json!({}),
        )?;
        let ev = NewEvent::new("business_calendar.removed", "business_calendar", property_id).property(property_id);
        outbox::emit_in_tx(conn, who, ev)?;
        Ok(())
    })
}

/// The SLA clock of a property: its calendar in its time zone, else 24/7.
pub fn clock_for(conn: &mut DbConnection, property_id: &str) -> Result<Clock, ApiError> {
    let row: Option<(String, String)> = bc::table
        .find(property_id)
        .select((bc::week, bc::holidays))
        .first(conn)
        .optional()?;
    let Some((week, holidays)) = row else {
        return Ok(Clock::Always);
    };
    let tz = properties::basics(conn, property_id)?
        .map(|p| p.timezone)
        .unwrap_or_default();
    let tz = chrono_tz::Tz::from_str(&tz).unwrap_or(chrono_tz::UTC);
    let week: Vec<Vec<(String, String)>> = serde_json::from_str(&week).map_err(ApiError::internal)?;
    let holidays: BTreeSet<NaiveDate> = serde_json::from_str(&holidays).map_err(ApiError::internal)?;
    let mut c = Checks::new();
    let week = parse_week(&mut c, &week);
    Ok(Clock::Business(Box::new(Calendar { tz, week, holidays })))
}

/// Ticket settings (defaults in SPEC §4), stored as data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TicketSettings {
    /// A resolved ticket closes by itself after this many days without the guest's reply.
    pub auto_close_days: i64,
    /// A resolved or closed ticket may be reopened within this many days.
    pub reopen_window_days: i64,
    /// Compensation each role may grant without approval.
    pub compensation_limits: CompensationLimits,
}

pub use crate::auth::limits::{CompensationLimits, Limit};

pub fn settings(conn: &mut DbConnection) -> Result<TicketSettings, ApiError> {
    let rows: Vec<(String, String)> = ticket_settings::table
        .select((ticket_settings::name, ticket_settings::value))
        .load(conn)?;
    let get = |n: &str| rows.iter().find(|r| r.0 == n).map(|r| r.1.as_str());
    Ok(TicketSettings {
        auto_close_days: get("auto_close_days").and_then(|v| v.parse().ok()).unwrap_or(7),
        reopen_window_days: get("reopen_window_days").and_then(|v| v.parse().ok()).unwrap_or(30),
        compensation_limits: get("compensation_limits")
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or(CompensationLimits::DEFAULT),
    })
}

/// Who is notified at each escalation level of a property. An empty level falls back to the
/// property's managers (levels 1–2) or the group's admins (level 3).
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct EscalationContacts {
    /// Level 1: department manager(s).
    #[serde(default)]
    pub department_manager: Vec<String>,
    /// Level 2: resident manager(s).
    #[serde(default)]
    pub resident_manager: Vec<String>,
    /// Level 3: general manager(s).
    #[serde(default)]
    pub general_manager: Vec<String>,
}

pub fn get_contacts(
    conn: &mut DbConnection,
    who: &Principal,
    property_id: &str,
) -> Result<EscalationContacts, ApiError> {
    who.require(Perm::TicketsRead)?;
    read_tx(conn, |conn| {
        ensure_property(conn, who, property_id)?;
        let rows: Vec<(i32, String)> = escalation_contacts::table
            .filter(escalation_contacts::property_id.eq(property_id))
            .select((escalation_contacts::level, escalation_contacts::staff_id))
            .order((escalation_contacts::level, escalation_contacts::staff_id))
            .load(conn)?;
        let mut out = EscalationContacts::default();
        for (level, id) in rows {
            match level {
                1 => out.department_manager.push(id),
                2 => out.resident_manager.push(id),
                _ => out.general_manager.push(id),
            }
        }
        Ok(out)
    })
}

pub fn set_contacts(
    conn: &mut DbConnection,
    who: &Principal,
    property_id: &str,
    input: EscalationContacts,
) -> Result<EscalationContacts, ApiError> {
    who.require(Perm::TicketsConfigure)?;
    write_tx(conn, |conn| {
        ensure_property(conn, who, property_id)?;
        let mut c = Checks::new();
        let levels = [
            (1, "department_manager", &input.department_manager),
            (2, "resident_manager", &input.resident_manager),
            (3, "general_manager", &input.general_manager),
        ];
        for (_, field, ids) in &levels {
            if ids.len() > 20 {
                c.fail(*field, "at most 20 people per level");
                continue;
            }
            for (i, id) in ids.iter().enumerate() {
                let field = format!("{field}[{i}]");
                match staff::staff_card(conn, id)? {
                    None => c.fail(field, "unknown staff member"),
                    Some(s) if !s.active => c.fail(field, "this staff member is deactivated"),
                    Some(s) if !s.role().is_some_and(Role::may_receive_escalations) => {
                        c.fail(field, "must be a manager or an admin")
                    }
                    Some(s) if !s.works_at(property_id) => c.fail(field, "does not work at this property"),
                    Some(_) => {}
                }
            }
        }
        c.finish()?;
        diesel::delete(escalation_contacts::table.filter(escalation_contacts::property_id.eq(property_id)))
            .execute(conn)?;
        for (level, _, ids) in &levels {
            let mut ids: Vec<&String> = ids.iter().collect();
            ids.sort();
            ids.dedup();
            for id in ids {
                diesel::insert_into(escalation_contacts::table)
                    .values((
                        escalation_contacts::property_id.eq(property_id),
                        escalation_contacts::level.eq(level),
                        escalation_contacts::staff_id.eq(id),
                    ))
                    .execute(conn)?;
            }
        }
        audit::record(
            conn,
            who,
            "tickets.escalation_contacts_set",
            "property",
            Some(property_id),
            json!({}),
        )?;
        let ev = NewEvent::new("escalation_contacts.updated", "escalation_contacts", property_id).property(property_id);
        outbox::emit_in_tx(conn, who, ev)?;
        Ok(())
    })?;
    get_contacts(conn, who, property_id)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketSettingsUpdate {
    /// 1–90.
    #[schema(minimum = 1, maximum = 90)]
    pub auto_close_days: i64,
    /// 0–365 (0: no reopening).
    #[schema(minimum = 0, maximum = 365)]
    pub reopen_window_days: i64,
    pub compensation_limits: CompensationLimits,
}

pub fn get_settings(conn: &mut DbConnection, who: &Principal) -> Result<TicketSettings, ApiError> {
    who.require(Perm::TicketsRead)?;
    settings(conn)
}

pub fn set_settings(
    conn: &mut DbConnection,
    who: &Principal,
    input: TicketSettingsUpdate,
) -> Result<TicketSettings, ApiError> {
    who.require_group_wide(Perm::TicketsConfigure)?;
    let mut c = Checks::new();
    if !(1..=90).contains(&input.auto_close_days) {
        c.fail("auto_close_days", "must be between 1 and 90");
    }
    if !(0..=365).contains(&input.reopen_window_days) {
        c.fail("reopen_window_days", "must be between 0 and 365");
    }
    let l = &input.compensation_limits;
    for (field, v) in [
        ("compensation_limits.agent.money", l.agent.money),
        ("compensation_limits.agent.points", l.agent.points),
        ("compensation_limits.manager.money", l.manager.money),
        ("compensation_limits.manager.points", l.manager.points),
    ] {
        if !(0..=100_000_000).contains(&v) {
            c.fail(field, "must be between 0 and 100,000,000");
        }
    }
    if l.agent.money > l.manager.money {
        c.fail("compensation_limits.agent.money", "must not exceed the manager's");
    }
    if l.agent.points > l.manager.points {
        c.fail("compensation_limits.agent.points", "must not exceed the manager's");
    }
    c.finish()?;
    write_tx(conn, |conn| {
        let before = settings(conn)?;
        let limits = serde_json::to_string(&input.compensation_limits).map_err(ApiError::internal)?;
        for (name, value) in [
            ("auto_close_days", input.auto_close_days.to_string()),
            ("reopen_window_days", input.reopen_window_days.to_string()),
            ("compensation_limits", limits),
        ] {
            let n = diesel::update(ticket_settings::table.find(name))
                .set(ticket_settings::value.eq(&value))
                .execute(conn)?;
            if n == 0 {
                diesel::insert_into(ticket_settings::table)
                    .values((ticket_settings::name.eq(name), ticket_settings::value.eq(&value)))
                    .execute(conn)?;
            }
        }
        let after = settings(conn)?;
        audit::record(
            conn,
            who,
            "tickets.settings_updated",
            "ticket_settings",
            None,
            json!({"before": before, "after": after}),
        )?;
        let (b, a) = (json!(before), json!(after));
        let changed: Vec<&String> = a
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| b.get(k.as_str()) != Some(v))
            .map(|(k, _)| k)
            .collect();
        let ev = NewEvent::new("ticket_settings.updated", "ticket_settings", "group");
        outbox::emit_in_tx(conn, who, ev.data(json!({"fields": changed})))?;
        Ok(after)
    })
}
