//! Reading tickets and timelines (staff and the guest).

use diesel::prelude::*;

use super::db::*;
use super::model::*;
use crate::auth::{Perm, Principal};
use crate::db::schema::tickets as t;
use crate::db::{read_tx, DbConnection};
use crate::features::tickets::config::{self as ticket_config};
use crate::platform::error::ApiError;
use crate::platform::page::{self as pagination, Order, PageParams};

pub fn get(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Ticket, ApiError> {
    who.require(Perm::TicketsRead)?;
    read_tx(conn, |conn| Ok(render(load_for_staff(conn, who, id)?)))
}

/// Newest first, filtered; tickets outside the caller's properties never appear.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    f: &TicketFilter,
    page: &PageParams,
) -> Result<TicketPage, ApiError> {
    who.require(Perm::TicketsRead)?;
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let mut q = t::table
            .select(t::all_columns)
            .order(t::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(scope) = who.property_scope() {
            q = q.filter(t::property_id.eq_any(scope.to_vec()));
        }
        if let Some(p) = &f.property_id {
            q = q.filter(t::property_id.eq(p.clone()));
        }
        if let Some(s) = f.state {
            q = q.filter(t::state.eq(s.as_str()));
        }
        if let Some(s) = f.severity {
            q = q.filter(t::severity.eq(s.as_str()));
        }
        if let Some(c) = &f.category {
            q = q.filter(t::category.eq(c.clone()));
        }
        if let Some(k) = f.kind {
            q = q.filter(t::kind.eq(k.as_str()));
        }
        if let Some(ch) = f.channel {
            q = q.filter(t::channel.eq(ch.as_str()));
        }
        if let Some(o) = &f.owner_id {
            q = q.filter(t::owner_id.eq(o.clone()));
        }
        if let Some(cid) = &f.customer_id {
            q = q.filter(t::customer_id.eq(cid.clone()));
        }
        match f.breached {
            Some(true) => {
                q = q.filter(
                    t::first_response_breached_at
                        .is_not_null()
                        .or(t::resolution_breached_at.is_not_null()),
                )
            }
            Some(false) => {
                q = q.filter(
                    t::first_response_breached_at
                        .is_null()
                        .and(t::resolution_breached_at.is_null()),
                )
            }
            None => {}
        }
        if let Some(d) = f.due_before {
            let d = d.naive_utc();
            q = q.filter(t::state.ne_all(vec!["resolved", "closed"])).filter(
                (t::first_responded_at.is_null().and(t::first_response_due_at.lt(d))).or(t::resolution_due_at.lt(d)),
            );
        }
        if let Some(a) = &cur.after {
            q = q.filter(t::id.lt(a.clone()));
        }
        let rows: Vec<TicketRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        Ok(TicketPage {
            data: rows.into_iter().map(render).collect(),
            next_cursor,
        })
    })
}

/// Oldest first: the ticket's story in order.
pub fn timeline(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    f: &TimelineFilter,
    page: &PageParams,
) -> Result<TimelinePage, ApiError> {
    who.require(Perm::TicketsRead)?;
    read_tx(conn, |conn| {
        load_for_staff(conn, who, id)?;
        timeline_page(conn, id, false, f, page)
    })
}

pub fn get_mine(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<MyTicket, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    read_tx(conn, |conn| {
        let r = load_for_guest(conn, &customer_id, id)?;
        let window = ticket_config::settings(conn)?.reopen_window_days;
        Ok(render_mine(r, window))
    })
}

pub fn list_mine(conn: &mut DbConnection, who: &Principal, page: &PageParams) -> Result<MyTicketPage, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let window = ticket_config::settings(conn)?.reopen_window_days;
        let mut q = t::table
            .filter(t::customer_id.eq(&customer_id))
            .select(t::all_columns)
            .order(t::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(a) = &cur.after {
            q = q.filter(t::id.lt(a.clone()));
        }
        let rows: Vec<TicketRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        Ok(MyTicketPage {
            data: rows.into_iter().map(|r| render_mine(r, window)).collect(),
            next_cursor,
        })
    })
}

/// Customer-visible entries only.
pub fn timeline_mine(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    f: &TimelineFilter,
    page: &PageParams,
) -> Result<TimelinePage, ApiError> {
    let customer_id = who.require_customer()?.to_string();
    read_tx(conn, |conn| {
        load_for_guest(conn, &customer_id, id)?;
        timeline_page(conn, id, true, f, page)
    })
}
