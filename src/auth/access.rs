//! Who may do what: one table of permissions to roles and API-key scopes, and the personal-data
//! view each caller gets (SPEC §2, §9).

use super::principal::{Actor, Principal, Role, Scope};
use crate::platform::error::ApiError;

/// A staff or integration permission. Guests act on themselves through `/me` endpoints
/// (`Principal::require_customer`). A caller restricted to some properties reaches only their
/// objects (404 otherwise, `Principal::can_access_property`); acts on the whole group — creating
/// a property, the programme, rewards, ticket categories and settings, the group SLA policies,
/// survey settings, the audit log — need an unrestricted caller (`Principal::require_group_wide`,
/// 403); staff and keys are managed within the admin's properties (`auth::rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    PropertiesRead,
    PropertiesWrite,
    StaffManage,
    ApiKeysManage,
    AuditRead,
    CustomersRead,
    CustomersWrite,
    /// Setting grade overrides: staff-owned data above agent level.
    CustomersGradeOverride,
    InteractionsRead,
    InteractionsWrite,
    /// Stays and spend of the caller's properties.
    StaysRead,
    /// Pushing stays and spend (PMS/POS); staff corrections by managers.
    StaysWrite,
    /// A guest's loyalty summary and statement.
    LoyaltyRead,
    /// Points adjustments and enrolment (never guests themselves).
    LoyaltyAdjust,
    /// The rewards catalogue.
    RewardsManage,
    /// The programme's rules (earning, expiry, tiers) and properties' earning rules.
    ProgrammeManage,
    /// Fulfilling and cancelling guests' redemption orders.
    RedemptionsManage,
    /// Tickets of the caller's properties: queues, details, timelines.
    TicketsRead,
    /// Opening tickets, comments, state changes, handovers, compensation offers.
    TicketsWrite,
    /// Categories, SLA policies, business calendars.
    TicketsConfigure,
    /// Ticket reports (no personal data).
    TicketsReport,
    /// Offering compensation on a ticket (staff only: limits are per role).
    CompensationOffer,
    /// Handing a ticket over to another agent (staff only: owners, or managers reassigning).
    TicketsHandover,
    /// Approving compensation above the offerer's limit (up to the approver's own).
    CompensationApprove,
    /// Survey templates (versioned question sets).
    SurveysManage,
    /// Templates and settings.
    SurveysRead,
    /// Individual invitations and responses (personal data by role; analysts get scores only).
    SurveyResponsesRead,
    /// Inviting guests by hand or at a touchpoint; issuing answer links.
    SurveysInvite,
    /// Issuing an invitation's answer link (a credential: never agents).
    SurveyLinksIssue,
    /// NPS/CSAT/CES scores (no personal data).
    SurveysReport,
    /// Survey settings (delays, expiry, bonus, consent rule).
    SurveysConfigure,
    /// Operational metrics (`/metrics`; also open to a scraper on the loopback address).
    MetricsRead,
    /// The event feed (of the caller's properties).
    EventsRead,
    /// Webhook endpoints, their deliveries and recovery (within the caller's properties).
    WebhooksManage,
    /// How long events and delivery logs are kept (group-wide).
    EventsConfigure,
}

impl Perm {
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Perm::PropertiesRead => &[Admin, Manager, Agent, Analyst],
            Perm::PropertiesWrite
            | Perm::StaffManage
            | Perm::ApiKeysManage
            | Perm::AuditRead
            | Perm::MetricsRead
            | Perm::EventsRead
            | Perm::WebhooksManage
            | Perm::EventsConfigure => &[Admin],
            Perm::CustomersRead => &[Admin, Manager, Agent, Analyst],
            Perm::CustomersWrite => &[Admin, Manager, Agent],
            Perm::CustomersGradeOverride => &[Admin, Manager],
            Perm::InteractionsRead | Perm::InteractionsWrite => &[Admin, Manager, Agent],
            Perm::StaysRead => &[Admin, Manager, Agent],
            Perm::StaysWrite => &[Admin, Manager],
            Perm::LoyaltyRead => &[Admin, Manager, Agent],
            Perm::LoyaltyAdjust => &[Admin, Manager],
            Perm::RewardsManage | Perm::ProgrammeManage => &[Admin],
            Perm::RedemptionsManage => &[Admin, Manager, Agent],
            Perm::TicketsRead | Perm::TicketsWrite => &[Admin, Manager, Agent],
            Perm::TicketsConfigure => &[Admin],
            Perm::TicketsReport => &[Admin, Manager, Analyst],
            Perm::CompensationApprove => &[Admin, Manager],
            Perm::CompensationOffer | Perm::TicketsHandover => &[Admin, Manager, Agent],
            Perm::SurveysManage => &[Admin, Manager],
            Perm::SurveysRead => &[Admin, Manager, Agent, Analyst],
            Perm::SurveyResponsesRead => &[Admin, Manager, Agent],
            Perm::SurveysInvite => &[Admin, Manager, Agent],
            Perm::SurveysReport => &[Admin, Manager, Analyst],
            Perm::SurveyLinksIssue => &[Admin, Manager],
            Perm::SurveysConfigure => &[Admin],
        }
    }

    /// The API-key scopes that grant it (any one suffices); empty = no API key may.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Perm::CustomersRead | Perm::InteractionsRead => &[Scope::CustomersRead],
            Perm::CustomersWrite | Perm::InteractionsWrite => &[Scope::CustomersWrite],
            Perm::StaysRead => &[Scope::StaysWrite, Scope::CustomersRead],
            Perm::StaysWrite => &[Scope::StaysWrite],
            Perm::LoyaltyRead => &[Scope::LoyaltyRead],
            Perm::LoyaltyAdjust | Perm::RedemptionsManage => &[Scope::LoyaltyWrite],
            Perm::TicketsRead => &[Scope::TicketsRead, Scope::TicketsWrite],
            Perm::TicketsWrite => &[Scope::TicketsWrite],
            Perm::SurveysInvite | Perm::SurveyLinksIssue => &[Scope::SurveysWrite],
            Perm::EventsRead => &[Scope::EventsRead],
            Perm::WebhooksManage => &[Scope::WebhooksManage],
            _ => &[],
        }
    }

    /// Any API key may read the property list (integrations map their hotel codes).
    pub(crate) fn any_key(self) -> bool {
        matches!(self, Perm::PropertiesRead)
    }
}

/// How much personal data a caller sees (SPEC §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalView {
    /// Everything, document number included (admin, manager, the guest themself). Staff reads
    /// of this kind are audited.
    Full,
    /// Contact data whole, document number masked (integrations).
    Contact,
    /// Phone, email masked; document last 4; street address hidden (agents).
    Masked,
    /// No personal fields at all (analysts).
    Hidden,
}

impl Principal {
    pub fn require(&self, perm: Perm) -> Result<(), ApiError> {
        let ok = match &self.actor {
            Actor::Staff(s) => perm.roles().contains(&s.role),
            Actor::ApiKey(k) => perm.any_key() || perm.scopes().iter().any(|sc| k.scopes.contains(sc)),
            Actor::Customer { .. } => false,
            Actor::System(_) => true,
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::Forbidden(match &self.actor {
                Actor::ApiKey(_) => match perm.scopes() {
                    [] => "API keys may not call this endpoint".into(),
                    scopes => format!(
                        "this API key lacks the {} scope",
                        scopes
                            .iter()
                            .map(|s| format!("`{}`", s.as_str()))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                },
                Actor::Customer { .. } => "guests may not call this endpoint".into(),
                Actor::System(_) => "not allowed".into(),
                Actor::Staff(s) => format!("the `{}` role may not call this endpoint", s.role.as_str()),
            }))
        }
    }

    /// The guest's own customer id, or 403 for any other caller.
    pub fn require_customer(&self) -> Result<&str, ApiError> {
        match &self.actor {
            Actor::Customer { customer_id } => Ok(customer_id),
            _ => Err(ApiError::Forbidden(
                "only guests (customer tokens) may call this endpoint".into(),
            )),
        }
    }

    pub fn personal_view(&self) -> PersonalView {
        match &self.actor {
            Actor::Staff(s) => match s.role {
                Role::Admin | Role::Manager => PersonalView::Full,
                Role::Agent => PersonalView::Masked,
                Role::Analyst => PersonalView::Hidden,
            },
            Actor::Customer { .. } | Actor::System(_) => PersonalView::Full,
            Actor::ApiKey(_) => PersonalView::Contact,
        }
    }
}
