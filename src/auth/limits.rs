//! Role limits: what each caller may grant by themself. The limits are data (ticket settings);
//! which one applies to a caller is decided here, once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::principal::{Actor, Principal, Role};

/// Compensation each role may grant without approval (admins: no limit).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CompensationLimits {
    pub agent: Limit,
    pub manager: Limit,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Limit {
    /// Whole currency units (any currency).
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub money: i64,
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub points: i64,
}

impl Limit {
    pub const NONE: Limit = Limit { money: 0, points: 0 };
}

impl CompensationLimits {
    /// SPEC §4 defaults: agent ≤ 500 currency units or 2,000 points, manager ≤ 5,000 or 20,000.
    pub const DEFAULT: CompensationLimits = CompensationLimits {
        agent: Limit {
            money: 500,
            points: 2000,
        },
        manager: Limit {
            money: 5000,
            points: 20000,
        },
    };
}

/// The compensation limit of the caller, per ticket and unit: `None` = unlimited (admins and
/// jobs); a role without its own limit (analysts, keys, guests) may grant nothing.
pub fn compensation_limit(who: &Principal, limits: &CompensationLimits) -> Option<Limit> {
    match &who.actor {
        Actor::Staff(s) => match s.role {
            Role::Admin => None,
            Role::Manager => Some(limits.manager),
            Role::Agent => Some(limits.agent),
            Role::Analyst => Some(Limit::NONE),
        },
        Actor::System(_) => None,
        Actor::ApiKey(_) | Actor::Customer { .. } => Some(Limit::NONE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::StaffActor;
    use crate::auth::scope::PropertyScope;

    fn staff(role: Role) -> Principal {
        Principal {
            actor: Actor::Staff(StaffActor {
                id: "s".into(),
                role,
                properties: PropertyScope::All,
            }),
            ip: None,
            request_id: None,
        }
    }

    #[test]
    fn each_role_gets_its_configured_limit_and_admins_none() {
        let limits = CompensationLimits::DEFAULT;
        assert_eq!(compensation_limit(&staff(Role::Agent), &limits), Some(limits.agent));
        assert_eq!(compensation_limit(&staff(Role::Manager), &limits), Some(limits.manager));
        assert_eq!(compensation_limit(&staff(Role::Admin), &limits), None);
        assert_eq!(compensation_limit(&staff(Role::Analyst), &limits), Some(Limit::NONE));
        let guest = Principal {
            actor: Actor::Customer {
                customer_id: "c".into(),
            },
            ip: None,
            request_id: None,
        };
        assert_eq!(compensation_limit(&guest, &limits), Some(Limit::NONE));
    }
}
