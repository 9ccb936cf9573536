//! The one place that reads and writes `tool_calls`.

use std::fmt::Write;

use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{NewToolCall, Outcome, ToolCall, Transport};
use crate::{Db, StoreError, Tenant, TenantTx};

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

/// Writes calls of possibly many tenants in one transaction and one round trip for the rows.
///
/// Each run of rows of one tenant is preceded by `SET LOCAL app.current_user_id` for that tenant,
/// so row-level security's WITH CHECK holds for every row exactly as in a [`TenantTx`]. Every
/// value is written as a literal formatted from a typed value the server produced itself (UUIDs,
/// integers, the enums below, the hex digest, and a tool name from the static catalog, checked
/// to be `[a-z0-9_]`), never from client text, so no literal can carry a quote.
pub async fn record_batch(db: &Db, calls: &[(Tenant, NewToolCall<'_>)]) -> Result<(), StoreError> {
    let mut sql = String::new();
    let mut current = None;
    for (tenant, call) in calls {
        let safe_tool = !call.tool.is_empty()
            && call
                .tool
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let safe_hash =
            call.args_sha256.len() == 64 && call.args_sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !safe_tool || !safe_hash {
            tracing::error!(%tenant, "an audited call with a malformed tool name or hash was dropped");
            continue;
        }
        let user_id = tenant.id().hyphenated();
        if current != Some(tenant.id()) {
            let _ = write!(sql, "SET LOCAL app.current_user_id = '{user_id}';");
            current = Some(tenant.id());
        }
        let _ = write!(
            sql,
            "INSERT INTO tool_calls (user_id, id, tool, args_sha256, outcome, latency_us, transport) \
             VALUES ('{user_id}', '{}', '{}', '{}', '{}', {}, '{}');",
            Uuid::now_v7().hyphenated(),
            call.tool,
            call.args_sha256.to_ascii_lowercase(),
            outcome_str(call.outcome),
            call.latency_us.max(0),
            transport_str(call.transport),
        );
    }
    if sql.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool().begin().await?;
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::NotFound => "not_found",
        Outcome::Invalid => "invalid",
        Outcome::Error => "error",
    }
}

fn transport_str(t: Transport) -> &'static str {
    match t {
        Transport::Stdio => "stdio",
        Transport::Http => "http",
        Transport::Agent => "agent",
    }
}
