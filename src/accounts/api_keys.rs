//! The one place that reads and writes `api_keys`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{StoreError, TenantTx};

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    /// Everything the tenant may do over the REST API and MCP.
    Full,
    /// Create tickets and messages through the intake routes, nothing else.
    Intake,
}

/// A key as listed: never the key itself.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub scope: KeyScope,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Records a new key by its digest.
pub async fn create(
    tx: &mut TenantTx,
    name: &str,
    scope: KeyScope,
    prefix: &str,
    hash: &[u8; 32],
) -> Result<ApiKey, StoreError> {
    let name = crate::validate::text("name", name, 100)?;
    let user_id = tx.user_id();
    let key = sqlx::query_as::<_, ApiKey>(
        // language=PostgreSQL
        "INSERT INTO api_keys (user_id, id, name, scope, prefix, key_hash) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id, name, scope, prefix, created_at, last_used_at",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(scope)
    .bind(prefix)
    .bind(&hash[..])
    .fetch_one(tx.conn())
    .await?;
    Ok(key)
}

/// The tenant's keys, newest first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<ApiKey>, StoreError> {
    let user_id = tx.user_id();
    let keys = sqlx::query_as::<_, ApiKey>(
        // language=PostgreSQL
        "SELECT id, name, scope, prefix, created_at, last_used_at FROM api_keys \
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(keys)
}

/// Deletes a key: it is refused from the next request on.
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "DELETE FROM api_keys WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("API key"));
    }
    Ok(())
}

/// The key with this digest, its use recorded (at most once a minute, so that a busy key does
/// not write on every request).
pub async fn authenticate(
    tx: &mut TenantTx,
    hash: &[u8; 32],
) -> Result<Option<ApiKey>, StoreError> {
    let user_id = tx.user_id();
    let key = sqlx::query_as::<_, ApiKey>(
        // language=PostgreSQL
        "SELECT id, name, scope, prefix, created_at, last_used_at FROM api_keys \
         WHERE user_id = $1 AND key_hash = $2",
    )
    .bind(user_id)
    .bind(&hash[..])
    .fetch_optional(tx.conn())
    .await?;
    if let Some(k) = &key
        && k.last_used_at
            .is_none_or(|t| Utc::now() - t > chrono::Duration::seconds(60))
    {
        sqlx::query(
            // language=PostgreSQL
            "UPDATE api_keys SET last_used_at = now() WHERE user_id = $1 AND id = $2",
        )
        .bind(user_id)
        .bind(k.id)
        .execute(tx.conn())
        .await?;
    }
    Ok(key)
}
