//! Webhook endpoints (SPEC §8): registered by admins and `webhooks:manage` keys within their
//! properties; the signing secret is shown once, stored encrypted, and rotated with a 24-hour
//! overlap during which both secrets sign.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::model::{WebhookEndpoint, WebhookEndpointCreate, WebhookEndpointUpdate, WebhookEndpointWithSecret};
use super::rules::{self, TypePattern};
use crate::auth::{Perm, Principal, PropertyScope};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::webhook_endpoints as w;
use crate::db::{read_tx, write_tx, DbConnection};
use crate::features::{audit, properties};
use crate::platform::crypto::Cipher;
use crate::platform::error::ApiError;
use crate::platform::fields::Checks;
use crate::platform::ids::{new_id, now};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = w)]
pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub types: String,
    pub property_ids: String,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub cursor_commit_order: i64,
    pub cursor_position: i64,
    pub failing_since: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EndpointRow {
    pub fn patterns(&self) -> Vec<TypePattern> {
        let raw: Vec<String> = serde_json::from_str(&self.types).unwrap_or_default();
        raw.iter().filter_map(|p| TypePattern::parse(p).ok()).collect()
    }

    /// The properties it receives events of; `None` = all. An unreadable list receives none.
    pub fn properties(&self) -> Option<Vec<String>> {
        PropertyScope::parse(&self.property_ids).ids().map(<[String]>::to_vec)
    }

    /// The secrets that sign a delivery at `at`: the current one, and the previous one during
    /// its overlap.
    pub fn signing_secrets(&self, cipher: &Cipher, at: NaiveDateTime) -> Result<Vec<String>, ApiError> {
        let mut out = vec![open_secret(cipher, &self.secret)?];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if at < until {
                out.push(open_secret(cipher, prev)?);
            }
        }
        Ok(out)
    }

    pub fn view(self) -> WebhookEndpoint {
        WebhookEndpoint {
            types: serde_json::from_str(&self.types).unwrap_or_default(),
            property_ids: serde_json::from_str(&self.property_ids).unwrap_or_default(),
            id: self.id,
            url: self.url,
            description: self.description,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            disabled_at: self.disabled_at.map(|t| t.and_utc()),
            failing_since: self.failing_since.map(|t| t.and_utc()),
            previous_secret_expires_at: self.previous_secret_until.map(|t| t.and_utc()),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        }
    }
}

fn seal_secret(cipher: &Cipher, secret: &str) -> Result<String, ApiError> {
    Ok(format!("{}:{}", cipher.key_id, cipher.encrypt(secret)?))
}

fn open_secret(cipher: &Cipher, stored: &str) -> Result<String, ApiError> {
    let (key_id, sealed) = stored
        .split_once(':')
        .ok_or_else(|| ApiError::internal("unreadable webhook secret"))?;
    cipher.decrypt(key_id, sealed)
}

/// Loads an endpoint the caller manages (404 otherwise: its property filter reaches beyond
/// the caller's properties).
pub fn load_managed(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<EndpointRow, ApiError> {
    who.require(Perm::WebhooksManage)?;
    match find(conn, id)? {
        Some(row) if who.manages_stored(&row.property_ids) => Ok(row),
        _ => Err(ApiError::not_found("webhook endpoint")),
    }
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<EndpointRow>, ApiError> {
    Ok(w::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?)
}

/// The enabled endpoints' ids (the dispatcher's round).
pub fn enabled_ids(conn: &mut DbConnection) -> Result<Vec<String>, ApiError> {
    Ok(w::table
        .filter(w::enabled.eq(true))
        .order(w::id)
        .select(w::id)
        .load(conn)?)
}

pub fn list(conn: &mut DbConnection, who: &Principal) -> Result<Vec<WebhookEndpoint>, ApiError> {
    who.require(Perm::WebhooksManage)?;
    read_tx(conn, |conn| {
        let rows: Vec<EndpointRow> = w::table
            .select(EndpointRow::as_select())
            .order(w::id.desc())
            .limit(1000)
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter(|r| who.manages_stored(&r.property_ids))
            .map(EndpointRow::view)
            .collect())
    })
}

pub fn get(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<WebhookEndpoint, ApiError> {
    read_tx(conn, |conn| Ok(load_managed(conn, who, id)?.view()))
}

struct Checked {
    url: Option<String>,
    description: Option<String>,
    types: Option<Vec<String>>,
    property_ids: Option<Vec<String>>,
}

fn check(
    who: &Principal,
    url: Option<&str>,
    description: Option<&str>,
    types: Option<&[String]>,
    property_ids: Option<&[String]>,
) -> Result<Checked, ApiError> {
    let mut c = Checks::new();
    let url = url.and_then(|u| rules::check_url(u).map_err(|m| c.fail("url", m)).ok());
    let description = description.map(|d| c.text("description", d, 0, 500));
    let types = types.and_then(|t| {
        rules::parse_patterns(t.iter().map(String::as_str))
            .map_err(|m| c.fail("types", m))
            .ok()
            .map(|ps| ps.iter().map(|p| p.as_str().to_string()).collect())
    });
    let property_ids = property_ids.map(|ids| {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        ids
    });
    c.finish()?;
    if let Some(ids) = &property_ids {
        who.require_grantable(&PropertyScope::from_ids(ids))?;
    }
    Ok(Checked {
        url,
        description,
        types,
        property_ids,
    })
}

pub fn create(
    conn: &mut DbConnection,
    who: &Principal,
    cipher: &Cipher,
    input: WebhookEndpointCreate,
) -> Result<WebhookEndpointWithSecret, ApiError> {
    who.require(Perm::WebhooksManage)?;
    let ok = check(
        who,
        Some(&input.url),
        Some(&input.description),
        Some(&input.types),
        Some(&input.property_ids),
    )?;
    let (secret, id) = (rules::new_secret(), new_id());
    let sealed = seal_secret(cipher, &secret)?;
    let row = write_tx(conn, |conn| {
        let property_ids = ok.property_ids.unwrap_or_default();
        properties::ensure_exist(conn, &property_ids, "property_ids")?;
        // Deliveries start with the events committed from now on (`recover` sends older ones).
        let start = super::db::head(conn)?;
        let at = now();
        diesel::insert_into(w::table)
            .values((
                w::id.eq(&id),
                w::url.eq(ok.url.unwrap_or_default()),
                w::description.eq(ok.description.unwrap_or_default()),
                w::types.eq(json!(ok.types.unwrap_or_default()).to_string()),
                w::property_ids.eq(json!(property_ids).to_string()),
                w::enabled.eq(input.enabled),
                w::secret.eq(&sealed),
                w::cursor_commit_order.eq(start.commit_order),
                w::cursor_position.eq(start.position),
                w::disabled_reason.eq(if input.enabled { None } else { Some("manual") }),
                w::disabled_at.eq(if input.enabled { None } else { Some(at) }),
                w::created_by.eq(who.actor_id()),
                w::created_at.eq(at),
                w::updated_at.eq(at),
            ))
            .execute(conn)?;
        changed(
            conn,
            who,
            "webhook_endpoint.created",
            &id,
            json!({"property_ids": property_ids}),
        )?;
        find(conn, &id)?.ok_or_else(|| ApiError::internal("endpoint vanished"))
    })?;
    Ok(WebhookEndpointWithSecret {
        endpoint: row.view(),
        secret,
    })
}

/// Audit row and event of a change to an endpoint (its URL is not in them: it may name a host
/// the integrator considers private).
fn changed(
    conn: &mut DbConnection,
    who: &Principal,
    kind: &'static str,
    id: &str,
    data: serde_json::Value,
) -> Result<(), ApiError> {
    audit::record(conn, who, kind, "webhook_endpoint", Some(id), data.clone())?;
    let mut data = data;
    data["webhook_endpoint_id"] = json!(id);
    outbox::emit_in_tx(conn, who, NewEvent::new(kind, "webhook_endpoint", id).data(data))?;
    Ok(())
}

/// The fields a PATCH sets (`None`: left as it is), in one statement.
#[derive(AsChangeset)]
#[diesel(table_name = w)]
struct Changes {
    url: Option<String>,
    description: Option<String>,
    types: Option<String>,
    property_ids: Option<String>,
    updated_at: NaiveDateTime,
}

impl Changes {
    /// The names of the fields it changes (the event's `fields`).
    fn names(&self) -> Vec<&'static str> {
        [
            ("url", self.url.is_some()),
            ("description", self.description.is_some()),
            ("types", self.types.is_some()),
            ("property_ids", self.property_ids.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

pub fn update(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: WebhookEndpointUpdate,
) -> Result<WebhookEndpoint, ApiError> {
    who.require(Perm::WebhooksManage)?;
    let ok = check(
        who,
        input.url.as_deref(),
        input.description.as_deref(),
        input.types.as_deref(),
        input.property_ids.as_deref(),
    )?;
    write_tx(conn, |conn| {
        let row = load_managed(conn, who, id)?;
        if let Some(ids) = &ok.property_ids {
            properties::ensure_exist(conn, ids, "property_ids")?;
        }
        let at = now();
        let changes = Changes {
            url: ok.url.clone(),
            description: ok.description.clone(),
            types: ok.types.as_ref().map(|t| json!(t).to_string()),
            property_ids: ok.property_ids.as_ref().map(|p| json!(p).to_string()),
            updated_at: at,
        };
        let mut fields = changes.names();
        diesel::update(w::table.find(id)).set(&changes).execute(conn)?;
        match input.enabled {
            Some(true) if !row.enabled => {
                // Resumes with new events: what it missed while disabled is for `recover`.
                let start = super::db::head(conn)?;
                diesel::update(w::table.find(id))
                    .set((
                        w::enabled.eq(true),
                        w::disabled_reason.eq(None::<String>),
                        w::disabled_at.eq(None::<NaiveDateTime>),
                        w::failing_since.eq(None::<NaiveDateTime>),
                        w::cursor_commit_order.eq(start.commit_order),
                        w::cursor_position.eq(start.position),
                    ))
                    .execute(conn)?;
                fields.push("enabled");
            }
            Some(false) if row.enabled => {
                disable_in_tx(conn, id, "manual", at)?;
                fields.push("enabled");
            }
            _ => {}
        }
        changed(conn, who, "webhook_endpoint.updated", id, json!({"fields": fields}))?;
        Ok(find(conn, id)?
            .ok_or_else(|| ApiError::not_found("webhook endpoint"))?
            .view())
    })
}

/// Disables an endpoint (inside the caller's transaction).
pub(crate) fn disable_in_tx(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(w::table.find(id))
        .set((
            w::enabled.eq(false),
            w::disabled_reason.eq(Some(reason)),
            w::disabled_at.eq(Some(at)),
            w::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        load_managed(conn, who, id)?;
        diesel::delete(crate::db::schema::webhook_deliveries::table)
            .filter(crate::db::schema::webhook_deliveries::endpoint_id.eq(id))
            .execute(conn)?;
        diesel::delete(w::table.find(id)).execute(conn)?;
        changed(conn, who, "webhook_endpoint.deleted", id, json!({}))
    })
}

/// A new secret; the previous one keeps signing for 24 hours.
pub fn rotate_secret(
    conn: &mut DbConnection,
    who: &Principal,
    cipher: &Cipher,
    id: &str,
) -> Result<WebhookEndpointWithSecret, ApiError> {
    let secret = rules::new_secret();
    let sealed = seal_secret(cipher, &secret)?;
    let row = write_tx(conn, |conn| {
        let row = load_managed(conn, who, id)?;
        let at = now();
        diesel::update(w::table.find(id))
            .set((
                w::secret.eq(&sealed),
                w::previous_secret.eq(Some(&row.secret)),
                w::previous_secret_until.eq(Some(at + Duration::hours(rules::ROTATION_OVERLAP_HOURS))),
                w::updated_at.eq(at),
            ))
            .execute(conn)?;
        changed(conn, who, "webhook_endpoint.secret_rotated", id, json!({}))?;
        find(conn, id)?.ok_or_else(|| ApiError::not_found("webhook endpoint"))
    })?;
    Ok(WebhookEndpointWithSecret {
        endpoint: row.view(),
        secret,
    })
}

/// Moves an endpoint's feed position (inside the dispatcher's transaction).
pub(crate) fn advance_in_tx(conn: &mut DbConnection, id: &str, to: super::rules::FeedKey) -> Result<(), ApiError> {
    diesel::update(w::table.find(id))
        .set((
            w::cursor_commit_order.eq(to.commit_order),
            w::cursor_position.eq(to.position),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the outcome of a delivery attempt on its endpoint: a success clears `failing_since`;
/// a counted failure sets it, and disables the endpoint after 5 days of failure. `Ok(true)`
/// when this failure disabled it.
pub(crate) fn note_outcome_in_tx(
    conn: &mut DbConnection,
    id: &str,
    success: bool,
    at: NaiveDateTime,
) -> Result<bool, ApiError> {
    let Some(row) = find(conn, id)? else { return Ok(false) };
    if success {
        if row.failing_since.is_some() {
            diesel::update(w::table.find(id))
                .set(w::failing_since.eq(None::<NaiveDateTime>))
                .execute(conn)?;
        }
        return Ok(false);
    }
    if row.failing_since.is_none() {
        diesel::update(w::table.find(id))
            .set(w::failing_since.eq(Some(at)))
            .execute(conn)?;
        return Ok(false);
    }
    Ok(row.enabled && rules::disables(row.failing_since, at))
}

/// A `ping` ready to send to an endpoint (`POST …/test`), signed like any delivery.
pub struct Ping {
    pub url: String,
    pub msg_id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
}

pub fn ping(conn: &mut DbConnection, who: &Principal, cipher: &Cipher, id: &str) -> Result<Ping, ApiError> {
    let row = read_tx(conn, |conn| load_managed(conn, who, id))?;
    let at = now();
    let body = json!({
        "type": "ping",
        "timestamp": at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {"webhook_endpoint_id": id},
    })
    .to_string();
    let msg_id = format!("ping_{}", new_id());
    let timestamp = at.and_utc().timestamp();
    let secrets = row.signing_secrets(cipher, at)?;
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let signature = rules::signature_header(&refs, &msg_id, timestamp, &body)
        .ok_or_else(|| ApiError::internal("unreadable webhook secret"))?;
    Ok(Ping {
        url: row.url,
        msg_id,
        timestamp,
        signature,
        body,
    })
}
