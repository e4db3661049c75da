//! Stays' pure rules: the stay state machine and the checks of a pushed stay.

use super::model::{StayInput, StayStatus};
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::money::to_minor;

impl StayStatus {
    /// The stay state machine. Staying in the same state is always allowed (re-pushes).
    pub fn allowed_next(self) -> &'static [StayStatus] {
        use StayStatus::*;
        match self {
            Reserved => &[InHouse, CheckedOut, Cancelled, NoShow],
            InHouse => &[CheckedOut, Cancelled],
            // A checked-out stay can still be voided (its points are reversed by the ledger).
            CheckedOut => &[Cancelled],
            NoShow => &[Cancelled],
            Cancelled => &[],
        }
    }

    pub fn can_become(self, to: StayStatus) -> bool {
        self == to || self.allowed_next().contains(&to)
    }
}

/// 409 naming the allowed next states when `from` cannot become `to`.
pub fn transition(from: StayStatus, to: StayStatus) -> Result<(), ApiError> {
    if from.can_become(to) {
        return Ok(());
    }
    let allowed: Vec<String> = from.allowed_next().iter().map(|s| s.as_str().to_string()).collect();
    Err(ApiError::IllegalTransition {
        detail: format!(
            "a {} stay cannot become {}; allowed: {}",
            from.as_str(),
            to.as_str(),
            if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            }
        ),
        allowed,
    })
}

/// A pushed stay's checked fields.
pub struct Checked {
    pub confirmation: String,
    pub room_type: Option<String>,
    pub room_number: Option<String>,
    pub rate_minor: Option<i64>,
    pub nights: i32,
}

pub fn check_stay_fields(c: &mut Checks, currency: &str, input: &StayInput) -> Checked {
    let confirmation = c.text("confirmation_number", &input.confirmation_number, 1, 64);
    if input.check_out < input.check_in {
        c.fail("check_out", "must be on or after check_in");
    }
    if (input.check_out - input.check_in).num_days() > 365 {
        c.fail("check_out", "a stay is at most 365 nights");
    }
    Checked {
        confirmation,
        room_type: c.opt_text("room_type", input.room_type.as_deref(), 64),
        room_number: c.opt_text("room_number", input.room_number.as_deref(), 16),
        rate_minor: input.rate.as_ref().and_then(|r| to_minor(c, "rate", r, Some(currency))),
        nights: (input.check_out - input.check_in).num_days() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::StayStatus::*;
    use super::*;

    #[test]
    fn stay_state_machine() {
        assert!(Reserved.can_become(InHouse));
        assert!(InHouse.can_become(CheckedOut));
        assert!(CheckedOut.can_become(Cancelled));
        assert!(CheckedOut.can_become(CheckedOut), "re-push of the same state");
        assert!(!CheckedOut.can_become(InHouse));
        assert!(!Cancelled.can_become(Reserved));
        assert!(!InHouse.can_become(Reserved));
        assert!(!NoShow.can_become(CheckedOut));
    }

    #[test]
    fn an_illegal_change_names_the_allowed_ones() {
        assert!(transition(Reserved, InHouse).is_ok());
        assert!(transition(Cancelled, Cancelled).is_ok());
        match transition(InHouse, Reserved) {
            Err(ApiError::IllegalTransition { allowed, .. }) => assert_eq!(allowed, ["checked_out", "cancelled"]),
            other => panic!("{other:?}"),
        }
    }
}
