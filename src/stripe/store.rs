//! The one place that reads and writes `stripe_accounts`.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::vault::Sealed;
use crate::{StoreError, TenantTx};

/// How a tenant reaches Stripe, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredAccess {
    /// A restricted key, sealed; `key_hint` is its mode and last four characters.
    RestrictedKey { sealed: Sealed, key_hint: String },
    /// A Connect account id, used with the platform key.
    Connect { account_id: String },
}

/// A tenant's row of `stripe_accounts`.
#[derive(Debug, Clone)]
pub struct StripeAccount {
    pub access: StoredAccess,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    mode: String,
    account_id: Option<String>,
    key_id: Option<String>,
    nonce: Option<Vec<u8>>,
    ciphertext: Option<Vec<u8>>,
    key_hint: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_account(self) -> Result<StripeAccount, StoreError> {
        let access = match (self.mode.as_str(), self.account_id) {
            ("connect", Some(account_id)) => StoredAccess::Connect { account_id },
            ("restricted_key", None) => StoredAccess::RestrictedKey {
                sealed: Sealed {
                    key_id: self.key_id.unwrap_or_default(),
                    nonce: self.nonce.unwrap_or_default(),
                    ciphertext: self.ciphertext.unwrap_or_default(),
                },
                key_hint: self.key_hint.unwrap_or_default(),
            },
            // The table's CHECK constraint rules this out.
            _ => return Err(StoreError::invalid("stripe_accounts", "inconsistent row")),
        };
        Ok(StripeAccount {
            access,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str =
    "mode, account_id, key_id, nonce, ciphertext, key_hint, created_at, updated_at";

/// Records how the tenant reaches Stripe, replacing what was there.
pub async fn upsert(tx: &mut TenantTx, access: &StoredAccess) -> Result<StripeAccount, StoreError> {
    let (mode, account_id, sealed, hint) = match access {
        StoredAccess::RestrictedKey { sealed, key_hint } => (
            "restricted_key",
            None,
            Some(sealed),
            Some(key_hint.as_str()),
        ),
        StoredAccess::Connect { account_id } => ("connect", Some(account_id.as_str()), None, None),
    };
    let user_id = tx.user_id();
    let row = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "INSERT INTO stripe_accounts \
             (user_id, mode, account_id, key_id, nonce, ciphertext, key_hint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (user_id) DO UPDATE SET mode = EXCLUDED.mode, \
             account_id = EXCLUDED.account_id, key_id = EXCLUDED.key_id, \
             nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, \
             key_hint = EXCLUDED.key_hint \
         RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(mode)
    .bind(account_id)
    .bind(sealed.map(|s| s.key_id.as_str()))
    .bind(sealed.map(|s| s.nonce.as_slice()))
    .bind(sealed.map(|s| s.ciphertext.as_slice()))
    .bind(hint)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| {
        crate::db::constraint_violation(
            e,
            &[("stripe_accounts_account_id_key", || {
                StoreError::Conflict(
                    "this Connect account is already connected to another tenant: one Stripe \
                     account belongs to one desk"
                        .into(),
                )
            })],
        )
    })?;
    row.into_account()
}

/// The tenant's Stripe access, if any.
pub async fn find(tx: &mut TenantTx) -> Result<Option<StripeAccount>, StoreError> {
    let user_id = tx.user_id();
    let row = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "SELECT {COLUMNS} FROM stripe_accounts WHERE user_id = $1"
    )))
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    row.map(Row::into_account).transpose()
}

/// Forgets the tenant's Stripe access; true when there was some.
pub async fn delete(tx: &mut TenantTx) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let done = sqlx::query(
        // language=PostgreSQL
        "DELETE FROM stripe_accounts WHERE user_id = $1",
    )
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Tenants whose key is sealed under another master key than `current_key_id`, read across
/// tenants through the owner role's read-only policy (the operator's `stripe rekey`).
pub async fn tenants_sealed_under_other_keys(
    owner: &PgPool,
    current_key_id: &str,
) -> Result<Vec<Uuid>, StoreError> {
    let ids = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT user_id FROM stripe_accounts \
         WHERE mode = 'restricted_key' AND key_id <> $1 ORDER BY user_id",
    )
    .bind(current_key_id)
    .fetch_all(owner)
    .await?;
    Ok(ids)
}
