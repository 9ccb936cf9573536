//! The one place that reads and writes `tool_calls`.

use uuid::Uuid;

use super::{NewToolCall, ToolCall};
use crate::{StoreError, TenantTx};

/// Appends one call to the calling tenant's audit trail.
pub async fn record(tx: &mut TenantTx, call: &NewToolCall<'_>) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO tool_calls (user_id, id, tool, args_sha256, outcome, latency_us, transport) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(call.tool)
    .bind(&call.args_sha256)
    .bind(call.outcome)
    .bind(call.latency_us.max(0))
    .bind(call.transport)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The tenant's most recent calls, newest first.
pub async fn recent(tx: &mut TenantTx, limit: i64) -> Result<Vec<ToolCall>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as::<_, ToolCall>(
        // language=PostgreSQL
        "SELECT * FROM tool_calls WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit.clamp(1, 1000))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}
