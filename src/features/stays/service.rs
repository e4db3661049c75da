//! Stays and spend pushed by PMS/POS integrations (SPEC §6.1): upsert by the property's own
//! keys (confirmation number, spend line id), a stay state machine, batch pushes with a result
//! per item. Loyalty earning on check-out builds on this (issue 3, next slice).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Perm, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{customer_external_refs, customers, properties, spend_lines, stays};
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::audit;
use crate::features::guests::model::ExternalRef;
pub use crate::features::loyalty::programme::Outlet;
use crate::platform::error::{ApiError, Problem};
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};
use crate::platform::money::{from_minor, to_minor, Money};
use crate::platform::page::{self as pagination, Order, Page, PageItem, PageParams};

string_enum!(StayStatus { Reserved => "reserved", InHouse => "in_house", CheckedOut => "checked_out", Cancelled => "cancelled", NoShow => "no_show" });

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

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stay {
    pub id: String,
    pub property_id: String,
    pub customer_id: String,
    pub confirmation_number: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub nights: i32,
    pub room_type: Option<String>,
    pub room_number: Option<String>,
    /// Nightly rate.
    pub rate: Option<Money>,
    pub status: StayStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub type StayPage = Page<Stay>;

impl PageItem for Stay {
    const PAGE: &'static str = "StayPage";
}

/// A stay as the PMS knows it. Upserted by `(property_id, confirmation_number)`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StayInput {
    pub property_id: String,
    #[schema(example = "CNF-88231", min_length = 1, max_length = 64)]
    pub confirmation_number: String,
    /// The guest: `customer_id`, or `customer_ref` (the PMS profile id, upserted beforehand
    /// with `PUT /api/v1/customers/external/{system}/{external_id}`).
    pub customer_id: Option<String>,
    pub customer_ref: Option<ExternalRef>,
    pub check_in: NaiveDate,
    /// On or after `check_in` (equal for day use).
    pub check_out: NaiveDate,
    #[schema(example = "deluxe_king", max_length = 64)]
    pub room_type: Option<String>,
    #[schema(example = "1208", max_length = 16)]
    pub room_number: Option<String>,
    /// Nightly rate, in the property's currency.
    pub rate: Option<Money>,
    /// Defaults to `reserved` for a new stay, unchanged for a known one.
    pub status: Option<StayStatus>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StayPatch {
    pub status: Option<StayStatus>,
    pub check_in: Option<NaiveDate>,
    pub check_out: Option<NaiveDate>,
    #[schema(max_length = 64)]
    pub room_type: Option<String>,
    #[schema(max_length = 16)]
    pub room_number: Option<String>,
    pub rate: Option<Money>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StayBatch {
    /// 1–1,000 stays; each is applied on its own (one failing item does not undo the others).
    #[schema(min_items = 1, max_items = 1000)]
    pub items: Vec<StayInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StayBatchItem {
    pub index: usize,
    /// 201 created, 200 updated, or the 4xx the item alone would have got.
    pub status: u16,
    pub stay_id: Option<String>,
    pub error: Option<Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StayBatchResult {
    pub created: usize,
    pub updated: usize,
    pub failed: usize,
    pub results: Vec<StayBatchItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpendLine {
    pub id: String,
    pub property_id: String,
    pub external_id: String,
    pub customer_id: String,
    pub stay_id: Option<String>,
    pub outlet: Outlet,
    /// Negative for refunds and voids.
    pub amount: Money,
    pub spent_on: NaiveDate,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A POS/PMS charge. Upserted by `(property_id, external_id)`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendInput {
    pub property_id: String,
    /// The line's id in the POS/PMS.
    #[schema(example = "POS-2026-000123", min_length = 1, max_length = 64)]
    pub external_id: String,
    /// The stay it was charged to (by id or by confirmation number); or, for a charge outside
    /// a stay, the guest.
    pub stay_id: Option<String>,
    pub confirmation_number: Option<String>,
    pub customer_id: Option<String>,
    pub outlet: Outlet,
    /// In the property's currency; negative for refunds.
    pub amount: Money,
    pub spent_on: NaiveDate,
    #[schema(max_length = 200)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StayDetail {
    #[serde(flatten)]
    pub stay: Stay,
    pub spend: Vec<SpendLine>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StayFilter {
    pub status: Option<StayStatus>,
}

type StayRow = (
    String,
    String,
    String,
    String,
    NaiveDate,
    NaiveDate,
    i32,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    i64,
    NaiveDateTime,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
fn stay_cols() -> (
    stays::id,
    stays::property_id,
    stays::customer_id,
    stays::confirmation_number,
    stays::check_in,
    stays::check_out,
    stays::nights,
    stays::room_type,
    stays::room_number,
    stays::rate_minor,
    stays::currency,
    stays::status,
    stays::version,
    stays::created_at,
    stays::updated_at,
) {
    (
        stays::id,
        stays::property_id,
        stays::customer_id,
        stays::confirmation_number,
        stays::check_in,
        stays::check_out,
        stays::nights,
        stays::room_type,
        stays::room_number,
        stays::rate_minor,
        stays::currency,
        stays::status,
        stays::version,
        stays::created_at,
        stays::updated_at,
    )
}

fn to_stay(r: StayRow) -> Stay {
    Stay {
        id: r.0,
        property_id: r.1,
        customer_id: r.2,
        confirmation_number: r.3,
        check_in: r.4,
        check_out: r.5,
        nights: r.6,
        room_type: r.7,
        room_number: r.8,
        rate: match (r.9, &r.10) {
            (Some(m), Some(c)) => Some(from_minor(m, c)),
            _ => None,
        },
        status: StayStatus::parse(&r.11).unwrap_or(StayStatus::Reserved),
        version: r.12,
        created_at: r.13.and_utc(),
        updated_at: r.14.and_utc(),
    }
}

type SpendRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    String,
    NaiveDate,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
fn spend_cols() -> (
    spend_lines::id,
    spend_lines::property_id,
    spend_lines::external_id,
    spend_lines::customer_id,
    spend_lines::stay_id,
    spend_lines::outlet,
    spend_lines::amount_minor,
    spend_lines::currency,
    spend_lines::spent_on,
    spend_lines::description,
    spend_lines::created_at,
    spend_lines::updated_at,
) {
    (
        spend_lines::id,
        spend_lines::property_id,
        spend_lines::external_id,
        spend_lines::customer_id,
        spend_lines::stay_id,
        spend_lines::outlet,
        spend_lines::amount_minor,
        spend_lines::currency,
        spend_lines::spent_on,
        spend_lines::description,
        spend_lines::created_at,
        spend_lines::updated_at,
    )
}

fn to_spend(r: SpendRow) -> SpendLine {
    SpendLine {
        id: r.0,
        property_id: r.1,
        external_id: r.2,
        customer_id: r.3,
        stay_id: r.4,
        outlet: Outlet::parse(&r.5).unwrap_or(Outlet::Other),
        amount: from_minor(r.6, &r.7),
        spent_on: r.8,
        description: r.9,
        created_at: r.10.and_utc(),
        updated_at: r.11.and_utc(),
    }
}

/// The property's currency, or 404 when it is outside the caller's scope or unknown.
fn property_currency(conn: &mut DbConnection, who: &Principal, property_id: &str) -> Result<String, ApiError> {
    if !who.can_access_property(property_id) {
        return Err(ApiError::not_found("property"));
    }
    properties::table
        .find(property_id)
        .select(properties::currency)
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("property"))
}

fn resolve_customer(conn: &mut DbConnection, id: Option<&str>, r: Option<&ExternalRef>) -> Result<String, ApiError> {
    match (id, r) {
        (Some(_), Some(_)) => Err(ApiError::field(
            "customer_ref",
            "send customer_id or customer_ref, not both",
        )),
        (None, None) => Err(ApiError::field(
            "customer_id",
            "the guest is required (customer_id or customer_ref)",
        )),
        (Some(id), None) => {
            let n: i64 = customers::table.find(id).count().get_result(conn)?;
            if n == 0 {
                return Err(ApiError::field("customer_id", "unknown guest"));
            }
            Ok(id.to_string())
        }
        (None, Some(r)) => customer_external_refs::table
            .find((r.system.trim().to_lowercase(), r.external_id.trim()))
            .select(customer_external_refs::customer_id)
            .first(conn)
            .optional()?
            .ok_or_else(|| ApiError::field("customer_ref", "unknown guest reference: upsert the guest first")),
    }
}

fn load_stay(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<Stay, ApiError> {
    let s = stays::table
        .find(id)
        .select(stay_cols())
        .first::<StayRow>(conn)
        .optional()?
        .map(to_stay)
        .ok_or_else(|| ApiError::not_found("stay"))?;
    if !who.can_access_property(&s.property_id) {
        return Err(ApiError::not_found("stay"));
    }
    Ok(s)
}

fn transition(from: StayStatus, to: StayStatus) -> Result<(), ApiError> {
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

struct Checked {
    confirmation: String,
    room_type: Option<String>,
    room_number: Option<String>,
    rate_minor: Option<i64>,
}

fn check_stay_fields(c: &mut Checks, currency: &str, input: &StayInput) -> Checked {
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
    }
}

/// The stay's events: `stay.upserted` always, `stay.checked_out` when it reaches check-out,
/// `stay.cancelled` when it is cancelled (`from` says whether it had checked out). Loyalty and
/// surveys follow them (`app::reactions`).
fn emit_stay_events(
    conn: &mut DbConnection,
    who: &Principal,
    stay: &Stay,
    from: Option<StayStatus>,
) -> Result<(), ApiError> {
    let from_str = from.map(StayStatus::as_str);
    let base = |kind| NewEvent::new(kind, "stay", &stay.id).property(stay.property_id.as_str());
    outbox::emit_in_tx(
        conn,
        who,
        base("stay.upserted").data(json!({
            "customer_id": stay.customer_id, "status": stay.status.as_str(), "previous_status": from_str,
            "created": from.is_none(),
        })),
    )?;
    if from == Some(stay.status) {
        return Ok(());
    }
    match stay.status {
        StayStatus::CheckedOut => {
            let data = json!({"customer_id": stay.customer_id, "check_out": stay.check_out});
            outbox::emit_in_tx(conn, who, base("stay.checked_out").data(data))?;
        }
        StayStatus::Cancelled => {
            let data = json!({"customer_id": stay.customer_id, "previous_status": from_str});
            outbox::emit_in_tx(conn, who, base("stay.cancelled").data(data))?;
        }
        _ => {}
    }
    Ok(())
}

/// Upserts one stay in the caller's transaction; `true` when created.
fn upsert_stay_in_tx(conn: &mut DbConnection, who: &Principal, input: &StayInput) -> Result<(Stay, bool), ApiError> {
    let currency = property_currency(conn, who, &input.property_id)?;
    let mut c = Checks::new();
    let f = check_stay_fields(&mut c, &currency, input);
    c.finish()?;
    let customer_id = resolve_customer(conn, input.customer_id.as_deref(), input.customer_ref.as_ref())?;
    let existing: Option<StayRow> = stays::table
        .filter(stays::property_id.eq(&input.property_id))
        .filter(stays::confirmation_number.eq(&f.confirmation))
        .select(stay_cols())
        .first(conn)
        .optional()?;
    let nights = (input.check_out - input.check_in).num_days() as i32;
    let ts = now();
    match existing.map(to_stay) {
        Some(cur) => {
            if cur.customer_id != customer_id {
                return Err(ApiError::Conflict {
                    detail: "this confirmation number belongs to another guest's stay".into(),
                    existing_id: Some(cur.id),
                });
            }
            let status = input.status.unwrap_or(cur.status);
            transition(cur.status, status)?;
            diesel::update(stays::table.find(&cur.id))
                .set((
                    stays::check_in.eq(input.check_in),
                    stays::check_out.eq(input.check_out),
                    stays::nights.eq(nights),
                    stays::room_type.eq(&f.room_type),
                    stays::room_number.eq(&f.room_number),
                    stays::rate_minor.eq(f.rate_minor),
                    stays::currency.eq(f.rate_minor.map(|_| currency.clone())),
                    stays::status.eq(status.as_str()),
                    stays::version.eq(cur.version + 1),
                    stays::updated_at.eq(ts),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                who,
                "stay.updated",
                "stay",
                Some(&cur.id),
                json!({"status": {"from": cur.status.as_str(), "to": status.as_str()}}),
            )?;
            let stay = load_stay(conn, who, &cur.id)?;
            emit_stay_events(conn, who, &stay, Some(cur.status))?;
            Ok((load_stay(conn, who, &cur.id)?, false))
        }
        None => {
            let id = new_id();
            diesel::insert_into(stays::table)
                .values((
                    stays::id.eq(&id),
                    stays::customer_id.eq(&customer_id),
                    stays::property_id.eq(&input.property_id),
                    stays::confirmation_number.eq(&f.confirmation),
                    stays::check_in.eq(input.check_in),
                    stays::check_out.eq(input.check_out),
                    stays::nights.eq(nights),
                    stays::room_type.eq(&f.room_type),
                    stays::room_number.eq(&f.room_number),
                    stays::rate_minor.eq(f.rate_minor),
                    stays::currency.eq(f.rate_minor.map(|_| currency.clone())),
                    stays::status.eq(input.status.unwrap_or(StayStatus::Reserved).as_str()),
                    stays::version.eq(1i64),
                    stays::created_at.eq(ts),
                    stays::updated_at.eq(ts),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                who,
                "stay.created",
                "stay",
                Some(&id),
                json!({"property_id": input.property_id}),
            )?;
            let stay = load_stay(conn, who, &id)?;
            emit_stay_events(conn, who, &stay, None)?;
            Ok((load_stay(conn, who, &id)?, true))
        }
    }
}

pub fn upsert_stay(conn: &mut DbConnection, who: &Principal, input: StayInput) -> Result<(Stay, bool), ApiError> {
    who.require(Perm::StaysWrite)?;
    write_tx(conn, |conn| upsert_stay_in_tx(conn, who, &input))
}

/// Each item in its own transaction: a bad item does not undo the good ones.
pub fn upsert_batch(conn: &mut DbConnection, who: &Principal, batch: StayBatch) -> Result<StayBatchResult, ApiError> {
    who.require(Perm::StaysWrite)?;
    if batch.items.is_empty() || batch.items.len() > 1000 {
        return Err(ApiError::field("items", "must hold 1 to 1000 stays"));
    }
    let mut out = StayBatchResult {
        created: 0,
        updated: 0,
        failed: 0,
        results: Vec::with_capacity(batch.items.len()),
    };
    for (index, item) in batch.items.iter().enumerate() {
        match write_tx(conn, |conn| upsert_stay_in_tx(conn, who, item)) {
            Ok((stay, created)) => {
                if created {
                    out.created += 1;
                } else {
                    out.updated += 1;
                }
                out.results.push(StayBatchItem {
                    index,
                    status: if created { 201 } else { 200 },
                    stay_id: Some(stay.id),
                    error: None,
                });
            }
            // Whole-request failure only while nothing committed; then it is the item's result.
            Err(e) if crate::db::applied::is_already_applied(&e) => return Err(e),
            Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) if out.created + out.updated == 0 => {
                return Err(e)
            }
            Err(e) => {
                out.failed += 1;
                let problem = e.problem();
                out.results.push(StayBatchItem {
                    index,
                    status: problem.status,
                    stay_id: None,
                    error: Some(problem),
                });
            }
        }
    }
    Ok(out)
}

pub fn update_stay(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    patch: StayPatch,
    if_match: Option<i64>,
) -> Result<Stay, ApiError> {
    who.require(Perm::StaysWrite)?;
    write_tx(conn, |conn| {
        let cur = load_stay(conn, who, id)?;
        let input = StayInput {
            property_id: cur.property_id.clone(),
            confirmation_number: cur.confirmation_number.clone(),
            customer_id: Some(cur.customer_id.clone()),
            customer_ref: None,
            check_in: patch.check_in.unwrap_or(cur.check_in),
            check_out: patch.check_out.unwrap_or(cur.check_out),
            room_type: patch.room_type.clone().or(cur.room_type.clone()),
            room_number: patch.room_number.clone().or(cur.room_number.clone()),
            rate: patch.rate.clone().or(cur.rate.clone()),
            status: patch.status,
        };
        // Validated first (a bad body is a 422 whatever the version); a stale version then
        // rolls the whole transaction back.
        let (stay, _) = upsert_stay_in_tx(conn, who, &input)?;
        match if_match {
            Some(v) if v != cur.version => Err(ApiError::PreconditionFailed(format!(
                "the stay is at version {}, not {v}",
                cur.version
            ))),
            _ => Ok(stay),
        }
    })
}

pub fn get_stay(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<StayDetail, ApiError> {
    who.require(Perm::StaysRead)?;
    read_tx(conn, |conn| {
        let stay = load_stay(conn, who, id)?;
        let rows: Vec<SpendRow> = spend_lines::table
            .filter(spend_lines::stay_id.eq(id))
            .select(spend_cols())
            .order((spend_lines::spent_on, spend_lines::id))
            .load(conn)?;
        Ok(StayDetail {
            stay,
            spend: rows.into_iter().map(to_spend).collect(),
        })
    })
}

/// A guest's stays in the caller's properties, newest first.
pub fn list_customer_stays(
    conn: &mut DbConnection,
    who: &Principal,
    customer_id: &str,
    f: &StayFilter,
    page: &PageParams,
) -> Result<StayPage, ApiError> {
    who.require(Perm::StaysRead)?;
    let cur = page.resolve(Order::Desc)?;
    read_tx(conn, |conn| {
        let n: i64 = customers::table.find(customer_id).count().get_result(conn)?;
        if n == 0 {
            return Err(ApiError::not_found("customer"));
        }
        let mut q = stays::table
            .filter(stays::customer_id.eq(customer_id))
            .select(stay_cols())
            .order(stays::id.desc())
            .limit(cur.limit + 1)
            .into_boxed();
        if let Some(scope) = who.property_scope() {
            q = q.filter(stays::property_id.eq_any(scope.to_vec()));
        }
        if let Some(s) = f.status {
            q = q.filter(stays::status.eq(s.as_str()));
        }
        if let Some(a) = &cur.after {
            q = q.filter(stays::id.lt(a.clone()));
        }
        let rows: Vec<StayRow> = q.load(conn)?;
        let (rows, next_cursor) = pagination::finish(rows, &cur, |r| &r.0);
        Ok(StayPage {
            data: rows.into_iter().map(to_stay).collect(),
            next_cursor,
        })
    })
}

/// Upserts a spend line; `true` when created.
pub fn upsert_spend(
    conn: &mut DbConnection,
    who: &Principal,
    input: SpendInput,
) -> Result<(SpendLine, bool), ApiError> {
    who.require(Perm::StaysWrite)?;
    write_tx(conn, |conn| {
        let currency = property_currency(conn, who, &input.property_id)?;
        let mut c = Checks::new();
        let external_id = c.text("external_id", &input.external_id, 1, 64);
        let amount = to_minor(&mut c, "amount", &input.amount, Some(&currency));
        let description = c.opt_text("description", input.description.as_deref(), 200);
        c.finish()?;
        // The stay it belongs to (same property), by id or confirmation number.
        let stay: Option<Stay> = match (&input.stay_id, &input.confirmation_number) {
            (Some(_), Some(_)) => {
                return Err(ApiError::field(
                    "confirmation_number",
                    "send stay_id or confirmation_number, not both",
                ))
            }
            (Some(id), None) => Some(load_stay(conn, who, id).map_err(|_| ApiError::field("stay_id", "unknown stay"))?),
            (None, Some(cn)) => Some(
                stays::table
                    .filter(stays::property_id.eq(&input.property_id))
                    .filter(stays::confirmation_number.eq(cn.trim()))
                    .select(stay_cols())
                    .first::<StayRow>(conn)
                    .optional()?
                    .map(to_stay)
                    .ok_or_else(|| {
                        ApiError::field(
                            "confirmation_number",
                            "no stay with this confirmation number at this property",
                        )
                    })?,
            ),
            (None, None) => None,
        };
        if let Some(s) = &stay {
            if s.property_id != input.property_id {
                return Err(ApiError::field("stay_id", "the stay is at another property"));
            }
        }
        let customer_id = match (&stay, &input.customer_id) {
            (Some(s), Some(cid)) if &s.customer_id != cid => {
                return Err(ApiError::field("customer_id", "does not match the stay's guest"))
            }
            (Some(s), _) => s.customer_id.clone(),
            (None, cid) => resolve_customer(conn, cid.as_deref(), None)?,
        };
        let amount = amount.unwrap_or_default();
        let ts = now();
        let existing: Option<(String, Option<String>)> = spend_lines::table
            .filter(spend_lines::property_id.eq(&input.property_id))
            .filter(spend_lines::external_id.eq(&external_id))
            .select((spend_lines::id, spend_lines::stay_id))
            .first(conn)
            .optional()?;
        let stay_before = existing.as_ref().and_then(|e| e.1.clone());
        let stay_id = stay.as_ref().map(|s| s.id.clone());
        let (id, created) = match existing.map(|e| e.0) {
            Some(id) => {
                diesel::update(spend_lines::table.find(&id))
                    .set((
                        spend_lines::customer_id.eq(&customer_id),
                        spend_lines::stay_id.eq(&stay_id),
                        spend_lines::outlet.eq(input.outlet.as_str()),
                        spend_lines::amount_minor.eq(amount),
                        spend_lines::currency.eq(&currency),
                        spend_lines::spent_on.eq(input.spent_on),
                        spend_lines::description.eq(&description),
                        spend_lines::updated_at.eq(ts),
                    ))
                    .execute(conn)?;
                (id, false)
            }
            None => {
                let id = new_id();
                diesel::insert_into(spend_lines::table)
                    .values((
                        spend_lines::id.eq(&id),
                        spend_lines::property_id.eq(&input.property_id),
                        spend_lines::external_id.eq(&external_id),
                        spend_lines::customer_id.eq(&customer_id),
                        spend_lines::stay_id.eq(&stay_id),
                        spend_lines::outlet.eq(input.outlet.as_str()),
                        spend_lines::amount_minor.eq(amount),
                        spend_lines::currency.eq(&currency),
                        spend_lines::spent_on.eq(input.spent_on),
                        spend_lines::description.eq(&description),
                        spend_lines::created_at.eq(ts),
                        spend_lines::updated_at.eq(ts),
                    ))
                    .execute(conn)?;
                (id, true)
            }
        };
        audit::record(
            conn,
            who,
            if created { "spend.created" } else { "spend.updated" },
            "spend_line",
            Some(&id),
            json!({"stay_id": stay_id}),
        )?;
        // A charge that arrives, changes or moves after check-out settles the stays it touches
        // (loyalty reacts to the event).
        let moved_from = stay_before.filter(|b| Some(b) != stay_id.as_ref());
        let data = json!({"stay_id": stay_id, "previous_stay_id": moved_from, "created": created});
        let ev = NewEvent::new("spend.upserted", "spend_line", &id).property(input.property_id.as_str());
        outbox::emit_in_tx(conn, who, ev.data(data))?;
        let row: SpendRow = spend_lines::table.find(&id).select(spend_cols()).first(conn)?;
        Ok((to_spend(row), created))
    })
}

#[cfg(test)]
mod tests {
    use super::StayStatus::*;

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
}
