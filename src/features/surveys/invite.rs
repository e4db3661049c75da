//! Issuing invitations: on check-out and ticket close (reactions), by touchpoints and by hand;
//! consent and one open invitation per subject respected.

use chrono::{Duration, NaiveDateTime, Utc};
use serde_json::json;

use super::db::{self, NewInvRow};
use super::invitations::render_inv;
use super::model::{Invitation, InvitationCreate, InvitationState, SubjectKind, TriggerKind};
use super::rules::effective_state;
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::platform::crypto::sha256_hex;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};

pub struct NewInvitation<'a> {
    pub template_id: &'a str,
    pub customer_id: &'a str,
    pub property_id: &'a str,
    pub trigger: TriggerKind,
    pub subject: (SubjectKind, Option<String>),
    pub touchpoint: Option<String>,
    pub send_at: NaiveDateTime,
}

/// Why an invitation was not issued.
#[derive(Debug, PartialEq)]
pub enum Skipped {
    NoConsent,
    OpenForSubject(String),
    /// Automatic triggers ask about a stay or ticket once, whatever happened to that invitation.
    AlreadySurveyed,
}

/// Whether the guest may be invited: not if they withdrew the `surveys` consent, nor (when
/// consent is required) if they never gave it.
fn consents(conn: &mut DbConnection, customer_id: &str, require: bool) -> Result<bool, ApiError> {
    Ok(
        match crate::features::guests::consent_of(
            conn,
            customer_id,
            crate::features::guests::model::ConsentPurpose::Surveys,
        )? {
            Some(g) => g,
            None => !require,
        },
    )
}

/// Issues an invitation in the caller's transaction; `Err(Skipped)` inside `Ok` when the rules
/// say not to (consent, one open invitation per subject).
pub fn issue(conn: &mut DbConnection, n: NewInvitation) -> Result<Result<(String, String), Skipped>, ApiError> {
    issue_in_tx(conn, &Principal::system("surveys"), n)
}

/// Whether the subject may be asked: once for automatic triggers, one open invitation at a time
/// (an expired one not yet swept is retired here).
fn subject_free(
    conn: &mut DbConnection,
    who: &Principal,
    n: &NewInvitation,
    at: NaiveDateTime,
) -> Result<Option<Skipped>, ApiError> {
    let Some(sid) = &n.subject.1 else {
        return Ok(None);
    };
    let automatic = matches!(n.trigger, TriggerKind::PostStay | TriggerKind::PostTicket);
    if automatic && db::invitations_of_subject(conn, n.subject.0.as_str(), sid)? > 0 {
        return Ok(Some(Skipped::AlreadySurveyed));
    }
    if let Some(open) = db::open_of_subject(conn, n.subject.0.as_str(), sid)? {
        if effective_state(&open.state, open.send_at, open.expires_at, at) != InvitationState::Expired {
            return Ok(Some(Skipped::OpenForSubject(open.id)));
        }
        // Expired but not yet swept: retire it so the subject may be asked again.
        if db::move_state(conn, &open.id, &["scheduled", "open"], "expired")? {
            emit_expired_in_tx(conn, who, &open.id, &open.property_id, &open.state, "expired")?;
        }
    }
    Ok(None)
}

/// `survey.invitation_expired` for an invitation that left `from` (`reason`: `expired`,
/// `consent_withdrawn`).
pub(crate) fn emit_expired_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    property_id: &str,
    from: &str,
    reason: &str,
) -> Result<(), ApiError> {
    let data = json!({"invitation_id": id, "state": {"from": from, "to": "expired"}, "reason": reason});
    let ev = NewEvent::new("survey.invitation_expired", "survey_invitation", id).property(property_id);
    outbox::emit_in_tx(conn, who, ev.data(data))?;
    Ok(())
}

/// [`issue`] for a named caller (its events run their reactions as that caller).
pub(crate) fn issue_in_tx(
    conn: &mut DbConnection,
    who: &Principal,
    n: NewInvitation,
) -> Result<Result<(String, String), Skipped>, ApiError> {
    let s = db::settings(conn)?;
    if !consents(conn, n.customer_id, s.require_consent)? {
        return Ok(Err(Skipped::NoConsent));
    }
    let at = now();
    if let Some(skip) = subject_free(conn, who, &n, at)? {
        return Ok(Err(skip));
    }
    let version = db::template_version(conn, n.template_id)?;
    let Some(expires_at) = n.send_at.checked_add_signed(Duration::days(s.invitation_ttl_days)) else {
        return Err(ApiError::field("send_at", "out of range"));
    };
    let token = crate::auth::random_hex(24);
    let id = new_id();
    let state = if n.send_at <= at { "open" } else { "scheduled" };
    let row = NewInvRow {
        id: &id,
        template_id: n.template_id,
        template_version: version,
        customer_id: n.customer_id,
        property_id: n.property_id,
        trigger_kind: n.trigger.as_str(),
        subject_kind: n.subject.0.as_str(),
        subject_id: n.subject.1.as_deref(),
        touchpoint: n.touchpoint.as_deref(),
        token_hash: &sha256_hex(&token),
        state,
        send_at: n.send_at,
        expires_at,
        created_at: at,
    };
    // A concurrent issuer for the same subject (a PMS retry, a manual invitation) may insert
    // first: the unique index refuses the second, which is then skipped, not an error (the
    // caller's transaction, a check-out, carries on).
    if !db::insert_invitation(conn, &row)? {
        return Ok(Err(Skipped::OpenForSubject(String::new())));
    }
    let data = json!({
        "invitation_id": id, "template_id": n.template_id, "template_version": version,
        "customer_id": n.customer_id, "trigger": n.trigger.as_str(), "subject_kind": n.subject.0.as_str(),
        "subject_id": n.subject.1, "state": state,
    });
    let ev = NewEvent::new("survey.invitation_created", "survey_invitation", &id).property(n.property_id);
    outbox::emit_in_tx(conn, who, ev.data(data))?;
    Ok(Ok((id, token)))
}

/// Check-out: invite the guest to the post-stay survey after the configured delay.
pub(crate) fn invite_after_stay_in_tx(
    conn: &mut DbConnection,
    stay_id: &str,
    customer_id: &str,
    property_id: &str,
    check_out: chrono::NaiveDate,
) -> Result<(), ApiError> {
    let Some(template) = db::template_for(conn, TriggerKind::PostStay)? else {
        return Ok(());
    };
    // History imports (stays that ended days ago) are not surveyed.
    if check_out < Utc::now().date_naive() - Duration::days(7) {
        return Ok(());
    }
    let delay = db::settings(conn)?.post_stay_delay_minutes;
    issue(
        conn,
        NewInvitation {
            template_id: &template,
            customer_id,
            property_id,
            trigger: TriggerKind::PostStay,
            subject: (SubjectKind::Stay, Some(stay_id.to_string())),
            touchpoint: None,
            send_at: now() + Duration::minutes(delay),
        },
    )?
    .ok();
    Ok(())
}

/// A ticket closed: invite its guest to the post-ticket survey at once.
pub(crate) fn invite_after_ticket_in_tx(
    conn: &mut DbConnection,
    ticket_id: &str,
    customer_id: &str,
    property_id: &str,
) -> Result<(), ApiError> {
    let Some(template) = db::template_for(conn, TriggerKind::PostTicket)? else {
        return Ok(());
    };
    issue(
        conn,
        NewInvitation {
            template_id: &template,
            customer_id,
            property_id,
            trigger: TriggerKind::PostTicket,
            subject: (SubjectKind::Ticket, Some(ticket_id.to_string())),
            touchpoint: None,
            send_at: now(),
        },
    )?
    .ok();
    Ok(())
}

/// The request's own checks (no database).
fn check_create(input: &InvitationCreate) -> Result<(Option<String>, SubjectKind), ApiError> {
    let mut c = Checks::new();
    let touchpoint = c.opt_text("touchpoint", input.touchpoint.as_deref(), 40);
    let kind = input.subject_kind.unwrap_or(SubjectKind::None);
    match (kind, &input.subject_id) {
        (SubjectKind::None, Some(_)) => c.fail("subject_id", "needs subject_kind stay or ticket"),
        (SubjectKind::Stay | SubjectKind::Ticket, None) => c.fail("subject_id", "is required for this subject_kind"),
        _ => {}
    }
    if let Some(at) = input.send_at {
        let now = Utc::now();
        if at < now - Duration::days(1) || at > now + Duration::days(90) {
            c.fail("send_at", "must be between a day ago and 90 days ahead");
        }
    }
    c.finish()?;
    Ok((touchpoint, kind))
}

/// The guest, template and subject named exist and belong together; returns the trigger.
fn check_refs_in_tx(
    conn: &mut DbConnection,
    input: &InvitationCreate,
    kind: SubjectKind,
) -> Result<TriggerKind, ApiError> {
    crate::features::properties::ensure_exist(conn, std::slice::from_ref(&input.property_id), "property_id")?;
    if !crate::features::guests::customer_exists(conn, &input.customer_id)? {
        return Err(ApiError::field("customer_id", "unknown guest"));
    }
    let Some((trigger, active)) = db::template_trigger(conn, &input.template_id)? else {
        return Err(ApiError::field("template_id", "unknown template"));
    };
    if !active {
        return Err(ApiError::field("template_id", "the template is not active"));
    }
    if let (SubjectKind::Stay, Some(sid)) = (kind, &input.subject_id) {
        let parties = crate::features::stays::stay_parties(conn, sid)?.map(|p| (p.customer_id, p.property_id));
        if parties != Some((input.customer_id.clone(), input.property_id.clone())) {
            return Err(ApiError::field(
                "subject_id",
                "not a stay of this guest at this property",
            ));
        }
    }
    if let (SubjectKind::Ticket, Some(tid)) = (kind, &input.subject_id) {
        let parties = crate::features::tickets::ticket_parties(conn, tid)?.map(|p| (p.customer_id, p.property_id));
        if parties != Some((Some(input.customer_id.clone()), input.property_id.clone())) {
            return Err(ApiError::field(
                "subject_id",
                "not a ticket of this guest at this property",
            ));
        }
    }
    Ok(TriggerKind::parse(&trigger).unwrap_or(TriggerKind::Manual))
}

fn refused(s: Skipped) -> ApiError {
    match s {
        Skipped::NoConsent => ApiError::Conflict {
            detail: "the guest has not consented to surveys".into(),
            existing_id: None,
        },
        Skipped::OpenForSubject(existing) => ApiError::Conflict {
            detail: "this subject already has an open invitation".into(),
            existing_id: Some(existing).filter(|e| !e.is_empty()),
        },
        Skipped::AlreadySurveyed => ApiError::internal("manual invitations are never skipped as surveyed"),
    }
}

/// Manual and touchpoint invitations (staff, integrations).
pub fn create_invitation(
    conn: &mut DbConnection,
    who: &Principal,
    input: InvitationCreate,
) -> Result<Invitation, ApiError> {
    who.require(Perm::SurveysInvite)?;
    let (touchpoint, kind) = check_create(&input)?;
    if !who.can_access_property(&input.property_id) {
        return Err(ApiError::field("property_id", "unknown property"));
    }
    write_tx(conn, |conn| {
        let trigger = check_refs_in_tx(conn, &input, kind)?;
        let issued = issue_in_tx(
            conn,
            who,
            NewInvitation {
                template_id: &input.template_id,
                customer_id: &input.customer_id,
                property_id: &input.property_id,
                trigger: if trigger == TriggerKind::Touchpoint {
                    TriggerKind::Touchpoint
                } else {
                    TriggerKind::Manual
                },
                subject: (kind, input.subject_id.clone()),
                touchpoint,
                send_at: input.send_at.map(|d| d.naive_utc()).unwrap_or_else(now),
            },
        )?;
        let (id, token) = issued.map_err(refused)?;
        audit::record(
            conn,
            who,
            "survey.invitation_created",
            "customer",
            Some(&input.customer_id),
            json!({"invitation_id": id}),
        )?;
        let r = db::invitation(conn, &id)?.ok_or_else(|| ApiError::internal("invitation vanished"))?;
        Ok(render_inv(
            r,
            who.require(Perm::SurveyLinksIssue).is_ok().then_some(token),
        ))
    })
}
