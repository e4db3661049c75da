//! Surveys (SPEC §5): versioned templates; invitations per guest and subject (a stay, a ticket)
//! issued on check-out, ticket close, touchpoints or by hand, respecting consent; answers from
//! the app (customer JWT) or a single-use link token; scores; and service recovery (a detractor
//! opens a `feedback` ticket; an optional completion bonus posts to the ledger once).
//!
//! The feature's old single module, kept as the path `api`, `app/` and other callers use: each
//! item lives in the file named after what it does.

pub use super::answer::{answer_link, answer_mine, answer_with_token};
pub(crate) use super::answer::{link_bonus_in_tx, link_ticket_in_tx};
pub use super::invitations::{get_invitation, list_invitations, my_invitations};
pub use super::invite::{create_invitation, issue, NewInvitation, Skipped};
pub(crate) use super::invite::{invite_after_stay_in_tx, invite_after_ticket_in_tx};
pub use super::jobs::sweep;
pub use super::links::{link_questions, new_link};
pub use super::model::*;
pub use super::responses::list_responses;
pub use super::rules::{csat_score, feedback_subject, is_detractor, mean, nps_score};
pub use super::scores::scores;
pub use super::settings::{completion_bonus_in_tx, get_settings, set_settings, settings};
pub use super::templates::{create_template, get_template, list_templates, update_template};
