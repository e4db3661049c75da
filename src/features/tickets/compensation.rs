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
use crate::auth::{Actor, Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{properties, ticket_compensations as tc, tickets as t};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::features::loyalty::ledger as loyalty;
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

type Row = (
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
fn cols() -> (
    tc::id,
    tc::ticket_id,
    tc::kind,
    tc::amount_minor,
    tc::currency,
    tc::points,
    tc::note,
    tc::state,
    tc::offered_by_kind,
    tc::offered_by_id,
    tc::decided_by_id,
    tc::decided_at,
    tc::decision_note,
    tc::ledger_entry_id,
    tc::created_at,
) {
    (
        tc::id,
        tc::ticket_id,
        tc::kind,
        tc::amount_minor,
        tc::currency,
        tc::points,
        tc::note,
        tc::state,
        tc::offered_by_kind,
        tc::offered_by_id,
        tc::decided_by_id,
        tc::decided_at,
        tc::decision_note,
        tc::ledger_entry_id,
        tc::created_at,
    )
}

fn render(r: Row) -> Compensation {
    Compensation {
        id: r.0,
        ticket_id: r.1,
        kind: CompensationKind::parse(&r.2).unwrap_or(CompensationKind::Apology),
        amount: match (r.3, &r.4) {
            (Some(a), Some(c)) => Some(from_minor(a, c)),
            _ => None,
        },
        points: r.5,
        note: r.6,
        state: CompensationState::parse(&r.7).unwrap_or(CompensationState::PendingApproval),
        offered_by: match &r.9 {
            Some(id) => format!("{}:{id}", r.8),
            None => r.8.clone(),
        },
        decided_by: r.10,
        decided_at: r.11.map(|d| d.and_utc()),
        decision_note: r.12,
        ledger_entry_id: r.13,
        created_at: r.14.and_utc(),
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
        .select(cols())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("compensation"))
}

/// The ticket's property, guest and currency, if the caller may see it.
fn ticket_ctx(
    conn: &mut DbConnection,
    who: &Principal,
    ticket_id: &str,
) -> Result<(String, Option<String>, String), ApiError> {
    let r: Option<(String, Option<String>)> = t::table
        .find(ticket_id)
        .select((t::property_id, t::customer_id))
        .first(conn)
        .optional()?;
    let Some((property_id, customer_id)) = r.filter(|r| who.can_access_property(&r.0)) else {
        return Err(ApiError::not_found("ticket"));
    };
    let currency: String = properties::table
        .find(&property_id)
        .select(properties::currency)
        .first(conn)?;
    Ok((property_id, customer_id, currency))
}

/// Posts the points of an approved compensation, once (the ledger's idempotency key).
fn settle(
    conn: &mut DbConnection,
    who: &Principal,
    comp_id: &str,
    ticket_id: &str,
    property_id: &str,
    customer_id: &str,
    points: i64,
) -> Result<String, ApiError> {
    let (entry, _) = loyalty::post_compensation(conn, who, customer_id, points, ticket_id, property_id, comp_id)?;
    diesel::update(tc::table.find(comp_id))
        .set(tc::ledger_entry_id.eq(&entry.id))
        .execute(conn)?;
    Ok(entry.id)
}

#[expect(
    clippy::too_many_lines,
    reason = "not yet split: issue #12 leaves these four over 80 lines"
)]
pub fn offer(
    conn: &mut DbConnection,
    who: &Principal,
    ticket_id: &str,
    input: CompensationOffer,
) -> Result<Compensation, ApiError> {
    who.require(Perm::TicketsWrite)?;
    if !matches!(who.actor, Actor::Staff(_)) {
        return Err(ApiError::Forbidden("only staff may offer compensation".into()));
    }
    write_tx(conn, |conn| {
        let (property_id, customer_id, currency) = ticket_ctx(conn, who, ticket_id)?;
        tickets::lock_in_tx(conn, ticket_id)?;
        let mut c = Checks::new();
        let note = c.text("note", &input.note, 1, 2000);
        let amount = input
            .amount
            .as_ref()
            .and_then(|m| to_minor(&mut c, "amount", m, Some(&currency)));
        use CompensationKind::*;
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
            (Points, Some(_)) if customer_id.is_none() => c.fail(
                "kind",
                "points need the ticket's guest; link the ticket to a guest first",
            ),
            (Points, Some(_)) => {}
            (_, Some(_)) => c.fail("points", "only for points compensation"),
            _ => {}
        }
        c.finish()?;
        let cur = amount.map(|_| currency.as_str());
        use CompensationState::{Approved, PendingApproval};
        let auto = total_within(
            conn,
            who,
            (amount, cur, input.points),
            ticket_id,
            &[Approved, PendingApproval],
            None,
        )?;
        let id = new_id();
        let at = now();
        let state = if auto {
            CompensationState::Approved
        } else {
            CompensationState::PendingApproval
        };
        diesel::insert_into(tc::table)
            .values((
                tc::id.eq(&id),
                tc::ticket_id.eq(ticket_id),
                tc::kind.eq(input.kind.as_str()),
                tc::amount_minor.eq(amount),
                tc::currency.eq(cur),
                tc::points.eq(input.points),
                tc::note.eq(&note),
                tc::state.eq(state.as_str()),
                tc::offered_by_kind.eq(who.actor_kind()),
                tc::offered_by_id.eq(Some(who.actor_id())),
                tc::decided_by_id.eq(auto.then(|| who.actor_id())),
                tc::decided_at.eq(auto.then_some(at)),
                tc::decision_note.eq(auto.then_some("within the offerer's limit")),
                tc::created_at.eq(at),
            ))
            .execute(conn)?;
        let mut ledger = None;
        if let (true, Some(p), Some(cid)) = (auto, input.points, &customer_id) {
            ledger = Some(settle(conn, who, &id, ticket_id, &property_id, cid, p)?);
        }
        tickets::record_compensation_in_tx(
            conn,
            who,
            ticket_id,
            json!({"compensation_id": id, "event": if auto { "approved" } else { "offered" }, "kind": input.kind.as_str(),
                   "amount": input.amount, "points": input.points, "ledger_entry_id": ledger}),
            auto,
            at,
        )?;
        audit::record(
            conn,
            who,
            "ticket.compensation_offered",
            "ticket",
            Some(ticket_id),
            json!({"compensation_id": id, "state": state.as_str()}),
        )?;
        let ev = NewEvent::new("compensation.offered", "compensation", &id).property(property_id.as_str());
        outbox::emit_in_tx(
            conn,
            who,
            ev.data(json!({"ticket_id": ticket_id, "state": state.as_str()})),
        )?;
        Ok(render(load(conn, &id)?))
    })
}

/// Approves a pending offer. The approver's limit must cover it and the approver must not be
/// the one who offered it. Approving an approved compensation again changes nothing and
/// answers it as it is (retries are safe); a rejected one answers 409.
pub fn approve(conn: &mut DbConnection, who: &Principal, id: &str, d: Decision) -> Result<Compensation, ApiError> {
    decide(conn, who, id, d, true)
}

pub fn reject(conn: &mut DbConnection, who: &Principal, id: &str, d: Decision) -> Result<Compensation, ApiError> {
    decide(conn, who, id, d, false)
}

#[expect(
    clippy::too_many_lines,
    reason = "not yet split: issue #12 leaves these four over 80 lines"
)]
fn decide(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    d: Decision,
    approve: bool,
) -> Result<Compensation, ApiError> {
    who.require(Perm::CompensationApprove)?;
    let mut c = Checks::new();
    let note = c.opt_text("note", d.note.as_deref(), 2000);
    c.finish()?;
    write_tx(conn, |conn| {
        let r = load(conn, id)?;
        let (property_id, customer_id, _) =
            ticket_ctx(conn, who, &r.1).map_err(|_| ApiError::not_found("compensation"))?;
        tickets::lock_in_tx(conn, &r.1)?;
        let r = load(conn, id)?;
        let state = CompensationState::parse(&r.7).unwrap_or(CompensationState::PendingApproval);
        let wanted = if approve {
            CompensationState::Approved
        } else {
            CompensationState::Rejected
        };
        if state == wanted {
            return Ok(render(r));
        }
        if state != CompensationState::PendingApproval {
            return Err(ApiError::Conflict {
                detail: format!("the compensation is already {}", state.as_str()),
                existing_id: None,
            });
        }
        if r.9.as_deref() == Some(who.actor_id()) {
            return Err(ApiError::Forbidden(
                "compensation above your limit needs someone else's approval".into(),
            ));
        }
        // The approver's limit must cover what the ticket has been granted with this offer.
        let offer = (r.3, r.4.as_deref(), r.5);
        if approve && !total_within(conn, who, offer, &r.1, &[CompensationState::Approved], Some(id))? {
            return Err(ApiError::Forbidden(
                "the ticket's approved compensation with this offer is above your approval limit; an admin must approve it"
                    .into(),
            ));
        }
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
        let mut ledger = None;
        if let (true, Some(p), Some(cid)) = (approve, r.5, &customer_id) {
            ledger = Some(settle(conn, who, id, &r.1, &property_id, cid, p)?);
        }
        tickets::record_compensation_in_tx(
            conn,
            who,
            &r.1,
            // Approved: shown to the guest, so without the approver's note (it stays on the offer).
            if approve {
                json!({"compensation_id": id, "event": wanted.as_str(), "kind": r.2, "points": r.5, "ledger_entry_id": ledger})
            } else {
                json!({"compensation_id": id, "event": wanted.as_str(), "kind": r.2, "points": r.5, "note": note})
            },
            approve,
            at,
        )?;
        audit::record(
            conn,
            who,
            if approve {
                "ticket.compensation_approved"
            } else {
                "ticket.compensation_rejected"
            },
            "ticket",
            Some(&r.1),
            json!({"compensation_id": id, "points": r.5, "amount_minor": r.3, "currency": r.4}),
        )?;
        let kind = if approve {
            "compensation.approved"
        } else {
            "compensation.rejected"
        };
        let ev = NewEvent::new(kind, "compensation", id).property(property_id.as_str());
        outbox::emit_in_tx(
            conn,
            who,
            ev.data(json!({"ticket_id": r.1, "points": r.5, "amount_minor": r.3, "currency": r.4})),
        )?;
        Ok(render(load(conn, id)?))
    })
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
            .select(cols())
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
            .select(cols())
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
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.0);
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
