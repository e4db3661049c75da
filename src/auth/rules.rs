//! Role rules beyond the Perm table, each named for what it decides (SPEC §2). Services ask
//! these; none compares roles or scopes by hand.

use super::access::Perm;
use super::principal::{Actor, Principal, Role};
use super::scope::PropertyScope;
use crate::platform::error::ApiError;

impl Role {
    /// Analysts read reports; every other role may own (be assigned) tickets.
    pub fn may_own_tickets(self) -> bool {
        !matches!(self, Role::Analyst)
    }

    /// Escalation contacts are managers or admins.
    pub fn may_receive_escalations(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }

    /// Who hears of an escalation to `level` at a property that named no one: its managers
    /// (levels 1–2) or the group's admins (level 3).
    pub fn escalation_fallback(level: i32) -> Role {
        if level >= 3 {
            Role::Admin
        } else {
            Role::Manager
        }
    }
}

impl Principal {
    /// Who may reassign a ticket someone else owns: managers, admins and jobs.
    pub fn may_reassign_tickets(&self) -> bool {
        match &self.actor {
            Actor::Staff(s) => matches!(s.role, Role::Admin | Role::Manager),
            Actor::System(_) => true,
            Actor::ApiKey(_) | Actor::Customer { .. } => false,
        }
    }

    /// The staff side of a record a guest also reaches through `/me` (their profile, their
    /// consents): a guest is refused (403) and pointed at `instead`, even for their own record.
    pub fn refuse_guest(&self, instead: &str) -> Result<(), ApiError> {
        match &self.actor {
            Actor::Customer { .. } => Err(ApiError::Forbidden(format!("guests use {instead}"))),
            _ => Ok(()),
        }
    }

    /// Searching guests by personal data (free text, email, phone, tag): not for callers who
    /// see no personal data (analysts, SPEC §9), who would learn it from what matches.
    pub fn require_personal_search(&self) -> Result<(), ApiError> {
        if self.personal_view() == super::PersonalView::Hidden {
            return Err(ApiError::Forbidden(
                "analysts may not search by personal data (q, email, phone, tag)".into(),
            ));
        }
        Ok(())
    }

    /// A record a guest owns (their redemption order…): the guest who owns it, or staff and keys
    /// with `perm`; another guest gets 404 for `what` (it is not theirs to know of).
    pub fn require_staff_or_owner(&self, perm: Perm, owner_customer_id: &str, what: &str) -> Result<(), ApiError> {
        match &self.actor {
            Actor::Customer { customer_id } if customer_id == owner_customer_id => Ok(()),
            Actor::Customer { .. } => Err(ApiError::not_found(what)),
            _ => self.require(perm),
        }
    }

    /// A catalogue (the rewards): every staff role and guests; API keys with `perm`. `Ok(true)`
    /// when the caller also sees inactive items (staff only).
    pub fn require_catalogue(&self, perm: Perm) -> Result<bool, ApiError> {
        match &self.actor {
            Actor::Staff(_) => Ok(true),
            Actor::ApiKey(_) => self.require(perm).map(|()| false),
            Actor::Customer { .. } | Actor::System(_) => Ok(false),
        }
    }

    /// Handing over a ticket owned by `owner` (SPEC §4): its owner hands over, managers and
    /// admins reassign, an unowned ticket may be taken; anyone else gets 403.
    pub fn require_handover(&self, owner: Option<&str>) -> Result<(), ApiError> {
        let may = match owner {
            None => true,
            Some(o) => self.staff().is_some_and(|s| s.id == o) || self.may_reassign_tickets(),
        };
        if may {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only the ticket's owner, a manager or an admin may hand it over".into(),
            ))
        }
    }

    /// `perm` for an act that touches the whole group (creating a property; the programme,
    /// rewards, ticket categories, settings and group SLA policies, survey settings, the audit
    /// log): a caller restricted to some properties is refused with 403.
    pub fn require_group_wide(&self, perm: Perm) -> Result<(), ApiError> {
        self.require(perm)?;
        if self.properties().is_all() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this is a group-wide setting; your account is restricted to some properties".into(),
            ))
        }
    }

    /// Whether the caller may see work another caller started (a bulk import, with its failed
    /// lines): unrestricted admins only; everyone else sees their own.
    pub fn sees_others_work(&self) -> bool {
        self.staff().is_some_and(|s| s.role == Role::Admin) && self.properties().is_all()
    }

    /// Whether the caller may see and manage a staff member or API key working at `target`:
    /// only when every property of `target` is one of the caller's (an unrestricted admin
    /// manages everyone; a restricted one never someone with all properties).
    pub fn manages(&self, target: &PropertyScope) -> bool {
        self.properties().includes(target)
    }

    /// [`manages`](Self::manages) for a stored property list (`staff_users.property_ids`,
    /// `api_keys.property_ids`), read as `PropertyScope::parse` reads it.
    pub fn manages_stored(&self, stored_property_ids: &str) -> bool {
        self.manages(&PropertyScope::parse(stored_property_ids))
    }

    /// Giving a staff member or key the property scope `granted`: never broader than the
    /// caller's own (an empty list = all properties is broader than any restriction).
    pub fn require_grantable(&self, granted: &PropertyScope) -> Result<(), ApiError> {
        if self.manages(granted) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "you may not grant properties beyond your own (an empty list means all properties)".into(),
            ))
        }
    }

    /// Changes to the caller's own staff account: no admin deactivates or demotes themself
    /// (409: the group would lose its admin), and a restricted admin does not change their own
    /// properties (403: that would lift the restriction).
    pub fn check_own_account_change(
        &self,
        target_id: &str,
        role: Option<Role>,
        property_scope_changed: bool,
        active: Option<bool>,
    ) -> Result<(), ApiError> {
        if self.actor_id() != target_id || !matches!(self.actor, Actor::Staff(_)) {
            return Ok(());
        }
        if active == Some(false) || role.is_some_and(|r| r != Role::Admin) {
            return Err(ApiError::Conflict {
                detail: "an admin cannot deactivate or demote themself".into(),
                existing_id: None,
            });
        }
        if !self.properties().is_all() && property_scope_changed {
            return Err(ApiError::Forbidden(
                "a restricted admin cannot change their own role or properties".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::{Scope, StaffActor};

    fn staff(role: Role, props: PropertyScope) -> Principal {
        Principal {
            actor: Actor::Staff(StaffActor {
                id: "me".into(),
                role,
                properties: props,
            }),
            ip: None,
            request_id: None,
        }
    }

    fn only(ids: &[&str]) -> PropertyScope {
        PropertyScope::Only(ids.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn analysts_own_no_tickets_and_only_managers_and_admins_hear_escalations() {
        assert!(!Role::Analyst.may_own_tickets());
        assert!(Role::Agent.may_own_tickets());
        assert!(!Role::Agent.may_receive_escalations());
        assert!(Role::Manager.may_receive_escalations());
        assert_eq!(Role::escalation_fallback(2), Role::Manager);
        assert_eq!(Role::escalation_fallback(3), Role::Admin);
    }

    #[test]
    fn links_and_reassignment_are_for_managers_and_admins() {
        use crate::auth::Perm;
        assert!(staff(Role::Agent, PropertyScope::All)
            .require(Perm::SurveyLinksIssue)
            .is_err());
        assert!(staff(Role::Manager, only(&["a"]))
            .require(Perm::SurveyLinksIssue)
            .is_ok());
        assert!(!staff(Role::Agent, PropertyScope::All).may_reassign_tickets());
        assert!(staff(Role::Admin, PropertyScope::All).may_reassign_tickets());
    }

    #[test]
    fn group_wide_acts_need_an_unrestricted_caller() {
        assert!(staff(Role::Admin, PropertyScope::All)
            .require_group_wide(Perm::ProgrammeManage)
            .is_ok());
        assert!(staff(Role::Admin, only(&["a"]))
            .require_group_wide(Perm::ProgrammeManage)
            .is_err());
        assert!(staff(Role::Admin, PropertyScope::Nothing)
            .require_group_wide(Perm::ProgrammeManage)
            .is_err());
    }

    #[test]
    fn a_restricted_admin_grants_and_manages_only_within_its_properties() {
        let a = staff(Role::Admin, only(&["a"]));
        assert!(a.require_grantable(&only(&["a"])).is_ok());
        assert!(a.require_grantable(&only(&["a", "b"])).is_err());
        assert!(a.require_grantable(&PropertyScope::All).is_err(), "empty = all");
        assert!(!a.manages(&PropertyScope::All));
        assert!(staff(Role::Admin, PropertyScope::All).manages(&only(&["b"])));
    }

    #[test]
    fn a_restricted_admin_cannot_lift_its_own_restriction() {
        let a = staff(Role::Admin, only(&["a"]));
        assert!(a.check_own_account_change("me", None, true, None).is_err());
        assert!(a
            .check_own_account_change("me", Some(Role::Agent), false, None)
            .is_err());
        assert!(
            a.check_own_account_change("me", None, false, None).is_ok(),
            "a new name"
        );
        assert!(a.check_own_account_change("other", None, true, None).is_ok());
        let all = staff(Role::Admin, PropertyScope::All);
        assert!(all.check_own_account_change("me", None, true, None).is_ok());
        assert!(all
            .check_own_account_change("me", Some(Role::Agent), false, None)
            .is_err());
        assert!(all.check_own_account_change("me", None, false, Some(false)).is_err());
    }

    fn as_actor(actor: Actor) -> Principal {
        Principal {
            actor,
            ip: None,
            request_id: None,
        }
    }

    fn guest(id: &str) -> Principal {
        as_actor(Actor::Customer { customer_id: id.into() })
    }

    fn key(scopes: &[Scope]) -> Principal {
        as_actor(Actor::ApiKey(crate::auth::principal::KeyActor {
            id: "k".into(),
            scopes: scopes.to_vec(),
            properties: PropertyScope::All,
        }))
    }

    fn status(r: Result<impl Sized, ApiError>) -> u16 {
        use actix_web::ResponseError;
        r.map(|_| 200).unwrap_or_else(|e| e.status_code().as_u16())
    }

    #[test]
    fn owned_records_open_to_their_guest_and_to_staff_with_the_permission() {
        let rule = |who: &Principal| status(who.require_staff_or_owner(Perm::LoyaltyRead, "g1", "customer"));
        assert_eq!(rule(&guest("g1")), 200);
        assert_eq!(rule(&guest("g2")), 404, "another guest learns nothing");
        assert_eq!(rule(&staff(Role::Agent, PropertyScope::All)), 200);
        assert_eq!(rule(&staff(Role::Analyst, PropertyScope::All)), 403);
        assert_eq!(rule(&key(&[Scope::LoyaltyRead])), 200);
        assert_eq!(rule(&key(&[Scope::CustomersRead])), 403);
    }

    #[test]
    fn the_catalogue_shows_inactive_items_to_staff_only_and_needs_a_scope_for_keys() {
        assert_eq!(
            staff(Role::Analyst, PropertyScope::All)
                .require_catalogue(Perm::LoyaltyRead)
                .ok(),
            Some(true)
        );
        assert_eq!(guest("g1").require_catalogue(Perm::LoyaltyRead).ok(), Some(false));
        assert_eq!(
            key(&[Scope::LoyaltyRead]).require_catalogue(Perm::LoyaltyRead).ok(),
            Some(false)
        );
        assert_eq!(
            status(key(&[Scope::TicketsRead]).require_catalogue(Perm::LoyaltyRead)),
            403
        );
    }

    #[test]
    fn guests_are_sent_to_me_and_analysts_may_not_search_by_personal_data() {
        assert_eq!(status(guest("g1").refuse_guest("/api/v1/me")), 403);
        assert_eq!(
            status(staff(Role::Agent, PropertyScope::All).refuse_guest("/api/v1/me")),
            200
        );
        assert_eq!(
            status(staff(Role::Analyst, PropertyScope::All).require_personal_search()),
            403
        );
        assert_eq!(
            status(staff(Role::Agent, PropertyScope::All).require_personal_search()),
            200
        );
    }

    #[test]
    fn owners_hand_over_managers_reassign_and_unowned_tickets_may_be_taken() {
        let agent = staff(Role::Agent, only(&["p1"]));
        assert_eq!(status(agent.require_handover(Some("me"))), 200, "the owner");
        assert_eq!(status(agent.require_handover(Some("someone"))), 403);
        assert_eq!(status(agent.require_handover(None)), 200, "unowned");
        assert_eq!(
            status(staff(Role::Manager, only(&["p1"])).require_handover(Some("someone"))),
            200
        );
        assert_eq!(
            status(key(&[Scope::TicketsWrite]).require_handover(Some("someone"))),
            403
        );
    }
}
