//! Pure ticket rules: the state machine, response rules by channel, the reopen window.
//! No database, no HTTP; time is passed in.

use chrono::{Duration, NaiveDateTime};

use super::db::TicketRow;
use super::model::{TicketChannel, TicketState};
use crate::features::tickets::sla::ResponseRule;
use crate::platform::error::ApiError;

impl TicketState {
    /// The state machine (SPEC §4), in one place.
    pub fn allowed_next(self) -> &'static [TicketState] {
        use TicketState::*;
        match self {
            New => &[Acknowledged, Investigating, AwaitingCustomer, Resolved],
            Acknowledged | Reopened => &[Investigating, AwaitingCustomer, Resolved],
            Investigating => &[AwaitingCustomer, Resolved],
            AwaitingCustomer => &[Investigating, Resolved],
            Resolved => &[Closed, Reopened],
            Closed => &[Reopened],
        }
    }
    pub fn is_open(self) -> bool {
        !matches!(self, TicketState::Resolved | TicketState::Closed)
    }
}

pub(super) fn response_rule(channel: TicketChannel) -> ResponseRule {
    match channel {
        TicketChannel::OnSite => ResponseRule::OnSite,
        TicketChannel::OtaReview | TicketChannel::Survey => ResponseRule::Within24h,
        _ => ResponseRule::Policy,
    }
}

/// Until when a resolved or closed ticket may be reopened.
pub(super) fn reopen_deadline(r: &TicketRow, window_days: i64) -> Option<NaiveDateTime> {
    match r.state() {
        TicketState::Resolved | TicketState::Closed => {
            r.closed_at.or(r.resolved_at).map(|at| at + Duration::days(window_days))
        }
        _ => None,
    }
}

pub(super) fn check_version(r: &TicketRow, version: Option<i64>) -> Result<(), ApiError> {
    match version {
        Some(v) if v != r.version => Err(ApiError::PreconditionFailed(format!(
            "the ticket changed since you read it (version {} now)",
            r.version
        ))),
        _ => Ok(()),
    }
}

/// Refuses a change the state machine does not allow, naming the allowed ones.
pub(super) fn check_transition(from: TicketState, to: TicketState) -> Result<(), ApiError> {
    if from.allowed_next().contains(&to) {
        return Ok(());
    }
    let allowed: Vec<String> = from.allowed_next().iter().map(|s| s.as_str().to_string()).collect();
    Err(ApiError::IllegalTransition {
        detail: format!(
            "a {} ticket cannot become {}; allowed: {}",
            from.as_str(),
            to.as_str(),
            allowed.join(", ")
        ),
        allowed,
    })
}

/// Refuses a reopen after the window (409).
pub(super) fn check_reopen_window(r: &TicketRow, window_days: i64, at: NaiveDateTime) -> Result<(), ApiError> {
    let deadline = reopen_deadline(r, window_days);
    if deadline.is_none_or(|d| at > d) {
        return Err(ApiError::Conflict {
            detail: format!("the reopen window of {window_days} days has passed; open a new ticket"),
            existing_id: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketState::*;

    #[test]
    fn state_machine() {
        assert!(New.allowed_next().contains(&Acknowledged));
        assert!(AwaitingCustomer.allowed_next().contains(&Investigating));
        assert!(Resolved.allowed_next().contains(&Closed));
        assert!(Closed.allowed_next().contains(&Reopened));
        assert!(Reopened.allowed_next().contains(&Investigating));
        assert!(!Closed.allowed_next().contains(&Investigating), "reopen first");
        assert!(!New.allowed_next().contains(&Closed), "close only after resolving");
        assert!(!Resolved.allowed_next().contains(&AwaitingCustomer));
        for s in TicketState::ALL {
            assert!(!s.allowed_next().contains(s), "{s:?} → itself");
            assert!(!s.allowed_next().contains(&New), "nothing goes back to new");
        }
    }

    #[test]
    fn response_rules_by_channel() {
        assert_eq!(response_rule(TicketChannel::OnSite), ResponseRule::OnSite);
        assert_eq!(response_rule(TicketChannel::OtaReview), ResponseRule::Within24h);
        assert_eq!(response_rule(TicketChannel::Survey), ResponseRule::Within24h);
        assert_eq!(response_rule(TicketChannel::Phone), ResponseRule::Policy);
    }
}
