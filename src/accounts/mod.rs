//! Accounts (SECURITY.md W1–W2): sign-up, login, sessions with rotating refresh tokens, logout
//! that takes effect at once, API keys, and the check every request's credential goes through.
//!
//! Everything happens inside the tenant's own transaction: opaque credentials carry their user
//! id ([`credentials`]), and the one lookup before a tenant is known — login by email — goes
//! through the SECURITY DEFINER function `auth_user_by_email` (D4), so the server never holds
//! the owner role.

pub mod api_keys;
pub mod credentials;
mod flows;
pub mod issued;
pub mod revocations;
pub mod sessions;

use std::time::Duration;

use clap::Args;
use serde::Serialize;
use uuid::Uuid;

pub use api_keys::{ApiKey, KeyScope};
pub use flows::{Accounts, NewApiKey, PageSession, Refusal};

use crate::config::parse_duration;
use crate::{StoreError, Tenant};

/// How long credentials last, and how hard sign-up and login may be tried.
#[derive(Debug, Clone, Args)]
pub struct AccountSettings {
    /// Lifetime of an access token issued at login or refresh.
    #[arg(long, env = "ACCESS_TOKEN_TTL", global = true, default_value = "15m",
          value_parser = parse_duration)]
    pub access_token_ttl: Duration,
    /// Lifetime of a session (a login): its refresh tokens stop working after it.
    #[arg(long, env = "SESSION_TTL", global = true, default_value = "30d",
          value_parser = parse_duration)]
    pub session_ttl: Duration,
    /// Sign-up and login attempts per minute from one client IP address.
    #[arg(
        long,
        env = "AUTH_ATTEMPTS_PER_MINUTE_PER_IP",
        global = true,
        default_value_t = 20
    )]
    pub auth_attempts_per_minute_per_ip: u32,
    /// Sign-up and login attempts per minute for one email address.
    #[arg(
        long,
        env = "AUTH_ATTEMPTS_PER_MINUTE_PER_EMAIL",
        global = true,
        default_value_t = 5
    )]
    pub auth_attempts_per_minute_per_email: u32,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(15 * 60),
            session_ttl: Duration::from_secs(30 * 86_400),
            auth_attempts_per_minute_per_ip: 20,
            auth_attempts_per_minute_per_email: 5,
        }
    }
}

/// Who a request is, once its credential checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub tenant: Tenant,
    pub credential: Credential,
}

/// What the request presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// An access token (a JWT): from a login when it has a session.
    Token {
        jti: Uuid,
        sid: Option<Uuid>,
        expires_at: u64,
    },
    ApiKey {
        id: Uuid,
        scope: KeyScope,
    },
}

impl Principal {
    /// True unless the credential is an `intake` API key, which may only create tickets and
    /// messages.
    pub fn has_full_scope(&self) -> bool {
        !matches!(
            self.credential,
            Credential::ApiKey {
                scope: KeyScope::Intake,
                ..
            }
        )
    }
}

/// A user as the account routes show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct UserView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// What every answer that hands out tokens carries.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Tokens {
    pub user: UserView,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds the access token is valid for.
    pub expires_in: u64,
}

/// Why an account operation failed; the HTTP layer maps each to its status.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Wrong email or password, or an unknown, used or ended refresh token: the same answer for
    /// each, so that none tells an attacker which.
    #[error("the email address or password is wrong")]
    InvalidCredentials,
    #[error("the refresh token is not valid: log in again")]
    InvalidRefreshToken,
    #[error("an account with this email address already exists")]
    EmailTaken,
    /// The account's own password, asked again before a sensitive change, is wrong.
    #[error("the password is wrong")]
    WrongPassword,
    /// Input that failed validation; `field` names it.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Setting(#[from] crate::config::SettingError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid { field, reason } => Self::Invalid { field, reason },
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(msg) if msg.contains("email") => Self::EmailTaken,
            e => Self::Store(e),
        }
    }
}
