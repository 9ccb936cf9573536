//! A tenant's way into Stripe: connecting, reading it back, disconnecting (SECURITY.md S1).
//!
//! Credentials come from the database only, never from a tool argument or a model. A restricted
//! key is sealed by the [`Vault`] before it is written and opened only to build a request.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ids::AccountId;
use super::store::{self, StoredAccess};
use super::vault::{Vault, VaultError};
use crate::config::Secret;
use crate::{Db, StoreError, Tenant};

/// How a tenant reaches Stripe, ready to use. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// The tenant's own restricted key (`rk_…`), sent as the bearer token.
    RestrictedKey(Secret),
    /// A Connect account (`acct_…`), sent as `Stripe-Account` with the platform key.
    Connect(AccountId),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RestrictedKey(_) => f.write_str("RestrictedKey([redacted])"),
            Self::Connect(account) => write!(f, "Connect({account})"),
        }
    }
}

/// Why connecting or loading Stripe access failed. Messages say what to do and hold no key.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("this tenant has not connected Stripe: run `support-agent stripe connect`")]
    NotConnected,
    #[error(
        "this tenant reaches Stripe through Connect, but this server has no STRIPE_PLATFORM_KEY: \
         an operator should set it"
    )]
    NoPlatformKey,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Client(#[from] super::StripeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks a restricted key's shape. A secret key (`sk_…`) is refused: it can move money, and
/// the agent needs read access only.
pub fn parse_restricted_key(raw: &str) -> Result<Secret, AccessError> {
    let key = raw.trim();
    let invalid = |reason: &str| AccessError::Invalid {
        field: "restricted key",
        reason: reason.to_owned(),
    };
    if key.starts_with("sk_") {
        return Err(invalid(
            "that is a secret key (sk_…), which can move money: create a restricted key (rk_…) \
             with read access to charges, customers, refunds and disputes",
        ));
    }
    let body = key
        .strip_prefix("rk_live_")
        .or_else(|| key.strip_prefix("rk_test_"))
        .ok_or_else(|| invalid("expected a restricted key starting rk_live_ or rk_test_"))?;
    if !(8..=240).contains(&body.len()) || !body.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid(
            "expected letters and digits after rk_live_ or rk_test_",
        ));
    }
    Ok(Secret::new(key))
}

/// Checks a Connect account id such as `acct_1032D82eZvKYlo2C`.
pub fn parse_account_id(raw: &str) -> Result<AccountId, AccessError> {
    AccountId::parse(raw).map_err(|e| AccessError::Invalid {
        field: "account",
        reason: e.to_string(),
    })
}

/// What an operator may see about a tenant's Stripe access: never the key.
#[derive(Debug, Clone, Serialize)]
pub struct AccessStatus {
    pub connected: bool,
    /// `restricted_key` or `connect`.
    pub mode: Option<&'static str>,
    pub account_id: Option<String>,
    /// The key's mode and last four characters, e.g. `rk_live_…wxyz`.
    pub key_hint: Option<String>,
    /// The master key the stored key is sealed under.
    pub key_id: Option<String>,
    pub connected_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Seals and records the tenant's restricted key, or records its Connect account id,
/// replacing any earlier access.
pub async fn connect(
    db: &Db,
    vault: &Vault,
    tenant: &Tenant,
    credential: &Credential,
) -> Result<AccessStatus, AccessError> {
    let access = match credential {
        Credential::RestrictedKey(key) => StoredAccess::RestrictedKey {
            sealed: vault.seal(tenant, key)?,
            key_hint: hint(key.expose()),
        },
        Credential::Connect(account_id) => StoredAccess::Connect {
            account_id: account_id.to_string(),
        },
    };
    let mut tx = db.begin(tenant).await?;
    let account = store::upsert(&mut tx, &access).await?;
    tx.commit().await?;
    Ok(status_of(Some(account)))
}

/// What is recorded for the tenant.
pub async fn status(db: &Db, tenant: &Tenant) -> Result<AccessStatus, AccessError> {
    let mut tx = db.begin(tenant).await?;
    let account = store::find(&mut tx).await?;
    tx.commit().await?;
    Ok(status_of(account))
}

/// Forgets the tenant's Stripe access; true when there was some.
pub async fn disconnect(db: &Db, tenant: &Tenant) -> Result<bool, AccessError> {
    let mut tx = db.begin(tenant).await?;
    let done = store::delete(&mut tx).await?;
    tx.commit().await?;
    Ok(done)
}

/// The tenant's credential, its key opened, for building requests.
pub async fn load(db: &Db, vault: &Vault, tenant: &Tenant) -> Result<Credential, AccessError> {
    let mut tx = db.begin(tenant).await?;
    let account = store::find(&mut tx).await?;
    tx.commit().await?;
    match account.map(|a| a.access) {
        None => Err(AccessError::NotConnected),
        // The column's CHECK constraint holds the same rule as the parser.
        Some(StoredAccess::Connect { account_id }) => Ok(Credential::Connect(
            AccountId::parse(&account_id).map_err(|e| AccessError::Invalid {
                field: "stored account",
                reason: e.to_string(),
            })?,
        )),
        Some(StoredAccess::RestrictedKey { sealed, .. }) => {
            Ok(Credential::RestrictedKey(vault.open(tenant, &sealed)?))
        }
    }
}

/// Re-seals the tenant's key under the current master key; false when there was nothing to do.
pub async fn reseal(db: &Db, vault: &Vault, tenant: &Tenant) -> Result<bool, AccessError> {
    let mut tx = db.begin(tenant).await?;
    let Some(account) = store::find(&mut tx).await? else {
        return Ok(false);
    };
    let StoredAccess::RestrictedKey { sealed, key_hint } = account.access else {
        return Ok(false);
    };
    if sealed.key_id == vault.current_key_id() {
        return Ok(false);
    }
    let key = vault.open(tenant, &sealed)?;
    let access = StoredAccess::RestrictedKey {
        sealed: vault.seal(tenant, &key)?,
        key_hint,
    };
    store::upsert(&mut tx, &access).await?;
    tx.commit().await?;
    Ok(true)
}

fn status_of(account: Option<store::StripeAccount>) -> AccessStatus {
    let mut status = AccessStatus {
        connected: account.is_some(),
        mode: None,
        account_id: None,
        key_hint: None,
        key_id: None,
        connected_at: account.as_ref().map(|a| a.created_at),
        updated_at: account.as_ref().map(|a| a.updated_at),
    };
    match account.map(|a| a.access) {
        Some(StoredAccess::RestrictedKey { sealed, key_hint }) => {
            status.mode = Some("restricted_key");
            status.key_hint = Some(key_hint);
            status.key_id = Some(sealed.key_id);
        }
        Some(StoredAccess::Connect { account_id }) => {
            status.mode = Some("connect");
            status.account_id = Some(account_id);
        }
        None => {}
    }
    status
}

/// `rk_live_…wxyz`: the key's mode and its last four characters.
fn hint(key: &str) -> String {
    let prefix = if key.starts_with("rk_live_") {
        "rk_live_"
    } else {
        "rk_test_"
    };
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}…{tail}")
}
