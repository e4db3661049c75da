//! Searching guests: filters, the text search, keyset pages (unmasked lists audited).

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use serde_json::json;

use super::db::{filter_text, load_records, plan_text, CustomerRow, TextQuery};
use super::render::render;
use super::rules::audits_reads;
use crate::auth::{Perm, PersonalView, Principal};
use crate::db::dialect::{self, TextPlan};
use crate::db::group_commit::Write;
use crate::db::schema::{customer_tags, customers, stays};
use crate::db::{read_tx, Backend, DbConnection, MultiBackend};
use crate::features::audit;
use crate::features::guests::model::*;
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::fields::{normalize_tag, parse_email, parse_phone, Checks};
use crate::platform::page::{self as pagination, Cursor, Order, PageParams};

pub fn list(
    conn: &mut DbConnection,
    cipher: &Cipher,
    who: &Principal,
    f: &CustomerFilter,
    page: &PageParams,
) -> Result<(CustomerPage, Option<Write>), ApiError> {
    who.require(Perm::CustomersRead)?;
    if f.q.is_some() || f.email.is_some() || f.phone.is_some() || f.tag.is_some() {
        who.require_personal_search()?;
    }
    let order = Order::parse(f.sort.as_deref(), Order::Asc)?;
    let cur = page.resolve(order)?;
    let parsed = parse_filter(f)?;
    if let Some(pid) = &f.property_id {
        if !who.can_access_property(pid) {
            return Err(ApiError::not_found("property"));
        }
    }
    let backend = conn.backend();
    let audited = audits_reads(who);
    // Callers who see contact data masked (agents) must not recover it by searching fragments:
    // `q` matches their names only, or a whole email or phone exactly.
    let masked = who.personal_view() == PersonalView::Masked;
    let body = |conn: &mut DbConnection| {
        let plan = match &parsed.q_text {
            Some(text) => Some(plan_text(conn, text)?),
            None => None,
        };
        let query = || {
            let q = filtered(f, &parsed, plan.as_ref(), backend, masked);
            let q = match (order, &cur.after) {
                (Order::Asc, Some(a)) => q.filter(customers::id.gt(a.clone())),
                (Order::Desc, Some(a)) => q.filter(customers::id.lt(a.clone())),
                _ => q,
            };
            match order {
                Order::Asc => q.order(customers::id.asc()),
                Order::Desc => q.order(customers::id.desc()),
            }
        };
        // An `email` or `phone` filter is narrower than any tag: its own index drives.
        let by_contact = parsed.email.is_some() || parsed.phone.is_some();
        let rows = match (&parsed.tag, &plan) {
            // SQLite walks a tag's guests in id order (its planner would read all of a common
            // tag's guests and sort them); a rare `q` or a whole contact is narrower still.
            (
                Some(tag),
                None
                | Some(TextQuery::Substring {
                    plan: TextPlan::Walk, ..
                }),
            ) if dialect::tag_drives_search(backend) && !by_contact => by_tag_chunks(conn, tag, order, &cur, query)?,
            _ => query()
                .select(CustomerRow::as_select())
                .limit(cur.limit + 1)
                .load(conn)?,
        };
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.id);
        let recs = load_records(conn, rows)?;
        let data: Vec<Customer> = recs.iter().map(|r| render(r, who.personal_view(), cipher)).collect();
        Ok(CustomerPage { data, next_cursor })
    };
    let page = read_tx(conn, body)?;
    // Unmasked lists are audited with the ids they showed, committed before the answer.
    let audit = (audited && !page.data.is_empty()).then(|| {
        let ids: Vec<&str> = page.data.iter().map(|c| c.id.as_str()).collect();
        audit::deferred(who, "customer.list_unmasked", "customer", None, json!({"ids": ids}))
    });
    Ok((page, audit))
}

/// The personal-data filters, checked: `q` lower-cased, email, phone and tag normalized.
struct Parsed {
    q_text: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    tag: Option<String>,
}

fn parse_filter(f: &CustomerFilter) -> Result<Parsed, ApiError> {
    let mut c = Checks::new();
    let q_text =
        f.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| c.text("q", s, 1, 100).to_lowercase());
    let email = f.email.as_deref().map(|e| {
        parse_email(e).unwrap_or_else(|m| {
            c.fail("email", m);
            String::new()
        })
    });
    let phone = f.phone.as_deref().map(|p| {
        parse_phone(p).unwrap_or_else(|m| {
            c.fail("phone", m);
            String::new()
        })
    });
    let tag = f.tag.as_deref().map(|t| {
        normalize_tag(t).unwrap_or_else(|m| {
            c.fail("tag", m);
            String::new()
        })
    });
    c.finish()?;
    Ok(Parsed {
        q_text,
        email,
        phone,
        tag,
    })
}

/// How many of a tag's guests `by_tag_chunks` reads at a time: first four per row of the page,
/// then four times as many each time the page is not full yet, up to `TAG_CHUNK_MAX`.
const TAG_CHUNK_MAX: i64 = 4_096;

/// The page's rows when a tag's guests drive the search (SQLite): `query` (every filter, the
/// cursor and the order) runs over the tag's guests a chunk at a time, in page order, until
/// the page is full or the tag has no more guests. A chunk that grows with each miss reads
/// few more guests than the page needs, whether most of the tag's guests match or few do.
fn by_tag_chunks<'a>(
    conn: &mut DbConnection,
    tag: &str,
    order: Order,
    cur: &Cursor,
    query: impl Fn() -> customers::BoxedQuery<'a, MultiBackend>,
) -> QueryResult<Vec<CustomerRow>> {
    let mut after = cur.after.clone();
    let mut rows: Vec<CustomerRow> = Vec::new();
    let mut chunk = (4 * (cur.limit + 1)).min(TAG_CHUNK_MAX);
    loop {
        let mut ids = customer_tags::table
            .filter(customer_tags::tag.eq(tag.to_string()))
            .select(customer_tags::customer_id)
            .limit(chunk)
            .into_boxed();
        ids = match (order, after) {
            (Order::Asc, Some(a)) => ids.filter(customer_tags::customer_id.gt(a)),
            (Order::Desc, Some(a)) => ids.filter(customer_tags::customer_id.lt(a)),
            (_, None) => ids,
        };
        ids = match order {
            Order::Asc => ids.order(customer_tags::customer_id.asc()),
            Order::Desc => ids.order(customer_tags::customer_id.desc()),
        };
        let ids: Vec<String> = ids.load(conn)?;
        let more = ids.len() as i64 == chunk;
        chunk = (chunk * 4).min(TAG_CHUNK_MAX);
        after = ids.last().cloned();
        let wanted = cur.limit + 1 - rows.len() as i64;
        let q = query().filter(customers::id.eq_any(ids));
        rows.extend(
            q.select(CustomerRow::as_select())
                .limit(wanted)
                .load::<CustomerRow>(conn)?,
        );
        if rows.len() as i64 > cur.limit || !more {
            return Ok(rows);
        }
    }
}

/// The query of `f`, unordered and unpaged.
fn filtered<'a>(
    f: &CustomerFilter,
    p: &Parsed,
    plan: Option<&TextQuery>,
    backend: Backend,
    masked: bool,
) -> customers::BoxedQuery<'a, MultiBackend> {
    let mut q = customers::table.into_boxed();
    if let Some(text) = plan {
        q = filter_text(q, text, masked);
    }
    if let Some(e) = &p.email {
        q = q.filter(customers::email_norm.eq(e.clone()));
    }
    if let Some(ph) = &p.phone {
        q = q.filter(customers::phone.eq(ph.clone()));
    }
    if let Some(t) = &p.tag {
        q = q.filter(dialect::customer_has_tag(backend, t));
    }
    if let Some(g) = f.grade {
        // Effective grade: the override wins (indexed as this very expression).
        q = q.filter(coalesce_grade().eq(g.as_str()));
    }
    if let Some(l) = f.lifecycle_stage {
        q = q.filter(customers::lifecycle_stage.eq(l.as_str()));
    }
    if let Some(pid) = &f.property_id {
        q = q.filter(
            customers::id.eq_any(
                stays::table
                    .filter(stays::property_id.eq(pid.clone()))
                    .select(stays::customer_id),
            ),
        );
    }
    q
}

diesel::define_sql_function! {
    /// SQL `coalesce` of two nullable texts.
    fn coalesce(a: Nullable<Text>, b: Text) -> Text;
}

/// A guest's effective grade: the override wins.
fn coalesce_grade() -> coalesce<customers::grade_override, customers::grade> {
    coalesce(customers::grade_override, customers::grade)
}
