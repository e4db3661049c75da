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
    #[serde(rename = "events:read")]
    EventsRead,
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
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
            Scope::EventsRead => "events:read",
            Scope::WebhooksManage => "webhooks:manage",
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

/// A principal as stored with work that runs later on its behalf (a bulk import): who it is,
/// with the role or scopes and properties it had when the work was accepted.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    kind: String,
    id: String,
    role: Option<Role>,
    #[serde(default)]
    scopes: Vec<Scope>,
    /// `None`: every property; otherwise these (never empty).
    properties: Option<Vec<String>>,
}

impl Principal {
    /// The stored form of this principal (`None` for guests and for a property list that could
    /// not be read: such work is refused rather than run with more rights).
    pub fn snapshot(&self) -> Option<String> {
        let properties = |p: &PropertyScope| match p {
            PropertyScope::All => Some(None),
            PropertyScope::Only(ids) => Some(Some(ids.clone())),
            PropertyScope::Nothing => None,
        };
        let s = match &self.actor {
            Actor::Staff(s) => Snapshot {
                kind: "staff".into(),
                id: s.id.clone(),
                role: Some(s.role),
                scopes: vec![],
                properties: properties(&s.properties)?,
            },
            Actor::ApiKey(k) => Snapshot {
                kind: "api_key".into(),
                id: k.id.clone(),
                role: None,
                scopes: k.scopes.clone(),
                properties: properties(&k.properties)?,
            },
            Actor::System(name) => Snapshot {
                kind: "system".into(),
                id: name.clone(),
                role: None,
                scopes: vec![],
                properties: None,
            },
            Actor::Customer { .. } => return None,
        };
        serde_json::to_string(&s).ok()
    }

    /// The principal a snapshot stored; `None` when it cannot be read (fails closed).
    pub fn from_snapshot(stored: &str) -> Option<Principal> {
        let s: Snapshot = serde_json::from_str(stored).ok()?;
        let properties = match s.properties {
            None => PropertyScope::All,
            Some(ids) if !ids.is_empty() => PropertyScope::Only(ids),
            Some(_) => return None,
        };
        let actor = match s.kind.as_str() {
            "staff" => Actor::Staff(StaffActor {
                id: s.id,
                role: s.role?,
                properties,
            }),
            "api_key" => Actor::ApiKey(KeyActor {
                id: s.id,
                scopes: s.scopes,
                properties,
            }),
            "system" => Actor::System(s.id),
            _ => return None,
        };
        Some(Principal {
            actor,
            ip: None,
            request_id: None,
        })
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_and_fail_closed() {
        let staff = Principal {
            actor: Actor::Staff(StaffActor {
                id: "s1".into(),
                role: Role::Agent,
                properties: PropertyScope::Only(vec!["p1".into()]),
            }),
            ip: None,
            request_id: None,
        };
        let back = Principal::from_snapshot(&staff.snapshot().unwrap()).unwrap();
        assert_eq!(back.staff().unwrap().role, Role::Agent);
        assert!(back.properties().covers("p1") && !back.properties().covers("p2"));
        let guest = Principal {
            actor: Actor::Customer {
                customer_id: "c".into(),
            },
            ip: None,
            request_id: None,
        };
        assert!(guest.snapshot().is_none());
        assert!(Principal::from_snapshot(r#"{"kind":"staff","id":"x","role":null,"properties":null}"#).is_none());
        assert!(Principal::from_snapshot(r#"{"kind":"staff","id":"x","role":"admin","properties":[]}"#).is_none());
        assert!(Principal::from_snapshot("not json").is_none());
    }
}
