//! Who may call each operation, in one table: the rule behind every `**Access:**` line of the
//! spec (generated from the Perm table, never written by hand) and the `x-access` extension a
//! test drives the access matrix with. An operation missing here fails `finalize` (closed).

use serde_json::{json, Value};

use super::{Perm, Role, Scope};

/// The access rule of one operation.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// No credential (login, registration, health); the refresh token where it is one.
    Public,
    /// A survey link's token is the credential.
    LinkToken,
    /// A guest on their own data (customer token).
    Customer,
    /// A guest on their own invitation, or the link's token.
    CustomerOrLink,
    /// Every authenticated caller: staff, guests, any API key.
    SignedIn,
    /// Staff roles and API-key scopes of the permission.
    Staff(Perm),
    /// The permission, for a caller restricted to no property (a group-wide act).
    GroupWide(Perm),
    /// Any one of the permissions.
    AnyOf(&'static [Perm]),
    /// The permission, or the guest who owns the record.
    StaffOrOwner(Perm),
    /// Every staff role and guests; API keys with the scope.
    Catalogue(Scope),
    /// The permission, group-wide; or no credential at all from the loopback address without a
    /// forwarding header (a scraper on the same host).
    GroupWideOrLoopback(Perm),
}

const ALL_ROLES: &[Role] = &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst];

/// (operation id, rule, a qualifying sentence or "").
pub const OPERATIONS: &[(&str, Rule, &str)] = &[
    ("live", Rule::Public, ""),
    ("ready", Rule::Public, ""),
    ("metrics", Rule::GroupWideOrLoopback(Perm::MetricsRead), ""),
    ("create_customer_import", Rule::Staff(Perm::CustomersWrite), ""),
    (
        "get_customer_import",
        Rule::Staff(Perm::CustomersWrite),
        "Their own imports; unrestricted admins see every import.",
    ),
    ("list_audit_log", Rule::GroupWide(Perm::AuditRead), ""),
    (
        "list_events",
        Rule::Staff(Perm::EventsRead),
        "Restricted callers: their properties' events.",
    ),
    (
        "get_event_settings",
        Rule::AnyOf(&[Perm::EventsRead, Perm::WebhooksManage]),
        "",
    ),
    ("update_event_settings", Rule::GroupWide(Perm::EventsConfigure), ""),
    (
        "list_webhook_endpoints",
        Rule::Staff(Perm::WebhooksManage),
        "Restricted callers: endpoints within their properties.",
    ),
    (
        "create_webhook_endpoint",
        Rule::Staff(Perm::WebhooksManage),
        "Restricted callers: `property_ids` within their own.",
    ),
    ("get_webhook_endpoint", Rule::Staff(Perm::WebhooksManage), ""),
    ("update_webhook_endpoint", Rule::Staff(Perm::WebhooksManage), ""),
    ("delete_webhook_endpoint", Rule::Staff(Perm::WebhooksManage), ""),
    ("rotate_webhook_secret", Rule::Staff(Perm::WebhooksManage), ""),
    ("test_webhook_endpoint", Rule::Staff(Perm::WebhooksManage), ""),
    ("list_webhook_deliveries", Rule::Staff(Perm::WebhooksManage), ""),
    ("retry_webhook_delivery", Rule::Staff(Perm::WebhooksManage), ""),
    ("recover_webhook_endpoint", Rule::Staff(Perm::WebhooksManage), ""),
    ("list_rewards", Rule::Catalogue(Scope::LoyaltyRead), ""),
    ("create_reward", Rule::GroupWide(Perm::RewardsManage), ""),
    ("update_reward", Rule::GroupWide(Perm::RewardsManage), ""),
    ("redeem", Rule::Customer, ""),
    ("list_my_redemptions", Rule::Customer, ""),
    ("list_customer_redemptions", Rule::Staff(Perm::LoyaltyRead), ""),
    ("fulfil_redemption", Rule::Staff(Perm::RedemptionsManage), ""),
    ("cancel_redemption", Rule::StaffOrOwner(Perm::RedemptionsManage), ""),
    ("get_loyalty", Rule::Staff(Perm::LoyaltyRead), ""),
    ("list_loyalty_entries", Rule::Staff(Perm::LoyaltyRead), ""),
    ("create_loyalty_adjustment", Rule::Staff(Perm::LoyaltyAdjust), ""),
    (
        "enrol_customer",
        Rule::AnyOf(&[Perm::LoyaltyAdjust, Perm::CustomersWrite]),
        "",
    ),
    ("get_my_loyalty", Rule::Customer, ""),
    ("list_my_loyalty_entries", Rule::Customer, ""),
    ("get_programme", Rule::SignedIn, "Not personal data."),
    ("update_programme", Rule::GroupWide(Perm::ProgrammeManage), ""),
    ("set_property_loyalty_rules", Rule::Staff(Perm::ProgrammeManage), ""),
    ("remove_property_loyalty_rules", Rule::Staff(Perm::ProgrammeManage), ""),
    (
        "push_stay",
        Rule::Staff(Perm::StaysWrite),
        "Restricted keys: their properties.",
    ),
    ("push_stay_batch", Rule::Staff(Perm::StaysWrite), ""),
    ("get_stay", Rule::Staff(Perm::StaysRead), ""),
    ("update_stay", Rule::Staff(Perm::StaysWrite), ""),
    ("push_spend", Rule::Staff(Perm::StaysWrite), ""),
    ("list_customer_stays", Rule::Staff(Perm::StaysRead), ""),
    ("list_staff", Rule::Staff(Perm::StaffManage), ""),
    ("create_staff", Rule::Staff(Perm::StaffManage), ""),
    ("get_staff", Rule::Staff(Perm::StaffManage), ""),
    ("update_staff", Rule::Staff(Perm::StaffManage), ""),
    ("list_api_keys", Rule::Staff(Perm::ApiKeysManage), ""),
    ("create_api_key", Rule::Staff(Perm::ApiKeysManage), ""),
    ("get_api_key", Rule::Staff(Perm::ApiKeysManage), ""),
    ("revoke_api_key", Rule::Staff(Perm::ApiKeysManage), ""),
    ("login", Rule::Public, ""),
    ("customer_login", Rule::Public, ""),
    ("customer_register", Rule::Public, ""),
    ("refresh", Rule::Public, "The refresh token is the credential."),
    ("logout", Rule::Public, "The refresh token is the credential."),
    (
        "list_properties",
        Rule::Staff(Perm::PropertiesRead),
        "Restricted keys see their properties.",
    ),
    ("create_property", Rule::GroupWide(Perm::PropertiesWrite), ""),
    ("get_property", Rule::Staff(Perm::PropertiesRead), ""),
    ("update_property", Rule::Staff(Perm::PropertiesWrite), ""),
    ("create_survey_template", Rule::Staff(Perm::SurveysManage), ""),
    ("list_survey_templates", Rule::Staff(Perm::SurveysRead), ""),
    ("get_survey_template", Rule::Staff(Perm::SurveysRead), ""),
    ("update_survey_template", Rule::Staff(Perm::SurveysManage), ""),
    ("get_survey_settings", Rule::Staff(Perm::SurveysRead), ""),
    ("put_survey_settings", Rule::GroupWide(Perm::SurveysConfigure), ""),
    ("create_survey_invitation", Rule::Staff(Perm::SurveysInvite), ""),
    ("get_survey_invitation", Rule::Staff(Perm::SurveyResponsesRead), ""),
    ("new_survey_link", Rule::Staff(Perm::SurveyLinksIssue), ""),
    ("my_survey_invitations", Rule::Customer, ""),
    ("list_survey_invitations", Rule::Staff(Perm::SurveyResponsesRead), ""),
    ("answer_survey_invitation", Rule::CustomerOrLink, ""),
    ("satisfaction_report", Rule::Staff(Perm::SurveysReport), ""),
    ("answer_my_survey", Rule::Customer, ""),
    ("survey_link_questions", Rule::LinkToken, ""),
    ("answer_survey_link", Rule::LinkToken, ""),
    ("list_survey_responses", Rule::Staff(Perm::SurveyResponsesRead), ""),
    ("survey_scores", Rule::Staff(Perm::SurveysReport), ""),
    (
        "create_ticket",
        Rule::Staff(Perm::TicketsWrite),
        "Restricted keys: their properties.",
    ),
    ("list_tickets", Rule::Staff(Perm::TicketsRead), ""),
    ("get_ticket", Rule::Staff(Perm::TicketsRead), ""),
    ("update_ticket", Rule::Staff(Perm::TicketsWrite), ""),
    ("transition_ticket", Rule::Staff(Perm::TicketsWrite), ""),
    ("comment_ticket", Rule::Staff(Perm::TicketsWrite), ""),
    (
        "handover_ticket",
        Rule::Staff(Perm::TicketsHandover),
        "Agents hand over tickets they own.",
    ),
    ("ticket_timeline", Rule::Staff(Perm::TicketsRead), ""),
    ("create_my_ticket", Rule::Customer, ""),
    ("list_my_tickets", Rule::Customer, ""),
    ("get_my_ticket", Rule::Customer, ""),
    ("my_ticket_timeline", Rule::Customer, ""),
    ("comment_my_ticket", Rule::Customer, ""),
    ("confirm_my_ticket", Rule::Customer, ""),
    ("reopen_my_ticket", Rule::Customer, ""),
    ("list_ticket_categories", Rule::SignedIn, "Guests pick one in the app."),
    ("put_ticket_category", Rule::GroupWide(Perm::TicketsConfigure), ""),
    ("list_sla_policies", Rule::Staff(Perm::TicketsRead), ""),
    ("put_group_sla_policy", Rule::GroupWide(Perm::TicketsConfigure), ""),
    ("put_property_sla_policy", Rule::Staff(Perm::TicketsConfigure), ""),
    ("delete_property_sla_policy", Rule::Staff(Perm::TicketsConfigure), ""),
    ("get_business_calendar", Rule::Staff(Perm::TicketsRead), ""),
    ("put_business_calendar", Rule::Staff(Perm::TicketsConfigure), ""),
    ("delete_business_calendar", Rule::Staff(Perm::TicketsConfigure), ""),
    ("offer_compensation", Rule::Staff(Perm::CompensationOffer), ""),
    ("list_ticket_compensations", Rule::Staff(Perm::TicketsRead), ""),
    ("list_compensations", Rule::Staff(Perm::CompensationApprove), ""),
    (
        "approve_compensation",
        Rule::Staff(Perm::CompensationApprove),
        "Within the approver’s own limit.",
    ),
    ("reject_compensation", Rule::Staff(Perm::CompensationApprove), ""),
    (
        "ticket_report",
        Rule::Staff(Perm::TicketsReport),
        "Their properties only.",
    ),
    ("get_escalation_contacts", Rule::Staff(Perm::TicketsRead), ""),
    ("put_escalation_contacts", Rule::Staff(Perm::TicketsConfigure), ""),
    ("get_ticket_settings", Rule::Staff(Perm::TicketsRead), ""),
    ("put_ticket_settings", Rule::GroupWide(Perm::TicketsConfigure), ""),
    ("get_me", Rule::Customer, ""),
    ("update_me", Rule::Customer, ""),
    ("set_my_consent", Rule::Customer, ""),
    ("list_my_consent_history", Rule::Customer, ""),
    ("list_customers", Rule::Staff(Perm::CustomersRead), ""),
    (
        "create_customer",
        Rule::Staff(Perm::CustomersWrite),
        "`grade_override`: admin, manager.",
    ),
    ("get_customer", Rule::Staff(Perm::CustomersRead), ""),
    (
        "update_customer",
        Rule::Staff(Perm::CustomersWrite),
        "`grade_override`: admin, manager.",
    ),
    ("get_customer_by_ref", Rule::Staff(Perm::CustomersRead), ""),
    ("upsert_customer_by_ref", Rule::Staff(Perm::CustomersWrite), ""),
    ("set_customer_consent", Rule::Staff(Perm::CustomersWrite), ""),
    (
        "list_customer_consent_history",
        Rule::Staff(Perm::CustomersRead),
        "Analysts see it without actor ids.",
    ),
    ("list_interactions", Rule::Staff(Perm::InteractionsRead), ""),
    ("create_interaction", Rule::Staff(Perm::InteractionsWrite), ""),
    ("update_interaction", Rule::Staff(Perm::InteractionsWrite), ""),
];

/// The rule of an operation, or `None` (the spec build refuses an operation without one).
pub fn rule_of(operation_id: &str) -> Option<(Rule, &'static str)> {
    OPERATIONS
        .iter()
        .find(|(id, _, _)| *id == operation_id)
        .map(|(_, r, n)| (*r, *n))
}

struct Grant {
    roles: Vec<Role>,
    scopes: Vec<Scope>,
    any_key: bool,
    customer: bool,
    public: bool,
    link: bool,
    group_wide: bool,
    loopback: bool,
}

impl Rule {
    fn grant(self) -> Grant {
        let none = none_like();
        let perm = |p: Perm| Grant {
            roles: p.roles().to_vec(),
            scopes: p.scopes().to_vec(),
            any_key: p.any_key(),
            ..none_like()
        };
        match self {
            Rule::Public => Grant { public: true, ..none },
            Rule::LinkToken => Grant { link: true, ..none },
            Rule::Customer => Grant { customer: true, ..none },
            Rule::CustomerOrLink => Grant {
                customer: true,
                link: true,
                ..none
            },
            Rule::SignedIn => Grant {
                roles: ALL_ROLES.to_vec(),
                any_key: true,
                customer: true,
                ..none
            },
            Rule::Staff(p) => perm(p),
            Rule::GroupWide(p) => Grant {
                group_wide: true,
                ..perm(p)
            },
            Rule::GroupWideOrLoopback(p) => Grant {
                group_wide: true,
                loopback: true,
                ..perm(p)
            },
            Rule::StaffOrOwner(p) => Grant {
                customer: true,
                ..perm(p)
            },
            Rule::AnyOf(ps) => {
                let mut g = none;
                for p in ps {
                    for r in p.roles() {
                        if !g.roles.contains(r) {
                            g.roles.push(*r);
                        }
                    }
                    for s in p.scopes() {
                        if !g.scopes.contains(s) {
                            g.scopes.push(*s);
                        }
                    }
                }
                g.roles.sort_by_key(|r| ALL_ROLES.iter().position(|x| x == r));
                g
            }
            Rule::Catalogue(s) => Grant {
                roles: ALL_ROLES.to_vec(),
                scopes: vec![s],
                customer: true,
                ..none
            },
        }
    }

    /// The `**Access:**` sentence.
    pub fn describe(self) -> String {
        let g = self.grant();
        let mut parts: Vec<String> = Vec::new();
        if g.public {
            return "public.".into();
        }
        if !g.roles.is_empty() {
            let roles = if g.roles.len() == ALL_ROLES.len() {
                "every staff role".to_string()
            } else {
                g.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            };
            parts.push(if g.group_wide {
                format!("{roles}, unrestricted (group-wide: a property-restricted caller gets 403)")
            } else {
                roles
            });
        }
        if g.customer {
            parts.push(match self {
                Rule::Customer | Rule::CustomerOrLink => "customer (self)".into(),
                Rule::StaffOrOwner(_) => "the guest for their own record".into(),
                _ => "guests".into(),
            });
        }
        if g.link {
            parts.push("anyone holding the link's token".into());
        }
        if g.loopback {
            parts.push("without credentials from the loopback address, unless forwarded by a proxy".into());
        }
        if !g.roles.is_empty() {
            parts.push(keys(&g));
        }
        format!("{}.", parts.join("; "))
    }

    /// The machine-readable rule (`x-access`).
    pub fn to_json(self) -> Value {
        let g = self.grant();
        json!({
            "public": g.public,
            "staff_roles": g.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "api_key_scopes": g.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "any_api_key": g.any_key,
            "customer": g.customer,
            "link_token": g.link,
            "group_wide": g.group_wide,
            "loopback": g.loopback,
        })
    }
}

fn none_like() -> Grant {
    Grant {
        roles: vec![],
        scopes: vec![],
        any_key: false,
        customer: false,
        public: false,
        link: false,
        group_wide: false,
        loopback: false,
    }
}

fn keys(g: &Grant) -> String {
    if g.any_key {
        return "any API key".into();
    }
    match g.scopes.as_slice() {
        [] => "no API key".into(),
        scopes => format!(
            "API keys with {}",
            scopes
                .iter()
                .map(|s| format!("`{}`", s.as_str()))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_follow_the_perm_table() {
        assert_eq!(
            Rule::Staff(Perm::TicketsRead).describe(),
            "admin, manager, agent; API keys with `tickets:read` or `tickets:write`."
        );
        assert_eq!(
            Rule::Staff(Perm::CompensationOffer).describe(),
            "admin, manager, agent; no API key."
        );
        assert_eq!(
            Rule::Staff(Perm::PropertiesRead).describe(),
            "every staff role; any API key."
        );
        assert_eq!(
            Rule::AnyOf(&[Perm::LoyaltyAdjust, Perm::CustomersWrite]).describe(),
            "admin, manager, agent; API keys with `loyalty:write` or `customers:write`."
        );
        assert_eq!(Rule::Customer.describe(), "customer (self).");
        assert_eq!(Rule::Public.describe(), "public.");
    }

    #[test]
    fn every_operation_is_listed_once() {
        let mut ids: Vec<&str> = OPERATIONS.iter().map(|(id, _, _)| *id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "an operation listed twice");
    }
}
