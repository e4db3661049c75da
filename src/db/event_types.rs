//! The catalogue of event types (SPEC §8): every type the outbox is given, its aggregate, and
//! the fields of its `data` (ids, states, changed field names, deltas — never personal data).
//! The OpenAPI document describes each webhook payload from it, and `outbox::emit_in_tx`
//! refuses (in debug builds) a type missing here.

/// One field of an event's `data`.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    /// The field's JSON Schema, as JSON text (e.g. `{"type":"string"}`, `{"type":["integer","null"]}`).
    pub schema: &'static str,
    /// Whether every event of the type carries it.
    pub required: bool,
}

/// One event type.
#[derive(Debug, Clone, Copy)]
pub struct EventType {
    /// `<aggregate>.<what happened>`.
    pub name: &'static str,
    /// `aggregate.type` of its events.
    pub aggregate: &'static str,
    /// One sentence: when it is written.
    pub summary: &'static str,
    pub data: &'static [Field],
}

const fn f(name: &'static str, schema: &'static str) -> Field {
    Field {
        name,
        schema,
        required: true,
    }
}

const STR: &str = r#"{"type":"string"}"#;
const STR_N: &str = r#"{"type":["string","null"]}"#;
const INT: &str = r#"{"type":"integer"}"#;
const INT_N: &str = r#"{"type":["integer","null"]}"#;
const BOOL: &str = r#"{"type":"boolean"}"#;
const STRS: &str = r#"{"type":"array","items":{"type":"string"}}"#;
/// A `{"from": .., "to": ..}` delta.
const OBJ: &str = r#"{"type":"object"}"#;
const DATE: &str = r#"{"type":"string","format":"date"}"#;
const DATE_TIME_N: &str = r#"{"type":["string","null"],"format":"date-time"}"#;
const DISABLED_REASON: &str = r#"{"type":"string","enum":["gone","failing"]}"#;
const EXPIRED_REASON: &str = r#"{"type":"string","enum":["expired","consent_withdrawn"]}"#;
const SLA_CLOCK: &str = r#"{"type":"string","enum":["first_response","resolution"]}"#;

/// `compensation.approved` / `compensation.rejected`.
const COMPENSATION_DECIDED: &[Field] = &[
    f("ticket_id", STR),
    f("points", INT_N),
    f("amount_minor", INT_N),
    f("currency", STR_N),
];

/// `interaction.created` / `interaction.updated`.
const INTERACTION: &[Field] = &[
    f("interaction_id", STR),
    f("customer_id", STR),
    f("channel", STR),
    f("direction", STR),
    f("follow_up_status", STR),
    f("changed", STRS),
];

/// `redemption.created` / `.fulfilled` / `.cancelled`.
const REDEMPTION: &[Field] = &[
    f("redemption_id", STR),
    f("customer_id", STR),
    f("reward_id", STR),
    f("points", INT),
    f("status", STR),
    f("redeem_entry_id", STR),
    f("reverse_entry_id", STR_N),
];

pub const EVENT_TYPES: &[EventType] = &[
    EventType {
        name: "api_key.created",
        aggregate: "api_key",
        summary: "An API key was issued (its scopes and properties; never the key).",
        data: &[f("api_key_id", STR), f("scopes", STRS), f("property_ids", STRS)],
    },
    EventType {
        name: "api_key.revoked",
        aggregate: "api_key",
        summary: "An API key was revoked.",
        data: &[f("api_key_id", STR)],
    },
    EventType {
        name: "business_calendar.removed",
        aggregate: "business_calendar",
        summary: "A property's business calendar was removed (its SLA clocks follow the group's again).",
        data: &[],
    },
    EventType {
        name: "business_calendar.upserted",
        aggregate: "business_calendar",
        summary: "A property's business calendar was set (`holidays`: how many holidays it lists).",
        data: &[f("holidays", INT)],
    },
    EventType {
        name: "compensation.approved",
        aggregate: "compensation",
        summary: "A pending compensation offer was approved by someone within whose limit it falls.",
        data: COMPENSATION_DECIDED,
    },
    EventType {
        name: "compensation.offered",
        aggregate: "compensation",
        summary: "A compensation was offered on a ticket (`state`: approved at once when within the offerer's limit).",
        data: &[f("ticket_id", STR), f("state", STR)],
    },
    EventType {
        name: "compensation.rejected",
        aggregate: "compensation",
        summary: "A pending compensation offer was rejected.",
        data: COMPENSATION_DECIDED,
    },
    EventType {
        name: "consent.changed",
        aggregate: "customer",
        summary: "A guest's consent decision for one purpose was recorded.",
        data: &[
            f("customer_id", STR),
            f("purpose", STR),
            f("granted", BOOL),
            f("source_channel", STR),
        ],
    },
    EventType {
        name: "customer.created",
        aggregate: "customer",
        summary: "A guest profile was created (by staff, an integration, an import or the guest's sign-up).",
        data: &[
            f("customer_id", STR),
            f("fields", STRS),
            f("source_channel", STR),
            f("self_registration", BOOL),
        ],
    },
    EventType {
        name: "customer.external_ref_upserted",
        aggregate: "customer",
        summary: "A guest was upserted by an external system's reference (`outcome`: created, linked or updated).",
        data: &[f("customer_id", STR), f("system", STR), f("outcome", STR)],
    },
    EventType {
        name: "customer.updated",
        aggregate: "customer",
        summary: "A guest profile changed (the names of the changed fields and the new version).",
        data: &[f("customer_id", STR), f("changed", STRS), f("version", INT)],
    },
    EventType {
        name: "customer_account.registered",
        aggregate: "customer_account",
        summary: "A guest registered an account in the guest app.",
        data: &[f("customer_id", STR)],
    },
    EventType {
        name: "escalation_contacts.updated",
        aggregate: "escalation_contacts",
        summary: "A property's escalation contacts were replaced.",
        data: &[],
    },
    EventType {
        name: "interaction.created",
        aggregate: "interaction",
        summary: "An interaction with a guest was logged.",
        data: INTERACTION,
    },
    EventType {
        name: "interaction.updated",
        aggregate: "interaction",
        summary: "An interaction's result or follow-up changed.",
        data: INTERACTION,
    },
    EventType {
        name: "loyalty.account_enrolled",
        aggregate: "loyalty_account",
        summary: "A guest's loyalty account was opened.",
        data: &[f("customer_id", STR), f("tier", STR)],
    },
    EventType {
        name: "loyalty.entry_posted",
        aggregate: "loyalty_account",
        summary: "A ledger entry was posted to a guest's account (the delta and the balance after; never the reason).",
        data: &[
            f("entry_id", STR),
            f("customer_id", STR),
            f("kind", STR),
            f("points", INT),
            f("balance_after", INT),
            f("qualifying", BOOL),
            f("source_kind", STR_N),
            f("source_id", STR_N),
            f("reverses_id", STR_N),
        ],
    },
    EventType {
        name: "loyalty.tier_changed",
        aggregate: "loyalty_account",
        summary: "A guest's tier changed (an upgrade at once, a downgrade at the yearly review).",
        data: &[
            f("customer_id", STR),
            f("from", STR),
            f("to", STR),
            f("qualifying_points_12m", INT),
        ],
    },
    EventType {
        name: "loyalty_programme.updated",
        aggregate: "loyalty_programme",
        summary: "The group's loyalty programme rules were replaced (the names of the changed rules).",
        data: &[f("changed", STRS)],
    },
    EventType {
        name: "loyalty_property_rules.removed",
        aggregate: "loyalty_property_rules",
        summary: "A property's own earning rules were removed (it follows the group again).",
        data: &[f("property_id", STR)],
    },
    EventType {
        name: "loyalty_property_rules.updated",
        aggregate: "loyalty_property_rules",
        summary: "A property's own earning rules were set.",
        data: &[
            f("property_id", STR),
            f("points_per_unit_set", BOOL),
            f("outlets", STRS),
        ],
    },
    EventType {
        name: "property.created",
        aggregate: "property",
        summary: "A property was created.",
        data: &[f("property_id", STR)],
    },
    EventType {
        name: "property.updated",
        aggregate: "property",
        summary: "A property's name, time zone or currency was patched (the names of the changed fields).",
        data: &[f("property_id", STR), f("changed", STRS)],
    },
    EventType {
        name: "redemption.cancelled",
        aggregate: "redemption",
        summary: "A pending redemption order was cancelled and its points given back.",
        data: REDEMPTION,
    },
    EventType {
        name: "redemption.created",
        aggregate: "redemption",
        summary: "A guest redeemed a reward: the order was placed and its points left the account.",
        data: REDEMPTION,
    },
    EventType {
        name: "redemption.fulfilled",
        aggregate: "redemption",
        summary: "A pending redemption order was fulfilled.",
        data: REDEMPTION,
    },
    EventType {
        name: "reward.created",
        aggregate: "reward",
        summary: "A reward was added to the catalogue.",
        data: &[f("reward_id", STR), f("points_cost", INT), f("active", BOOL)],
    },
    EventType {
        name: "reward.updated",
        aggregate: "reward",
        summary: "A reward was patched (the names of the changed fields, its cost and state after).",
        data: &[
            f("reward_id", STR),
            f("changed", STRS),
            f("points_cost", INT),
            f("active", BOOL),
        ],
    },
    EventType {
        name: "sla_policy.removed",
        aggregate: "property",
        summary: "A property's SLA policy override for one severity was removed (the group's applies again).",
        data: &[f("severity", STR)],
    },
    EventType {
        name: "sla_policy.upserted",
        aggregate: "sla_policy",
        summary: "An SLA policy for one severity was set (group-wide or a property's override).",
        data: &[
            f("severity", STR),
            f("first_response_minutes", INT),
            f("resolution_minutes", INT),
        ],
    },
    EventType {
        name: "spend.upserted",
        aggregate: "spend_line",
        summary: "A spend line was created or corrected (`previous_stay_id`: the stay it moved from, if any).",
        data: &[f("stay_id", STR_N), f("previous_stay_id", STR_N), f("created", BOOL)],
    },
    EventType {
        name: "staff.created",
        aggregate: "staff_user",
        summary: "A staff user was created.",
        data: &[f("staff_user_id", STR), f("role", STR), f("property_ids", STRS)],
    },
    EventType {
        name: "staff.updated",
        aggregate: "staff_user",
        summary: "A staff user was changed (the names of the changed fields, the role and status after).",
        data: &[
            f("staff_user_id", STR),
            f("changed", STRS),
            f("role", STR),
            f("active", BOOL),
            f("sessions_ended", BOOL),
        ],
    },
    EventType {
        name: "stay.cancelled",
        aggregate: "stay",
        summary: "A stay was cancelled (`previous_status`: null when it arrived cancelled).",
        data: &[f("customer_id", STR), f("previous_status", STR_N)],
    },
    EventType {
        name: "stay.checked_out",
        aggregate: "stay",
        summary: "A stay reached check-out.",
        data: &[f("customer_id", STR), f("check_out", DATE)],
    },
    EventType {
        name: "stay.upserted",
        aggregate: "stay",
        summary: "A stay was created or updated by a push or a correction.",
        data: &[
            f("customer_id", STR),
            f("status", STR),
            f("previous_status", STR_N),
            f("created", BOOL),
        ],
    },
    EventType {
        name: "survey.invitation_created",
        aggregate: "survey_invitation",
        summary: "A survey invitation was issued (`state`: open, or scheduled for later).",
        data: &[
            f("invitation_id", STR),
            f("template_id", STR),
            f("template_version", INT),
            f("customer_id", STR),
            f("trigger", STR),
            f("subject_kind", STR),
            f("subject_id", STR_N),
            f("state", STR),
        ],
    },
    EventType {
        name: "survey.invitation_expired",
        aggregate: "survey_invitation",
        summary: "An unanswered invitation expired, or was retired when its guest withdrew survey consent.",
        data: &[f("invitation_id", STR), f("state", OBJ), f("reason", EXPIRED_REASON)],
    },
    EventType {
        name: "survey.invitation_opened",
        aggregate: "survey_invitation",
        summary: "A scheduled invitation's time came: it is open for answers.",
        data: &[f("invitation_id", STR), f("state", OBJ)],
    },
    EventType {
        name: "survey.link_issued",
        aggregate: "survey_invitation",
        summary: "A fresh single-use answer link was issued for an invitation (never the token).",
        data: &[f("invitation_id", STR), f("state", STR)],
    },
    EventType {
        name: "survey.response_received",
        aggregate: "survey_response",
        summary: "A guest answered a survey invitation (the scores and whether it is a detractor; never the answers).",
        data: &[
            f("invitation_id", STR),
            f("customer_id", STR),
            f("template_id", STR),
            f("template_version", INT),
            f("trigger", STR),
            f("subject_kind", STR),
            f("subject_id", STR_N),
            f("channel", STR),
            f("nps", INT_N),
            f("csat", INT_N),
            f("ces", INT_N),
            f("detractor", BOOL),
        ],
    },
    EventType {
        name: "survey_settings.updated",
        aggregate: "survey_settings",
        summary: "The group's survey settings were replaced (the names of the changed settings).",
        data: &[f("changed", STRS)],
    },
    EventType {
        name: "survey_template.created",
        aggregate: "survey_template",
        summary: "A survey template was created (`questions`: how many it asks).",
        data: &[
            f("template_id", STR),
            f("trigger", STR),
            f("active", BOOL),
            f("version", INT),
            f("questions", INT),
        ],
    },
    EventType {
        name: "survey_template.updated",
        aggregate: "survey_template",
        summary: "A survey template was patched (new questions make a new version).",
        data: &[
            f("template_id", STR),
            f("changed", STRS),
            f("active", BOOL),
            f("version", OBJ),
        ],
    },
    EventType {
        name: "ticket.commented",
        aggregate: "ticket",
        summary: "A comment or reply was added to a ticket (its entry and visibility; never the body).",
        data: &[f("entry_id", STR), f("visibility", STR), f("author_kind", STR)],
    },
    EventType {
        name: "ticket.created",
        aggregate: "ticket",
        summary: "A ticket was opened.",
        data: &[
            f("kind", STR),
            f("category", STR),
            f("severity", STR),
            f("channel", STR),
            f("state", STR),
            f("customer_id", STR_N),
            f("stay_id", STR_N),
            f("source_kind", STR_N),
        ],
    },
    EventType {
        name: "ticket.escalated",
        aggregate: "ticket",
        summary: "A ticket's escalation level rose (`notified`: the staff ids told).",
        data: &[f("from_level", INT), f("to_level", INT), f("notified", STRS)],
    },
    EventType {
        name: "ticket.handed_over",
        aggregate: "ticket",
        summary: "A ticket was handed over to another staff member (`from`: null when it had no owner).",
        data: &[f("from", STR_N), f("to", STR)],
    },
    EventType {
        name: "ticket.sla_breached",
        aggregate: "ticket",
        summary: "A ticket's first-response or resolution SLA clock passed its due time.",
        data: &[f("clock", SLA_CLOCK), f("due_at", DATE_TIME_N), f("state", STR)],
    },
    EventType {
        name: "ticket.state_changed",
        aggregate: "ticket",
        summary: "A ticket moved from one state to another.",
        data: &[
            f("from", STR),
            f("to", STR),
            f("customer_id", STR_N),
            f("source_kind", STR_N),
        ],
    },
    EventType {
        name: "ticket.updated",
        aggregate: "ticket",
        summary: "A ticket's category, subject or severity was patched (the names of the changed fields).",
        data: &[f("fields", STRS), f("severity", STR)],
    },
    EventType {
        name: "ticket_category.upserted",
        aggregate: "ticket_category",
        summary: "A ticket category was created or changed.",
        data: &[f("code", STR), f("active", BOOL)],
    },
    EventType {
        name: "ticket_settings.updated",
        aggregate: "ticket_settings",
        summary: "The group's ticket settings were replaced (the names of the changed settings).",
        data: &[f("fields", STRS)],
    },
    EventType {
        name: "webhook_endpoint.created",
        aggregate: "webhook_endpoint",
        summary: "A webhook endpoint was registered (never its URL or secret).",
        data: &[f("webhook_endpoint_id", STR), f("property_ids", STRS)],
    },
    EventType {
        name: "webhook_endpoint.deleted",
        aggregate: "webhook_endpoint",
        summary: "A webhook endpoint was deleted.",
        data: &[f("webhook_endpoint_id", STR)],
    },
    EventType {
        name: "webhook_endpoint.disabled",
        aggregate: "webhook_endpoint",
        summary: "A webhook endpoint was disabled by the dispatcher (it answered 410, or kept failing).",
        data: &[f("webhook_endpoint_id", STR), f("reason", DISABLED_REASON)],
    },
    EventType {
        name: "webhook_endpoint.secret_rotated",
        aggregate: "webhook_endpoint",
        summary: "A webhook endpoint's signing secret was rotated.",
        data: &[f("webhook_endpoint_id", STR)],
    },
    EventType {
        name: "webhook_endpoint.updated",
        aggregate: "webhook_endpoint",
        summary: "A webhook endpoint was patched (the names of the changed fields).",
        data: &[f("webhook_endpoint_id", STR), f("fields", STRS)],
    },
];

/// The catalogue entry of `name`.
pub fn find(name: &str) -> Option<&'static EventType> {
    EVENT_TYPES.iter().find(|t| t.name == name)
}

/// Whether an event agrees with its catalogue entry: a known type and aggregate, every required
/// field present, no field the catalogue does not list (the spec's payload schemas stay true).
pub fn check(kind: &str, aggregate_type: &str, data: &serde_json::Value) -> Result<(), String> {
    let t = find(kind).ok_or_else(|| format!("event type `{kind}` is not in db::event_types"))?;
    if t.aggregate != aggregate_type {
        return Err(format!(
            "`{kind}` is listed on `{}`, emitted on `{aggregate_type}`",
            t.aggregate
        ));
    }
    let obj = data
        .as_object()
        .ok_or_else(|| format!("`{kind}` data is not an object"))?;
    if let Some(extra) = obj.keys().find(|k| !t.data.iter().any(|f| f.name == k.as_str())) {
        return Err(format!("`{kind}` carries `{extra}`, not listed in db::event_types"));
    }
    match t.data.iter().find(|f| f.required && !obj.contains_key(f.name)) {
        Some(missing) => Err(format!("`{kind}` lacks required `{}`", missing.name)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `^[a-z_]+(\.[a-z_]+)+$`.
    fn well_formed(name: &str) -> bool {
        let parts: Vec<&str> = name.split('.').collect();
        parts.len() >= 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    }

    #[test]
    fn names_are_unique_and_sorted() {
        for w in EVENT_TYPES.windows(2) {
            assert!(w[0].name < w[1].name, "{} must come before {}", w[0].name, w[1].name);
        }
    }

    #[test]
    fn names_are_well_formed() {
        for t in EVENT_TYPES {
            assert!(well_formed(t.name), "{}", t.name);
            assert!(
                well_formed(&format!("{}.x", t.aggregate)),
                "{}: aggregate {}",
                t.name,
                t.aggregate
            );
            assert!(!t.summary.is_empty(), "{}", t.name);
        }
        assert!(!well_formed("ticket"));
        assert!(!well_formed("ticket."));
        assert!(!well_formed("Ticket.created"));
        assert!(!well_formed("ticket.sla-breached"));
        assert!(well_formed("ticket.sla_breached"));
    }

    #[test]
    fn schemas_are_json_objects_with_a_type() {
        for t in EVENT_TYPES {
            for (i, field) in t.data.iter().enumerate() {
                let v: serde_json::Value =
                    serde_json::from_str(field.schema).unwrap_or_else(|e| panic!("{}.{}: {e}", t.name, field.name));
                assert!(v.is_object(), "{}.{}", t.name, field.name);
                assert!(v.get("type").is_some(), "{}.{}", t.name, field.name);
                assert!(!field.name.is_empty(), "{}", t.name);
                assert!(
                    t.data[..i].iter().all(|g| g.name != field.name),
                    "{}: {} twice",
                    t.name,
                    field.name
                );
            }
        }
    }

    #[test]
    fn find_looks_up_by_name() {
        assert_eq!(find("ticket.state_changed").map(|t| t.aggregate), Some("ticket"));
        assert!(find("ticket.nonexistent").is_none());
    }
}
