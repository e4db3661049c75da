//! The caller of a request: staff, guest, API key or system, with their roles, scopes and
//! properties. Resolving it from a request is `server::authn`.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scope::PropertyScope;

/// Staff roles (SPEC §2); `customer` is the guest app's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Agent,
    Analyst,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Agent => "agent",
            Role::Analyst => "analyst",
        }
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "admin" => Role::Admin,
            "manager" => Role::Manager,
            "agent" => Role::Agent,
            "analyst" => Role::Analyst,
            _ => return Err(()),
        })
    }
}

/// API-key scopes (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Hash)]
pub enum Scope {
    #[serde(rename = "customers:read")]
    CustomersRead,
    #[serde(rename = "customers:write")]
    CustomersWrite,
    #[serde(rename = "stays:write")]
    StaysWrite,
    #[serde(rename = "loyalty:read")]
    LoyaltyRead,
    #[serde(rename = "loyalty:write")]
    LoyaltyWrite,
    #[serde(rename = "tickets:read")]
    TicketsRead,
    #[serde(rename = "tickets:write")]
    TicketsWrite,
    #[serde(rename = "surveys:write")]
    SurveysWrite,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CustomersRead => "customers:read",
            Scope::CustomersWrite => "customers:write",
            Scope::StaysWrite => "stays:write",
            Scope::LoyaltyRead => "loyalty:read",
            Scope::LoyaltyWrite => "loyalty:write",
            Scope::TicketsRead => "tickets:read",
            Scope::TicketsWrite => "tickets:write",
            Scope::SurveysWrite => "surveys:write",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StaffActor {
    pub id: String,
    pub role: Role,
    /// Where they work.
    pub properties: PropertyScope,
}

#[derive(Debug, Clone)]
pub struct KeyActor {
    pub id: String,
    pub scopes: Vec<Scope>,
    /// The properties it may touch.
    pub properties: PropertyScope,
}

#[derive(Debug, Clone)]
pub enum Actor {
    Staff(StaffActor),
    Customer {
        customer_id: String,
    },
    ApiKey(KeyActor),
    /// Background jobs and CLI tools (never an HTTP caller).
    System(String),
}

static NO_PROPERTY: PropertyScope = PropertyScope::Nothing;
static EVERY_PROPERTY: PropertyScope = PropertyScope::All;

/// The authenticated caller plus where the call came from (for the audit log).
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Principal {
    /// A job or tool acting on its own (`name` is recorded as the actor id).
    pub fn system(name: &str) -> Principal {
        Principal {
            actor: Actor::System(format!("system:{name}")),
            ip: None,
            request_id: None,
        }
    }

    pub fn actor_kind(&self) -> &'static str {
        match &self.actor {
            Actor::Staff(_) => "staff",
            Actor::Customer { .. } => "customer",
            Actor::ApiKey(_) => "api_key",
            Actor::System(_) => "system",
        }
    }

    pub fn actor_id(&self) -> &str {
        match &self.actor {
            Actor::Staff(s) => &s.id,
            Actor::Customer { customer_id } => customer_id,
            Actor::ApiKey(k) => &k.id,
            Actor::System(name) => name,
        }
    }

    pub fn staff(&self) -> Option<&StaffActor> {
        match &self.actor {
            Actor::Staff(s) => Some(s),
            _ => None,
        }
    }

    /// The properties the caller works at (guests: none; jobs: all).
    pub fn properties(&self) -> &PropertyScope {
        match &self.actor {
            Actor::Staff(s) => &s.properties,
            Actor::ApiKey(k) => &k.properties,
            Actor::Customer { .. } => &NO_PROPERTY,
            Actor::System(_) => &EVERY_PROPERTY,
        }
    }

    /// Whether the caller's property scope includes `property_id`.
    pub fn can_access_property(&self, property_id: &str) -> bool {
        self.properties().covers(property_id)
    }

    /// `None` = all properties.
    pub fn property_scope(&self) -> Option<&[String]> {
        self.properties().ids()
    }
}
