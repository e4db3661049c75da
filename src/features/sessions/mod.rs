//! Logins, guest registration, refresh-token rotation and logout.
//!
//! Refresh tokens are random, stored as SHA-256 hashes, single use: each refresh revokes the
//! presented token and issues a new one in the same family. Presenting a revoked token again
//! (a sign of theft) revokes the whole family.

pub mod api;
mod model;

pub use model::{LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};

use chrono::Duration;
use diesel::prelude::*;
use serde_json::json;

use crate::auth::jwt::JwtKeys;
use crate::auth::passwords::{
    burn_verification_time, hash_password, password_problem, verify_password, PasswordHolder,
};
use crate::auth::{random_hex, Actor, Principal};
use crate::db::outbox::{self, NewEvent};
use crate::db::schema::{customer_accounts, refresh_tokens};
use crate::db::{write_tx, DbConnection};
use crate::features::audit;
use crate::features::guests::customers;
use crate::features::guests::model::CustomerCreate;
use crate::features::staff;
use crate::platform::crypto::sha256_hex;
use crate::platform::error::ApiError;
use crate::platform::fields::{parse_email, Checks};
use crate::platform::ids::{new_id, now};

pub struct TokenIssuer<'a> {
    pub jwt: &'a JwtKeys,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
}

impl<'a> TokenIssuer<'a> {
    /// Access and refresh tokens with the configured lifetimes.
    pub fn new(state: &'a crate::server::state::AppState) -> Self {
        TokenIssuer {
            jwt: &state.jwt,
            access_ttl: state.config.access_ttl_secs,
            refresh_ttl: state.config.refresh_ttl_secs,
        }
    }

    fn issue(
        &self,
        conn: &mut DbConnection,
        kind: &str,
        subject: &str,
        role: &str,
        epoch: i32,
        family: Option<&str>,
    ) -> Result<TokenResponse, ApiError> {
        let access_token = self.jwt.issue(subject, role, epoch, self.access_ttl)?;
        let refresh_token = format!("crt_{}", random_hex(32));
        let ts = now();
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::id.eq(new_id()),
                refresh_tokens::token_hash.eq(sha256_hex(&refresh_token)),
                refresh_tokens::family_id.eq(family.map(str::to_string).unwrap_or_else(new_id)),
                refresh_tokens::subject_kind.eq(kind),
                refresh_tokens::subject_id.eq(subject),
                refresh_tokens::expires_at.eq(ts + Duration::seconds(self.refresh_ttl)),
                refresh_tokens::created_at.eq(ts),
            ))
            .execute(conn)?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: self.access_ttl,
            refresh_token,
        })
    }
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("wrong email or password".into())
}

/// Staff login. The same answer for an unknown email and a wrong password.
pub fn staff_login(
    conn: &mut DbConnection,
    tokens: &TokenIssuer,
    req: &LoginRequest,
) -> Result<TokenResponse, ApiError> {
    let email = parse_email(&req.email).map_err(|_| bad_credentials())?;
    let row = staff::credentials_by_email(conn, &email)?;
    let Some(staff::StaffCredentials {
        id,
        role,
        password_hash: hash,
        active,
        session_epoch: epoch,
    }) = row
    else {
        burn_verification_time(&req.password);
        return Err(bad_credentials());
    };
    if !verify_password(&req.password, &hash) || !active {
        return Err(bad_credentials());
    }
    write_tx(conn, |conn| tokens.issue(conn, "staff", &id, &role, epoch, None))
}

pub fn customer_login(
    conn: &mut DbConnection,
    tokens: &TokenIssuer,
    req: &LoginRequest,
) -> Result<TokenResponse, ApiError> {
    let email = parse_email(&req.email).map_err(|_| bad_credentials())?;
    let row: Option<(String, String, i32)> = customer_accounts::table
        .filter(customer_accounts::email.eq(&email))
        .select((
            customer_accounts::customer_id,
            customer_accounts::password_hash,
            customer_accounts::session_epoch,
        ))
        .first(conn)
        .optional()?;
    let Some((id, hash, epoch)) = row else {
        burn_verification_time(&req.password);
        return Err(bad_credentials());
    };
    if !verify_password(&req.password, &hash) {
        return Err(bad_credentials());
    }
    write_tx(conn, |conn| {
        tokens.issue(conn, "customer", &id, "customer", epoch, None)
    })
}

/// Guest self-registration from the app: a new guest profile (source `app`) with login.
pub fn register(
    conn: &mut DbConnection,
    tokens: &TokenIssuer,
    cipher: &crate::platform::crypto::Cipher,
    req: RegisterRequest,
    ip: Option<String>,
    request_id: Option<String>,
) -> Result<TokenResponse, ApiError> {
    let mut c = Checks::new();
    let email = c.email("email", &req.email);
    if let Some(m) = password_problem(&req.password, &req.email, PasswordHolder::Guest) {
        c.fail("password", m);
    }
    c.text("given_name", &req.given_name, 1, 100);
    c.text("family_name", &req.family_name, 1, 100);
    c.finish()?;
    let email = email.unwrap_or_default();
    let hash = hash_password(&req.password)?;
    write_tx(conn, |conn| {
        let owner: Option<String> = customer_accounts::table
            .filter(customer_accounts::email.eq(&email))
            .select(customer_accounts::customer_id)
            .first(conn)
            .optional()?;
        if let Some(owner) = owner {
            attempt_on_taken_in_tx(conn, &owner, ip.clone(), request_id.clone())?;
            return Ok(Err(email_taken()));
        }
        // A profile that staff created with this email is neither linked nor revealed (linking
        // without email verification would hand it to whoever typed the address): the guest
        // gets a new profile, and staff see the duplicate.
        let system = Principal {
            actor: Actor::Customer {
                customer_id: String::new(),
            },
            ip: ip.clone(),
            request_id: request_id.clone(),
        };
        let input = CustomerCreate::minimal(req.given_name.clone(), req.family_name.clone(), email.clone(), "app");
        let customer = customers::insert_in_tx(conn, cipher, &system, input, true)?;
        insert_account(conn, &customer.id, &email, &hash)?;
        let me = Principal {
            actor: Actor::Customer {
                customer_id: customer.id.clone(),
            },
            ip: ip.clone(),
            request_id: request_id.clone(),
        };
        audit::record(
            conn,
            &me,
            "customer.registered",
            "customer",
            Some(&customer.id),
            json!({}),
        )?;
        outbox::emit_in_tx(
            conn,
            &me,
            NewEvent::new("customer_account.registered", "customer_account", &customer.id)
                .data(json!({"customer_id": customer.id})),
        )?;
        // Guests who register in the app are enrolled at once (SPEC §6.2).
        crate::features::loyalty::ledger::ensure_account(conn, &customer.id)?;
        tokens
            .issue(conn, "customer", &customer.id, "customer", 0, None)
            .map(Ok)
    })?
}

/// No mail delivery yet: a sign-up with a taken email goes to the owner's audit trail (no
/// personal values), and the caller learns nothing about the account or its profile.
fn attempt_on_taken_in_tx(
    conn: &mut DbConnection,
    owner: &str,
    ip: Option<String>,
    request_id: Option<String>,
) -> Result<(), ApiError> {
    let anonymous = Principal {
        actor: Actor::System("self-registration".into()),
        ip,
        request_id,
    };
    audit::record(
        conn,
        &anonymous,
        "customer.registration_attempt",
        "customer",
        Some(owner),
        json!({}),
    )
}

/// The app login of a new guest; the same email registered in parallel is the usual 409.
fn insert_account(conn: &mut DbConnection, customer_id: &str, email: &str, hash: &str) -> Result<(), ApiError> {
    use diesel::result::{DatabaseErrorKind, Error};
    let ts = now();
    diesel::insert_into(customer_accounts::table)
        .values((
            customer_accounts::customer_id.eq(customer_id),
            customer_accounts::email.eq(email),
            customer_accounts::password_hash.eq(hash),
            customer_accounts::created_at.eq(ts),
            customer_accounts::updated_at.eq(ts),
        ))
        .execute(conn)
        .map_err(|e| match e {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => email_taken(),
            e => e.into(),
        })?;
    Ok(())
}

/// The one answer to registering an email that has an app login: nothing about who holds it.
fn email_taken() -> ApiError {
    ApiError::Conflict {
        detail: "this email cannot be registered; log in or reset your password".into(),
        existing_id: None,
    }
}

/// A refresh token as stored (by its hash).
#[derive(Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct Refresh {
    id: String,
    family_id: String,
    subject_kind: String,
    subject_id: String,
    expires_at: chrono::NaiveDateTime,
    revoked_at: Option<chrono::NaiveDateTime>,
}

pub fn refresh(conn: &mut DbConnection, tokens: &TokenIssuer, req: &RefreshRequest) -> Result<TokenResponse, ApiError> {
    let hash = sha256_hex(&req.refresh_token);
    let outcome = write_tx(conn, |conn| {
        let row: Option<Refresh> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(&hash))
            .select(Refresh::as_select())
            .first(conn)
            .optional()?;
        let Some(Refresh {
            id,
            family_id: family,
            subject_kind: kind,
            subject_id: subject,
            expires_at,
            revoked_at,
        }) = row
        else {
            return Ok(Err("unknown refresh token"));
        };
        let ts = now();
        if revoked_at.is_some() {
            return revoke_family(conn, &family, ts);
        }
        if expires_at <= ts {
            return Ok(Err("refresh token expired"));
        }
        let (role, epoch) = if kind == "customer" {
            let e: Option<i32> = customer_accounts::table
                .find(&subject)
                .select(customer_accounts::session_epoch)
                .first(conn)
                .optional()?;
            match e {
                Some(e) => ("customer".to_string(), e),
                None => return Ok(Err("account no longer exists")),
            }
        } else {
            match staff::staff_card(conn, &subject)? {
                Some(s) if s.active => (s.role, s.session_epoch),
                _ => return Ok(Err("user is deactivated")),
            }
        };
        // The claim itself: only one caller can turn this row from unused to used. On
        // PostgreSQL a parallel refresh read the row as unused too, waits here for the winner's
        // commit and then updates nothing; it is reuse like any other.
        let claimed = diesel::update(refresh_tokens::table.find(&id))
            .filter(refresh_tokens::revoked_at.is_null())
            .set(refresh_tokens::revoked_at.eq(Some(ts)))
            .execute(conn)?;
        if claimed != 1 {
            return revoke_family(conn, &family, ts);
        }
        tokens.issue(conn, &kind, &subject, &role, epoch, Some(&family)).map(Ok)
    })?;
    outcome.map_err(|m| ApiError::Unauthorized(m.into()))
}

/// Revokes every live refresh token of one subject (`staff` user or `customer`): the reaction
/// to their sessions ending.
pub(crate) fn revoke_refresh_tokens_in_tx(conn: &mut DbConnection, kind: &str, subject: &str) -> Result<(), ApiError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::subject_kind.eq(kind))
            .filter(refresh_tokens::subject_id.eq(subject))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(now())))
    .execute(conn)?;
    Ok(())
}

/// Reuse of a rotated token: revoke the family so the thief's copy (and the tokens rotated
/// from it, the winner's of a race included) dies too. Committed; the caller answers 401.
fn revoke_family(
    conn: &mut DbConnection,
    family: &str,
    ts: chrono::NaiveDateTime,
) -> Result<Result<TokenResponse, &'static str>, ApiError> {
    diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq(family)))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(Some(ts)))
        .execute(conn)?;
    Ok(Err("refresh token already used; the session was revoked"))
}

/// Revokes the session (the whole refresh-token family). Unknown tokens are ignored, so logout
/// is idempotent and does not reveal which tokens exist.
pub fn logout(conn: &mut DbConnection, req: &RefreshRequest) -> Result<(), ApiError> {
    let hash = sha256_hex(&req.refresh_token);
    write_tx(conn, |conn| {
        let family: Option<String> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(&hash))
            .select(refresh_tokens::family_id)
            .first(conn)
            .optional()?;
        if let Some(family) = family {
            diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq(&family)))
                .filter(refresh_tokens::revoked_at.is_null())
                .set(refresh_tokens::revoked_at.eq(Some(now())))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Creates the bootstrap admin when no active admin exists. Returns the email when one was made.
pub fn ensure_bootstrap_admin(
    conn: &mut DbConnection,
    email: Option<&str>,
    password: Option<&str>,
) -> Result<Option<(String, Option<String>)>, ApiError> {
    if !staff::active_staff(conn, None, crate::auth::Role::Admin)?.is_empty() {
        return Ok(None);
    }
    let email = email.unwrap_or("admin@concierge.local").to_string();
    let (password, generated) = match password {
        Some(p) => {
            // Refuse to start rather than put a guessable password on the first admin.
            if let Some(m) = password_problem(p, &email, PasswordHolder::Staff) {
                return Err(ApiError::BadRequest(format!(
                    "CONCIERGE_ADMIN_PASSWORD {m} (staff password policy)"
                )));
            }
            (p.to_string(), None)
        }
        None => {
            let p = random_hex(12);
            (p.clone(), Some(p))
        }
    };
    let user = staff::create(
        conn,
        None,
        staff::StaffCreate {
            email,
            display_name: "Administrator".into(),
            role: crate::auth::Role::Admin,
            property_ids: vec![],
            password,
        },
    )?;
    Ok(Some((user.email, generated)))
}
