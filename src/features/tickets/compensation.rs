//! Compensation on tickets (SPEC §4): apology, refund, voucher, upgrade or points. Limits apply
//! to the ticket's running total per unit (money in one currency, or points), so splitting one
//! large compensation into small offers gains nothing: an offer is approved at once when what the
//! ticket already has approved or pending plus the offer is within the offerer's limit; otherwise
//! it waits for someone whose limit covers the ticket's approved total with it (never the
//! offerer). The ticket's row lock serialises offers and decisions on one ticket. Approved points post one `compensation` ledger entry, keyed by
//! the compensation's id, so a retried approval cannot post twice.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::auth::limits::compensation_limit;
use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{ticket_compensations as tc, tickets as t};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::features::loyalty::ledger as loyalty;
use crate::features::properties;
use crate::features::tickets::config::{self as ticket_config, Limit};
use crate::features::tickets::service as tickets;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};
use crate::platform::money::{from_minor, minor_digits, to_minor, Money};
use crate::platform::page::{self as pagination, Order, Page, PageItem, PageParams};

string_enum!(CompensationKind { Apology => "apology", Refund => "refund", Voucher => "voucher", Upgrade => "upgrade", Points => "points" });
string_enum!(CompensationState { PendingApproval => "pending_approval", Approved => "approved", Rejected => "rejected" });

#[derive(Debug, Serialize, ToSchema)]
pub struct Compensation {
    pub id: String,
    pub ticket_id: String,
    pub kind: CompensationKind,
    /// Refunds, vouchers and (optionally) upgrades: their value in the property's currency.
    pub amount: Option<Money>,
    /// Points compensation.
    pub points: Option<i64>,
    pub note: String,
    pub state: CompensationState,
    pub offered_by: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    /// The ledger entry an approved points compensation posted.
    pub ledger_entry_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub type CompensationPage = Page<Compensation>;

impl PageItem for Compensation {
    const PAGE: &'static str = "CompensationPage";
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompensationOffer {
    pub kind: CompensationKind,
    /// Required for `refund` and `voucher`, optional for `upgrade`, absent otherwise; in the
    /// property's currency.
    pub amount: Option<Money>,
    /// Required for `points` (1 to 1,000,000), absent otherwise.
    pub points: Option<i64>,
    #[schema(example = "Two nights' minibar refunded", min_length = 1, max_length = 2000)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompensationFilter {
    /// e.g. `pending_approval` for the approval queue.
    pub state: Option<CompensationState>,
    pub property_id: Option<String>,
}

/// One `ticket_compensations` row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = tc)]
struct Row {
    id: String,
    ticket_id: String,
    kind: String,
    amount_minor: Option<i64>,
    currency: Option<String>,
    points: Option<i64>,
    note: String,
    state: String,
    offered_by_kind: String,
    offered_by_id: Option<String>,
    decided_by_id: Option<String>,
    decided_at: Option<NaiveDateTime>,
    decision_note: Option<String>,
    ledger_entry_id: Option<String>,
    created_at: NaiveDateTime,
}

impl Row {
    fn state(&self) -> CompensationState {
        CompensationState::parse(&self.state).unwrap_or(CompensationState::PendingApproval)
    }
}

fn render(r: Row) -> Compensation {
    Compensation {
        kind: CompensationKind::parse(&r.kind).unwrap_or(CompensationKind::Apology),
        amount: match (r.amount_minor, &r.currency) {
            (Some(a), Some(c)) => Some(from_minor(a, c)),
            _ => None,
        },
        state: r.state(),
        offered_by: match &r.offered_by_id {
            Some(id) => format!("{}:{id}", r.offered_by_kind),
            None => r.offered_by_kind.clone(),
        },
        id: r.id,
        ticket_id: r.ticket_id,
        points: r.points,
        note: r.note,
        decided_by: r.decided_by_id,
        decided_at: r.decided_at.map(|d| d.and_utc()),
        decision_note: r.decision_note,
        ledger_entry_id: r.ledger_entry_id,
        created_at: r.created_at.and_utc(),
    }
}

/// Whether a total (money in minor units of `currency`, points) is within `limit`; `None` = no
/// limit. Totals are i128: a sum of i64 values cannot overflow them.
fn within(limit: Option<Limit>, amount_minor: Option<i128>, currency: Option<&str>, points: Option<i128>) -> bool {
    let Some(l) = limit else { return true };
    let money_ok = match (amount_minor, currency) {
        (Some(a), Some(c)) => {
            let scale = 10i128.pow(minor_digits(c));
            a <= (l.money as i128) * scale
        }
        _ => true,
    };
    money_ok && points.is_none_or(|p| p <= l.points as i128)
}

/// A ticket's compensation so far in the states given (but `except`): money in `currency`
/// (minor units) and points. A ticket has a handful of offers: summed here, not in SQL.
fn total(
    conn: &mut DbConnection,
    ticket_id: &str,
    currency: Option<&str>,
    states: &[CompensationState],
    except: Option<&str>,
) -> Result<(i128, i128), ApiError> {
    let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    let rows: Vec<Granted> = tc::table
        .filter(tc::ticket_id.eq(ticket_id))
        .filter(tc::state.eq_any(states))
        .select(Granted::as_select())
        .load(conn)?;
    let mut sum = (0i128, 0i128);
    for g in rows.iter().filter(|g| Some(g.id.as_str()) != except) {
        if g.currency.as_deref() == currency {
            sum.0 += g.amount_minor.unwrap_or(0) as i128;
        }
        sum.1 += g.points.unwrap_or(0) as i128;
    }
    Ok(sum)
}

/// What one compensation grants, for the ticket's totals.
#[derive(Queryable, Selectable)]
#[diesel(table_name = tc)]
struct Granted {
    id: String,
    amount_minor: Option<i64>,
    currency: Option<String>,
    points: Option<i64>,
}

/// Whether the ticket's total in the offer's unit, with the offer, is within `who`'s limit.
fn total_within(
    conn: &mut DbConnection,
    who: &Principal,
    offer: (Option<i64>, Option<&str>, Option<i64>),
    ticket_id: &str,
    counted: &[CompensationState],
    except: Option<&str>,
) -> Result<bool, ApiError> {
    let (amount, currency, points) = offer;
    let limit = compensation_limit(who, &ticket_config::settings(conn)?.compensation_limits);
    if limit.is_none() {
        return Ok(true);
    }
    let (money_so_far, points_so_far) = total(conn, ticket_id, currency, counted, except)?;
    Ok(within(
        limit,
        amount.map(|a| money_so_far + a as i128),
        currency,
        points.map(|p| points_so_far + p as i128),
    ))
}

fn load(conn: &mut DbConnection, id: &str) -> Result<Row, ApiError> {
    tc::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("compensation"))
}

/// The ticket a compensation belongs to, as its rules need it.
struct TicketCtx {
    id: String,
    property_id: String,
    customer_id: Option<String>,
    currency: String,
}

/// The ticket's property, guest and currency, if the caller may see it.
fn ticket_ctx(conn: &mut DbConnection, who: &Principal, ticket_id: &str) -> Result<TicketCtx, ApiError> {
    #[derive(Queryable, Selectable)]
    #[diesel(table_name = t)]
    struct Found {
        property_id: String,
        customer_id: Option<String>,
    }
    let found: Option<Found> = t::table
        .find(ticket_id)
        .select(Found::as_select())
        .first(conn)
        .optional()?;
    let Some(found) = found.filter(|f| who.can_access_property(&f.property_id)) else {
        return Err(ApiError::not_found("ticket"));
    };
    let currency = properties::basics(conn, &found.property_id)?
        .ok_or_else(|| ApiError::not_found("ticket"))?
        .currency;
    Ok(TicketCtx {
        id: ticket_id.to_string(),
        property_id: found.property_id,
        customer_id: found.customer_id,
        currency,
    })
}

/// Posts the points of an approved compensation, once (the ledger's idempotency key).
fn settle(
    conn: &mut DbConnection,
    who: &Principal,
    comp_id: &str,
    ticket: &TicketCtx,
    points: i64,
) -> Result<Option<String>, ApiError> {
    let Some(customer_id) = &ticket.customer_id else {
        return Ok(None);
    };
    let (entry, _) =
        loyalty::post_compensation(conn, who, customer_id, points, &ticket.id, &ticket.property_id, comp_id)?;
    diesel::update(tc::table.find(comp_id))
        .set(tc::ledger_entry_id.eq(&entry.id))
        .execute(conn)?;
    Ok(Some(entry.id))
}

/// An offer's fields, checked: its note and its amount in minor units of the property's currency.
struct CheckedOffer {
    note: String,
    amount: Option<i64>,
}

/// The offer's fields against its kind (SPEC §4); `has_guest`: points need the ticket's guest.
fn check_offer(input: &CompensationOffer, currency: &str, has_guest: bool) -> Result<CheckedOffer, ApiError> {
    use CompensationKind::*;
    let mut c = Checks::new();
    let note = c.text("note", &input.note, 1, 2000);
    let amount = input
        .amount
        .as_ref()
        .and_then(|m| to_minor(&mut c, "amount", m, Some(currency)));
    match input.kind {
        Refund | Voucher if input.amount.is_none() => c.fail("amount", "is required for a refund or voucher"),
        Apology | Points if input.amount.is_some() => c.fail("amount", "must be absent for this kind"),
        _ => {}
    }
    if amount.is_some_and(|a| a <= 0) {
        c.fail("amount.amount", "must be positive");
    }
    match (input.kind, input.points) {
        (Points, None) => c.fail("points", "is required for points compensation"),
        (Points, Some(p)) if !(1..=1_000_000).contains(&p) => c.fail("points", "must be between 1 and 1,000,000"),
        (Points, Some(_)) if !has_guest => c.fail(
            "kind",
            "points need the ticket's guest; link the ticket to a guest first",
        ),
        (Points, Some(_)) => {}
        (_, Some(_)) => c.fail("points", "only for points compensation"),
        _ => {}
    }
    c.finish()?;
    Ok(CheckedOffer { note, amount })
}

/// Offers compensation on a ticket: approved at once within the offerer's limit (points post
/// then), otherwise pending someone else's approval.
pub fn offer(
    conn: &mut DbConnection,
    who: &Principal,
    ticket_id: &str,
    input: CompensationOffer,
) -> Result<Compensation, ApiError> {
    who.require(Perm::CompensationOffer)?;
    write_tx(conn, |conn| {
        let ticket = ticket_ctx(conn, who, ticket_id)?;
        tickets::lock_in_tx(conn, ticket_id)?;
        let checked = check_offer(&input, &ticket.currency, ticket.customer_id.is_some())?;
        let currency = checked.amount.map(|_| ticket.currency.as_str());
        use CompensationState::{Approved, PendingApproval};
        let counted = [Approved, PendingApproval];
        let offer = (checked.amount, currency, input.points);
        let auto = total_within(conn, who, offer, ticket_id, &counted, None)?;
        let state = if auto { Approved } else { PendingApproval };
        let (id, at) = (new_id(), now());
        diesel::insert_into(tc::table)
            .values((
                tc::id.eq(&id),
                tc::ticket_id.eq(ticket_id),
                tc::kind.eq(input.kind.as_str()),
                tc::amount_minor.eq(checked.amount),
                tc::currency.eq(currency),
                tc::points.eq(input.points),
                tc::note.eq(&checked.note),
                tc::state.eq(state.as_str()),
                tc::offered_by_kind.eq(who.actor_kind()),
                tc::offered_by_id.eq(Some(who.actor_id())),
                tc::decided_by_id.eq(auto.then(|| who.actor_id())),
                tc::decided_at.eq(auto.then_some(at)),
                tc::decision_note.eq(auto.then_some("within the offerer's limit")),
                tc::created_at.eq(at),
            ))
            .execute(conn)?;
        let ledger = match (auto, input.points) {
            (true, Some(p)) => settle(conn, who, &id, &ticket, p)?,
            _ => None,
        };
        let timeline = json!({"compensation_id": id, "event": if auto { "approved" } else { "offered" },
            "kind": input.kind.as_str(), "amount": input.amount, "points": input.points, "ledger_entry_id": ledger});
        tickets::record_compensation_in_tx(conn, who, ticket_id, timeline, auto, at)?;
        let audit_data = json!({"compensation_id": id, "state": state.as_str()});
        audit::record(
            conn,
            who,
            "ticket.compensation_offered",
            "ticket",
            Some(ticket_id),
            audit_data,
        )?;
        let ev = NewEvent::new("compensation.offered", "compensation", &id).property(ticket.property_id.as_str());
        let data = json!({"ticket_id": ticket_id, "state": state.as_str()});
        outbox::emit_in_tx(conn, who, ev.data(data))?;
        Ok(render(load(conn, &id)?))
    })
}

/// Approves a pending offer. The approver's limit must cover it and the approver must not be
/// the one who offered it. Approving an approved compensation again changes nothing and
/// answers it as it is (retries are safe); a rejected one answers 409.
pub fn approve(conn: &mut DbConnection, who: &Principal, id: &str, d: Decision) -> Result<Compensation, ApiError> {
    decide(conn, who, id, d, CompensationState::Approved)
}

pub fn reject(conn: &mut DbConnection, who: &Principal, id: &str, d: Decision) -> Result<Compensation, ApiError> {
    decide(conn, who, id, d, CompensationState::Rejected)
}

fn decide(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    d: Decision,
    wanted: CompensationState,
) -> Result<Compensation, ApiError> {
    who.require(Perm::CompensationApprove)?;
    let mut c = Checks::new();
    let note = c.opt_text("note", d.note.as_deref(), 2000);
    c.finish()?;
    write_tx(conn, |conn| {
        let ticket_id = load(conn, id)?.ticket_id;
        let ticket = ticket_ctx(conn, who, &ticket_id).map_err(|_| ApiError::not_found("compensation"))?;
        tickets::lock_in_tx(conn, &ticket_id)?;
        let r = load(conn, id)?;
        if r.state() == wanted {
            return Ok(render(r));
        }
        check_decidable(conn, who, &r, wanted)?;
        let at = now();
        // Claim the decision: only one concurrent approver gets past this.
        let claimed = diesel::update(
            tc::table
                .find(id)
                .filter(tc::state.eq(CompensationState::PendingApproval.as_str())),
        )
        .set((
            tc::state.eq(wanted.as_str()),
            tc::decided_by_id.eq(Some(who.actor_id())),
            tc::decided_at.eq(Some(at)),
            tc::decision_note.eq(&note),
        ))
        .execute(conn)?;
        if claimed == 0 {
            return Ok(render(load(conn, id)?));
        }
        let approved = wanted == CompensationState::Approved;
        let ledger = match (approved, r.points) {
            (true, Some(p)) => settle(conn, who, id, &ticket, p)?,
            _ => None,
        };
        record_decision(conn, who, &r, &ticket, wanted, (note.as_deref(), ledger, at))?;
        Ok(render(load(conn, id)?))
    })
}

/// Whether `who` may take a pending offer to `wanted`: not decided yet, not their own offer,
/// and (approving) within their limit with what the ticket has been granted.
fn check_decidable(
    conn: &mut DbConnection,
    who: &Principal,
    r: &Row,
    wanted: CompensationState,
) -> Result<(), ApiError> {
    if r.state() != CompensationState::PendingApproval {
        return Err(ApiError::Conflict {
            detail: format!("the compensation is already {}", r.state().as_str()),
            existing_id: None,
        });
    }
    if r.offered_by_id.as_deref() == Some(who.actor_id()) {
        return Err(ApiError::Forbidden(
            "compensation above your limit needs someone else's approval".into(),
        ));
    }
    let offer = (r.amount_minor, r.currency.as_deref(), r.points);
    let approved = [CompensationState::Approved];
    if wanted == CompensationState::Approved && !total_within(conn, who, offer, &r.ticket_id, &approved, Some(&r.id))? {
        return Err(ApiError::Forbidden(
            "the ticket's approved compensation with this offer is above your approval limit; an admin must approve it"
                .into(),
        ));
    }
    Ok(())
}

/// The decision's timeline entry, audit row and event: `(note, ledger entry, at)`.
fn record_decision(
    conn: &mut DbConnection,
    who: &Principal,
    r: &Row,
    ticket: &TicketCtx,
    wanted: CompensationState,
    (note, ledger, at): (Option<&str>, Option<String>, NaiveDateTime),
) -> Result<(), ApiError> {
    let approved = wanted == CompensationState::Approved;
    let (id, event) = (&r.id, wanted.as_str());
    // Approved: shown to the guest, so without the approver's note (it stays on the offer).
    let timeline = if approved {
        json!({"compensation_id": id, "event": event, "kind": r.kind, "points": r.points, "ledger_entry_id": ledger})
    } else {
        json!({"compensation_id": id, "event": event, "kind": r.kind, "points": r.points, "note": note})
    };
    tickets::record_compensation_in_tx(conn, who, &ticket.id, timeline, approved, at)?;
    let (action, kind) = if approved {
        ("ticket.compensation_approved", "compensation.approved")
    } else {
        ("ticket.compensation_rejected", "compensation.rejected")
    };
    let amounts =
        json!({"compensation_id": id, "points": r.points, "amount_minor": r.amount_minor, "currency": r.currency});
    audit::record(conn, who, action, "ticket", Some(&ticket.id), amounts)?;
    let ev = NewEvent::new(kind, "compensation", id).property(ticket.property_id.as_str());
    let data =
        json!({"ticket_id": ticket.id, "points": r.points, "amount_minor": r.amount_minor, "currency": r.currency});
    outbox::emit_in_tx(conn, who, ev.data(data))?;
    Ok(())
}

pub fn list_for_ticket(
    conn: &mut DbConnection,
    who: &Principal,
    ticket_id: &str,
) -> Result<Vec<Compensation>, ApiError> {
    who.require(Perm::TicketsRead)?;
    read_tx(conn, |conn| {
        ticket_ctx(conn, who, ticket_id)?;
        let rows: Vec<Row> = tc::table
            .filter(tc::ticket_id.eq(ticket_id))
            .select(Row::as_select())
            .order(tc::id)
            .load(conn)?;
        Ok(rows.into_iter().map(render).collect())
    })
}

/// Compensation across the caller's properties, newest first (e.g. the approval queue).
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    f: &CompensationFilter,
    page: &PageParams,
) -> Result<CompensationPage, ApiError> {
    who.require(Perm::CompensationApprove)?;
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let mut q = tc::table
            .inner_join(t::table)
            .select(Row::as_select())
            .order(tc::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(scope) = who.property_scope() {
            q = q.filter(t::property_id.eq_any(scope.to_vec()));
        }
        if let Some(p) = &f.property_id {
            q = q.filter(t::property_id.eq(p.clone()));
        }
        if let Some(s) = f.state {
            q = q.filter(tc::state.eq(s.as_str()));
        }
        if let Some(a) = &cur.after {
            q = q.filter(tc::id.lt(a.clone()));
        }
        let rows: Vec<Row> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        Ok(CompensationPage {
            data: rows.into_iter().map(render).collect(),
            next_cursor,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_compare_whole_units_in_any_currency() {
        let agent = Some(Limit {
            money: 500,
            points: 2000,
        });
        assert!(within(agent, Some(50_000), Some("CNY"), None), "500.00 CNY");
        assert!(!within(agent, Some(50_001), Some("CNY"), None), "500.01 CNY");
        assert!(within(agent, Some(500), Some("JPY"), None), "500 JPY (no minor unit)");
        assert!(!within(agent, Some(501), Some("JPY"), None));
        assert!(within(agent, None, None, Some(2000)));
        assert!(!within(agent, None, None, Some(2001)));
        assert!(
            !within(agent, None, None, Some(2 * i64::MAX as i128)),
            "totals beyond i64 compare without overflow"
        );
        assert!(
            within(None, Some(i64::MAX as i128), Some("CNY"), Some(i64::MAX as i128)),
            "admins: no limit"
        );
    }
}
