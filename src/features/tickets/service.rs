//! Tickets (SPEC §4): complaints and service requests from first contact to a confirmed close.
//! Every change appends to the ticket's timeline; SLA due times are stored on the ticket and
//! moved only by the rules in `sla` (apply, pause, resume); the sweep (`sweep`) marks breaches,
//! escalates one level per breach and closes resolved tickets nobody answered — each step a
//! conditional update, so several instances may sweep at once and each event is recorded once.
//!
//! The use cases live in their own files; this module keeps the paths other floors use.

pub use super::create::{create, create_mine, open_for_survey};
pub(crate) use super::db::lock_in_tx;
pub use super::db::TicketRow;
pub(crate) use super::edit::record_compensation_in_tx;
pub use super::edit::{comment, comment_mine, handover, update};
pub use super::model::*;
pub use super::read::{get, get_mine, list, list_mine, timeline, timeline_mine};
pub use super::sweep::{sweep, SweepReport};
pub use super::transition::{confirm_mine, reopen_mine, transition};
