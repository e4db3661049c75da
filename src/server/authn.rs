//! Authentication: the caller of a request, resolved from a JWT or an API key on every call, as
//! the `Principal` extractor. The account or key behind a credential is read from the database
//! at most once per `CONCIERGE_AUTH_CACHE_MS` (1 s) per instance (`server::auth_cache`): a
//! deactivated user or a revoked key stops working at once on the instance that changed it and
//! within that bound on the others.

use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::Utc;
use diesel::prelude::*;
use futures_util::future::LocalBoxFuture;

use crate::auth::principal::{KeyActor, StaffActor};
use crate::auth::{Actor, Principal, PropertyScope, Role};
use crate::db::schema::{api_keys, customer_accounts, staff_users};
use crate::platform::error::ApiError;
use crate::server::auth_cache::{KeyAuth, StaffAuth};
use crate::server::middleware::RequestId;
use crate::server::state::AppState;

/// The raw credential of a request.
enum Credential {
    Jwt(String),
    ApiKey(String),
}

fn credential(req: &HttpRequest) -> Result<Credential, ApiError> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let v = v
            .to_str()
            .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::Unauthorized("Authorization must be `Bearer <token>`".into()))?
            .trim();
        if token.is_empty() {
            return Err(ApiError::Unauthorized("empty bearer token".into()));
        }
        return Ok(if crate::auth::api_keys::looks_like_key(token) {
            Credential::ApiKey(token.to_string())
        } else {
            Credential::Jwt(token.to_string())
        });
    }
    if let Some(v) = req.headers().get("x-api-key") {
        let key = v
            .to_str()
            .map_err(|_| ApiError::Unauthorized("malformed X-Api-Key header".into()))?;
        return Ok(Credential::ApiKey(key.trim().to_string()));
    }
    Err(ApiError::Unauthorized(
        "missing credentials: send `Authorization: Bearer <token>` or `X-Api-Key`".into(),
    ))
}

/// The outcome of authenticating one request, kept in its extensions so that the caller is
/// resolved (and counted by the rate limiter) once per request: the idempotency middleware
/// resolves it before claiming a key, and the `Principal` extractor then reuses it.
#[derive(Clone)]
struct Resolved(Result<Principal, ApiError>);

impl Principal {
    /// Authenticates the request (JWT verified and its session still valid, or API key known,
    /// not revoked, not expired), once: a second call answers the first outcome again.
    pub async fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
        if let Some(Resolved(r)) = req.extensions().get::<Resolved>() {
            return r.clone();
        }
        let r = Self::resolve(req).await;
        req.extensions_mut().insert(Resolved(r.clone()));
        r
    }

    fn resolve(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Principal, ApiError>> {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let cred = credential(req);
        let ip = req.peer_addr().map(|a| a.ip().to_string());
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let actor = match cred? {
                Credential::Jwt(token) => {
                    let claims = state.jwt.verify(&token)?;
                    resolve_jwt(&state, claims).await?
                }
                Credential::ApiKey(key) => resolve_key(&state, key).await?,
            };
            let p = Principal { actor, ip, request_id };
            let bucket = format!("{}:{}", p.actor_kind(), p.actor_id());
            state
                .rate_limiter
                .hit(&bucket)
                .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
            Ok(p)
        })
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Principal::authenticate(&req).await })
    }
}

async fn resolve_jwt(state: &AppState, claims: crate::auth::jwt::Claims) -> Result<Actor, ApiError> {
    if claims.role == "customer" {
        let epoch = match state.auth_cache.customers.get(&claims.sub) {
            Some(e) => e,
            None => {
                let sub = claims.sub.clone();
                let e = state
                    .db(move |conn| {
                        Ok(customer_accounts::table
                            .find(&sub)
                            .select(customer_accounts::session_epoch)
                            .first::<i32>(conn)
                            .optional()?)
                    })
                    .await?;
                state.auth_cache.customers.put(&claims.sub, e);
                e
            }
        };
        return match epoch {
            Some(epoch) if epoch != claims.sep => Err(session_ended()),
            Some(_) => Ok(Actor::Customer {
                customer_id: claims.sub,
            }),
            None => Err(ApiError::Unauthorized("account no longer exists".into())),
        };
    }
    let row = match state.auth_cache.staff.get(&claims.sub) {
        Some(r) => r,
        None => {
            let sub = claims.sub.clone();
            let r = state
                .db(move |conn| {
                    Ok(staff_users::table
                        .find(&sub)
                        .select(StaffAuth::as_select())
                        .first(conn)
                        .optional()?)
                })
                .await?;
            state.auth_cache.staff.put(&claims.sub, r.clone());
            r
        }
    };
    match row {
        Some(r) if r.active && r.session_epoch != claims.sep => Err(session_ended()),
        Some(r) if r.active => {
            let role = Role::from_str(&r.role).map_err(|_| ApiError::internal("bad role in db"))?;
            if role.as_str() != claims.role {
                // The role changed since the token was issued: make the client log in again.
                return Err(ApiError::Unauthorized("role changed; log in again".into()));
            }
            Ok(Actor::Staff(StaffActor {
                id: claims.sub,
                role,
                properties: PropertyScope::parse(&r.property_ids),
            }))
        }
        Some(_) => Err(ApiError::Unauthorized("user is deactivated".into())),
        None => Err(ApiError::Unauthorized("user no longer exists".into())),
    }
}

fn session_ended() -> ApiError {
    ApiError::Unauthorized("this session was ended (password, role, properties or status changed); log in again".into())
}

async fn resolve_key(state: &AppState, key: String) -> Result<Actor, ApiError> {
    let hash = crate::auth::api_keys::hash(&key);
    let row = match state.auth_cache.keys.get(&hash) {
        Some(r) => r,
        None => {
            let h = hash.clone();
            let r = state.db(move |conn| load_key(conn, &h)).await?;
            state.auth_cache.keys.put(&hash, r.clone());
            r
        }
    };
    let Some(k) = row else {
        return Err(ApiError::Unauthorized("unknown API key".into()));
    };
    if k.revoked_at.is_some() {
        return Err(ApiError::Unauthorized("API key revoked".into()));
    }
    if k.expires_at.is_some_and(|e| e <= Utc::now().naive_utc()) {
        return Err(ApiError::Unauthorized("API key expired".into()));
    }
    let scopes = serde_json::from_str(&k.scopes).map_err(|_| ApiError::internal("bad scopes in db"))?;
    Ok(Actor::ApiKey(KeyActor {
        id: k.id,
        scopes,
        properties: PropertyScope::parse(&k.property_ids),
    }))
}

/// The key by its hash, read when the cache has no fresh entry; stamps its last use at most
/// once a minute (a write per request would serialise reads).
fn load_key(conn: &mut crate::db::DbConnection, hash: &str) -> Result<Option<KeyAuth>, ApiError> {
    let row: Option<KeyAuth> = api_keys::table
        .filter(api_keys::key_hash.eq(hash))
        .select(KeyAuth::as_select())
        .first(conn)
        .optional()?;
    let now = Utc::now().naive_utc();
    if let Some(k) = row.as_ref().filter(|k| k.revoked_at.is_none()) {
        if k.last_used_at.is_none_or(|t| (now - t).num_seconds() >= 60) {
            crate::db::gated(conn, |conn| {
                diesel::update(api_keys::table.find(&k.id))
                    .set(api_keys::last_used_at.eq(now))
                    .execute(conn)?;
                Ok(())
            })?;
        }
    }
    Ok(row)
}
