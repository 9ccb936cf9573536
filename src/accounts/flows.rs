//! The account operations the HTTP routes call: each is one or two tenant transactions over the
//! users, sessions, API keys and revocations stores.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::credentials::{self, Kind};
use super::sessions::{self, EndReason, Exchange};
use super::{
    AccountError, AccountSettings, ApiKey, Credential, KeyScope, Principal, Tokens, UserView,
    api_keys, revocations,
};
use crate::auth::{AuthError, JwtAuth};
use crate::config::Secret;
use crate::limits::{RateLimiter, Refused};
use crate::users::{self, NewUser, User};
use crate::validate::Email;
use crate::{Db, StoreError, Tenant, TenantTx};

/// A key just created: the only time its secret is shown.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NewApiKey {
    pub id: Uuid,
    pub name: String,
    pub scope: KeyScope,
    /// The key itself (`sa_…`): shown once, stored only as a digest.
    pub key: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
}

/// A login of the inbox pages: the token its cookie carries, and how long it lasts.
pub struct PageSession {
    pub user: UserView,
    /// An access token bound to the session; it goes into an `HttpOnly` cookie only.
    pub token: Secret,
    /// Seconds until the session ends.
    pub max_age: u64,
}

/// Accounts for one server process: the database, the token signer, the settings and the
/// sign-up/login throttles.
pub struct Accounts {
    db: Db,
    jwt: Arc<JwtAuth>,
    settings: AccountSettings,
    by_ip: RateLimiter<IpAddr>,
    by_email: RateLimiter<String>,
}

impl Accounts {
    pub fn new(db: Db, jwt: Arc<JwtAuth>, settings: AccountSettings) -> Self {
        let by_ip = RateLimiter::per_minute(
            "AUTH_ATTEMPTS_PER_MINUTE_PER_IP",
            settings.auth_attempts_per_minute_per_ip,
        );
        let by_email = RateLimiter::per_minute(
            "AUTH_ATTEMPTS_PER_MINUTE_PER_EMAIL",
            settings.auth_attempts_per_minute_per_email,
        );
        Self {
            db,
            jwt,
            settings,
            by_ip,
            by_email,
        }
    }

    pub fn jwt(&self) -> &JwtAuth {
        &self.jwt
    }

    /// Counts a sign-up or login attempt from `ip` for `email` against both throttles.
    pub fn throttle(&self, ip: IpAddr, email: &str) -> Result<(), Refused> {
        self.by_ip.check(ip)?;
        self.by_email.check(email.trim().to_lowercase())
    }

    /// Creates an account and its first session. A taken email costs the same time as a new
    /// one: the password is hashed before the insert finds the conflict.
    pub async fn register(
        &self,
        name: &str,
        email: &str,
        password: &Secret,
        user_agent: Option<&str>,
    ) -> Result<Tokens, AccountError> {
        let new = NewUser {
            name,
            email,
            password: Some(password),
        };
        let (tenant, user) = users::store::create(&self.db, &new).await?;
        self.start_session(tenant, &user, user_agent).await
    }

    /// Logs in. An unknown email is verified against a dummy hash, so that it answers like a
    /// wrong password, in the same time.
    pub async fn login(
        &self,
        email: &str,
        password: &Secret,
        user_agent: Option<&str>,
    ) -> Result<Tokens, AccountError> {
        let (tenant, user) = self.check_password(email, password).await?;
        self.start_session(tenant, &user, user_agent).await
    }

    /// Signs up for the inbox pages: the account and a page session ([`PageSession`]).
    pub async fn register_page(
        &self,
        name: &str,
        email: &str,
        password: &Secret,
        user_agent: Option<&str>,
    ) -> Result<PageSession, AccountError> {
        let new = NewUser {
            name,
            email,
            password: Some(password),
        };
        let (tenant, user) = users::store::create(&self.db, &new).await?;
        self.start_page_session(tenant, &user, user_agent).await
    }

    /// Logs in to the inbox pages, as [`Accounts::login`], with a page session.
    pub async fn login_page(
        &self,
        email: &str,
        password: &Secret,
        user_agent: Option<&str>,
    ) -> Result<PageSession, AccountError> {
        let (tenant, user) = self.check_password(email, password).await?;
        self.start_page_session(tenant, &user, user_agent).await
    }

    /// A session for the pages: no refresh token (a page cannot rotate one safely when two
    /// requests race), one access token that lasts as long as the session (`SESSION_TTL`) and
    /// is checked against the database on every request like any other, so logout, a password
    /// change or `token revoke` end it at once.
    async fn start_page_session(
        &self,
        tenant: Tenant,
        user: &User,
        user_agent: Option<&str>,
    ) -> Result<PageSession, AccountError> {
        let ttl = self.settings.session_ttl;
        let expires =
            Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(30));
        let mut tx = self.db.begin(&tenant).await?;
        let session = sessions::create(&mut tx, expires, user_agent).await?;
        tx.commit().await?;
        let access = self.jwt.issue(user.id, ttl, Some(session))?;
        Ok(PageSession {
            user: view(user),
            token: Secret::new(access.token),
            max_age: ttl.as_secs(),
        })
    }

    /// The account whose password this is; the same answer, in the same time, for an unknown
    /// email and a wrong password.
    async fn check_password(
        &self,
        email: &str,
        password: &Secret,
    ) -> Result<(Tenant, User), AccountError> {
        let email = Email::parse("email", email).map_err(|_| AccountError::InvalidCredentials)?;
        let found = users::store::login_lookup(&self.db, &email).await?;
        let hash = found
            .as_ref()
            .and_then(|(_, h)| h.clone())
            .unwrap_or_else(|| users::dummy_hash().to_owned());
        let matches = users::verify_password_hash(password, &hash).await;
        let Some((user_id, Some(_))) = found.filter(|_| matches) else {
            return Err(AccountError::InvalidCredentials);
        };
        let tenant = Tenant::from_verified_subject(user_id);
        let mut tx = self.db.begin(&tenant).await?;
        let user = users::store::find(&mut tx).await?;
        tx.commit().await?;
        Ok((tenant, user))
    }

    async fn start_session(
        &self,
        tenant: Tenant,
        user: &User,
        user_agent: Option<&str>,
    ) -> Result<Tokens, AccountError> {
        let expires = Utc::now()
            + chrono::Duration::from_std(self.settings.session_ttl)
                .unwrap_or(chrono::Duration::days(30));
        let mut tx = self.db.begin(&tenant).await?;
        let session = sessions::create(&mut tx, expires, user_agent).await?;
        let refresh = credentials::mint(Kind::Refresh, tenant.id());
        sessions::add_refresh_token(&mut tx, session, &refresh.hash).await?;
        tx.commit().await?;
        self.tokens(user, session, refresh.token)
    }

    fn tokens(&self, user: &User, session: Uuid, refresh: Secret) -> Result<Tokens, AccountError> {
        let ttl = self.settings.access_token_ttl;
        let access = self.jwt.issue(user.id, ttl, Some(session))?;
        Ok(Tokens {
            user: view(user),
            access_token: access.token,
            refresh_token: refresh.expose().to_owned(),
            token_type: "Bearer",
            expires_in: ttl.as_secs(),
        })
    }

    /// Exchanges a refresh token for a new pair. A token presented a second time ends its
    /// session, and every access token issued from it stops working.
    pub async fn refresh(&self, raw: &str) -> Result<Tokens, AccountError> {
        let presented =
            credentials::parse(Kind::Refresh, raw).ok_or(AccountError::InvalidRefreshToken)?;
        let tenant = Tenant::from_verified_subject(presented.user_id);
        let mut tx = self.db.begin(&tenant).await?;
        let exchange = sessions::exchange(&mut tx, &presented.hash).await?;
        let session = match exchange {
            Exchange::Fresh { session_id } => session_id,
            Exchange::Reused { session_id } => {
                tx.commit().await?;
                tracing::warn!(%tenant, session = %session_id, "a used refresh token was presented again: session ended");
                return Err(AccountError::InvalidRefreshToken);
            }
            Exchange::Refused => return Err(AccountError::InvalidRefreshToken),
        };
        let refresh = credentials::mint(Kind::Refresh, tenant.id());
        sessions::add_refresh_token(&mut tx, session, &refresh.hash).await?;
        let user = users::store::find(&mut tx).await?;
        tx.commit().await?;
        self.tokens(&user, session, refresh.token)
    }

    /// Ends the caller's session and refuses its access token at once.
    pub async fn logout(&self, principal: &Principal) -> Result<(), AccountError> {
        let Credential::Token {
            jti,
            sid,
            expires_at,
        } = principal.credential
        else {
            return Err(AccountError::Invalid {
                field: "authorization",
                reason: "an API key has no session to end: delete the key instead".into(),
            });
        };
        let mut tx = self.db.begin(&principal.tenant).await?;
        revocations::revoke(&mut tx, jti, timestamp(expires_at)).await?;
        if let Some(sid) = sid {
            sessions::end(&mut tx, sid, EndReason::Logout).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn me(&self, tenant: &Tenant) -> Result<UserView, AccountError> {
        let mut tx = self.db.begin(tenant).await?;
        let user = users::store::find(&mut tx).await?;
        tx.commit().await?;
        Ok(view(&user))
    }

    pub async fn rename(&self, tenant: &Tenant, name: &str) -> Result<UserView, AccountError> {
        let mut tx = self.db.begin(tenant).await?;
        let user = users::store::rename(&mut tx, name).await?;
        tx.commit().await?;
        Ok(view(&user))
    }

    /// Changes the password after checking the current one, and ends every other session.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &Secret,
        new: &Secret,
    ) -> Result<(), AccountError> {
        let mut tx = self.db.begin(&principal.tenant).await?;
        let user = users::store::find(&mut tx).await?;
        if !users::store::verify_password(&mut tx, current).await? {
            return Err(AccountError::WrongPassword);
        }
        users::check_policy(new, &user.name, &user.email).map_err(|e| match e {
            StoreError::Invalid { reason, .. } => AccountError::Invalid {
                field: "new",
                reason,
            },
            e => AccountError::from(e),
        })?;
        let hash = users::hash_password(new).await?;
        users::store::set_password_hash(&mut tx, &hash).await?;
        let keep = match principal.credential {
            Credential::Token { sid, .. } => sid,
            Credential::ApiKey { .. } => None,
        };
        sessions::end_all_but(&mut tx, keep, EndReason::PasswordChange).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the account and everything it owns, in one transaction, after checking its
    /// password; its credentials stop working at once (the user is gone).
    pub async fn delete(&self, tenant: &Tenant, password: &Secret) -> Result<(), AccountError> {
        let mut tx = self.db.begin(tenant).await?;
        if !users::store::verify_password(&mut tx, password).await? {
            return Err(AccountError::WrongPassword);
        }
        users::store::delete(&mut tx).await?;
        tx.commit().await?;
        tracing::info!(%tenant, "account deleted");
        Ok(())
    }

    pub async fn create_api_key(
        &self,
        tenant: &Tenant,
        name: &str,
        scope: KeyScope,
    ) -> Result<NewApiKey, AccountError> {
        let minted = credentials::mint(Kind::ApiKey, tenant.id());
        let mut tx = self.db.begin(tenant).await?;
        let key = api_keys::create(&mut tx, name, scope, &minted.prefix, &minted.hash).await?;
        tx.commit().await?;
        Ok(NewApiKey {
            id: key.id,
            name: key.name,
            scope: key.scope,
            key: minted.token.expose().to_owned(),
            prefix: key.prefix,
            created_at: key.created_at,
        })
    }

    pub async fn list_api_keys(&self, tenant: &Tenant) -> Result<Vec<ApiKey>, AccountError> {
        let mut tx = self.db.begin(tenant).await?;
        let keys = api_keys::list(&mut tx).await?;
        tx.commit().await?;
        Ok(keys)
    }

    pub async fn delete_api_key(&self, tenant: &Tenant, id: Uuid) -> Result<(), AccountError> {
        let mut tx = self.db.begin(tenant).await?;
        api_keys::delete(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The principal a bearer credential (an access token or an API key) stands for, checked
    /// against the database on every call: a revoked token, an ended session, a deleted key or
    /// a deleted user is refused from the next request on.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, Refusal> {
        let (principal, tx) = self.authenticate_in_tx(bearer).await?;
        if let Some(tx) = tx {
            tx.commit().await?;
        }
        Ok(principal)
    }

    /// As [`Accounts::authenticate`], and for an access token hands back the tenant transaction
    /// its revocation check ran in, still open, for the request's own work to go on in (the MCP
    /// guard's [`crate::db::HeldTx`]); the check only read, so however that work ends, nothing of
    /// the check is lost. An API key's check writes (`last_used_at`), so its transaction is
    /// committed here and none is handed back. On a refusal the transaction is rolled back.
    pub async fn authenticate_in_tx(
        &self,
        bearer: &str,
    ) -> Result<(Principal, Option<TenantTx>), Refusal> {
        if credentials::is_api_key(bearer) {
            let presented = credentials::parse(Kind::ApiKey, bearer)
                .ok_or(Refusal::Auth(AuthError::Malformed))?;
            let tenant = Tenant::from_verified_subject(presented.user_id);
            let mut tx = self.db.begin(&tenant).await?;
            let key = api_keys::authenticate(&mut tx, &presented.hash).await?;
            let Some(key) = key else {
                tx.rollback().await?;
                return Err(Refusal::Auth(AuthError::Revoked));
            };
            tx.commit().await?;
            let principal = Principal {
                tenant,
                credential: Credential::ApiKey {
                    id: key.id,
                    scope: key.scope,
                },
            };
            return Ok((principal, None));
        }
        let token = self.jwt.verify(bearer).map_err(Refusal::Auth)?;
        let mut tx = self.db.begin(&token.tenant).await?;
        if let Err(refused) = revocations::check(&mut tx, &token).await? {
            tx.rollback().await?;
            return Err(Refusal::Auth(refused));
        }
        let principal = Principal {
            tenant: token.tenant,
            credential: Credential::Token {
                jti: token.jti,
                sid: token.sid,
                expires_at: token.expires_at,
            },
        };
        Ok((principal, Some(tx)))
    }
}

/// Why a credential was not accepted: its own fault (401), or the database's (503).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Auth(AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn view(user: &User) -> UserView {
    UserView {
        id: user.id,
        name: user.name.clone(),
        email: user.email.clone(),
    }
}

fn timestamp(secs: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::try_from(secs).unwrap_or(i64::MAX), 0).unwrap_or_else(Utc::now)
}
