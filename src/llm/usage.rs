//! The one place that reads and writes `llm_usage`: tokens a tenant's triage jobs spent per UTC
//! day, against `TENANT_LLM_TOKENS_PER_DAY`.

use crate::{StoreError, TenantTx};

/// Tokens the tenant has used today (UTC).
pub async fn today(tx: &mut TenantTx) -> Result<u64, StoreError> {
    let user_id = tx.user_id();
    let used: Option<i64> = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT tokens FROM llm_usage \
         WHERE user_id = $1 AND day = (now() AT TIME ZONE 'UTC')::date",
    )
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(used.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

/// Adds `tokens` to today's count and returns the new total.
pub async fn add(tx: &mut TenantTx, tokens: u64) -> Result<u64, StoreError> {
    let user_id = tx.user_id();
    let total: i64 = sqlx::query_scalar(
        // language=PostgreSQL
        "INSERT INTO llm_usage (user_id, day, tokens) \
         VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2) \
         ON CONFLICT (user_id, day) \
         DO UPDATE SET tokens = llm_usage.tokens + EXCLUDED.tokens, updated_at = now() \
         RETURNING tokens",
    )
    .bind(user_id)
    .bind(i64::try_from(tokens).unwrap_or(i64::MAX))
    .fetch_one(tx.conn())
    .await?;
    Ok(u64::try_from(total).unwrap_or(0))
}
