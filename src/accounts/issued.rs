//! The one place that reads and writes `issued_tokens`: tokens an operator issued, so that
//! `token revoke --jti` can find a token's tenant from its id alone.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{StoreError, TenantTx};

/// Records a token issued to the calling tenant.
pub async fn record(
    tx: &mut TenantTx,
    jti: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO issued_tokens (user_id, jti, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(user_id)
    .bind(jti)
    .bind(expires_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The tenant and expiry of an issued token; `owner` is the owner pool (its operator_read policy
/// sees every tenant's rows).
pub async fn find(
    owner: &sqlx::PgPool,
    jti: Uuid,
) -> Result<Option<(Uuid, DateTime<Utc>)>, StoreError> {
    let row = sqlx::query_as(
        // language=PostgreSQL
        "SELECT user_id, expires_at FROM issued_tokens WHERE jti = $1",
    )
    .bind(jti)
    .fetch_optional(owner)
    .await?;
    Ok(row)
}
