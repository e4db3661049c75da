//! The invitation sweep: opens scheduled invitations whose time has come, expires unanswered
//! ones; one event per invitation moved.

use chrono::NaiveDateTime;
use serde_json::json;

use super::db;
use super::invite::emit_expired_in_tx;
use crate::auth::Principal;
use crate::db::outbox::{self, NewEvent};
use crate::db::{write_tx, DbConnection};
use crate::platform::error::ApiError;

/// Opens scheduled invitations whose time has come and expires unanswered ones: each moved by
/// a statement that checks its state, so safe with several instances. Returns (opened, expired).
pub fn sweep(conn: &mut DbConnection, as_of: NaiveDateTime) -> Result<(usize, usize), ApiError> {
    let who = Principal::system("survey-sweep");
    write_tx(conn, |conn| {
        // A guest who withdrew survey consent while the invitation waited is not asked after all.
        for (id, property) in db::scheduled_of_withdrawn(conn)? {
            if db::move_state(conn, &id, &["scheduled"], "expired")? {
                emit_expired_in_tx(conn, &who, &id, &property, "scheduled", "consent_withdrawn")?;
            }
        }
        let mut expired = 0;
        for from in ["scheduled", "open"] {
            for (id, property) in db::due_invitations(conn, &[from], true, as_of)? {
                if db::move_state(conn, &id, &[from], "expired")? {
                    emit_expired_in_tx(conn, &who, &id, &property, from, "expired")?;
                    expired += 1;
                }
            }
        }
        let mut opened = 0;
        for (id, property) in db::due_invitations(conn, &["scheduled"], false, as_of)? {
            if db::move_state(conn, &id, &["scheduled"], "open")? {
                let data = json!({"invitation_id": id, "state": {"from": "scheduled", "to": "open"}});
                let ev =
                    NewEvent::new("survey.invitation_opened", "survey_invitation", &id).property(property.as_str());
                outbox::emit_in_tx(conn, &who, ev.data(data))?;
                opened += 1;
            }
        }
        Ok((opened, expired))
    })
}
