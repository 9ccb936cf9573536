//! The one place that reads and writes `tool_calls`.

use uuid::Uuid;

use super::{NewToolCall, Outcome, ToolCall, Transport};
use crate::{Db, StoreError, Tenant, TenantTx};

/// Appends one call to the calling tenant's audit trail.
pub async fn record(tx: &mut TenantTx, call: &NewToolCall<'_>) -> Result<(), StoreError> {
    record_many(tx, std::slice::from_ref(call)).await
}

/// Appends calls of the calling tenant in one statement.
///
/// `RETURNING` is there for Citus: an `INSERT … SELECT` without it is written into the shard
/// with COPY, which row-level security refuses ("COPY FROM not supported with row-level
/// security"); with it, as an `INSERT` that the shard's policies check.
pub async fn record_many(tx: &mut TenantTx, calls: &[NewToolCall<'_>]) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let ids: Vec<Uuid> = calls.iter().map(|_| Uuid::now_v7()).collect();
    let kinds: Vec<&str> = calls.iter().map(|c| c.kind.as_str()).collect();
    let tools: Vec<&str> = calls.iter().map(|c| c.tool).collect();
    let hmacs: Vec<&str> = calls.iter().map(|c| c.args_hmac.as_str()).collect();
    let outcomes: Vec<&str> = calls.iter().map(|c| outcome_str(c.outcome)).collect();
    let latencies: Vec<i64> = calls.iter().map(|c| c.latency_us.max(0)).collect();
    let transports: Vec<&str> = calls.iter().map(|c| transport_str(c.transport)).collect();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO tool_calls (user_id, id, kind, tool, args_hmac, outcome, latency_us, transport) \
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], \
                                  $7::bigint[], $8::text[]) \
         RETURNING id",
    )
    .bind(user_id)
    .bind(ids)
    .bind(kinds)
    .bind(tools)
    .bind(hmacs)
    .bind(outcomes)
    .bind(latencies)
    .bind(transports)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The tenant's most recent calls, newest first.
pub async fn recent(tx: &mut TenantTx, limit: i64) -> Result<Vec<ToolCall>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as::<_, ToolCall>(
        // language=PostgreSQL
        "SELECT user_id, id, kind, tool, args_hmac, outcome, latency_us, transport, created_at \
         FROM tool_calls WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit.clamp(1, 1000))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// Writes calls of possibly many tenants: each tenant's calls in one transaction of its own,
/// under its own tenant context, in one statement. A tenant whose rows cannot be written (its
/// account deleted meanwhile, say) loses its rows of this batch only; the failure is logged.
pub async fn record_batch(db: &Db, calls: &[(Tenant, NewToolCall<'_>)]) {
    let mut tenants: Vec<Tenant> = Vec::new();
    for (tenant, _) in calls {
        if !tenants.contains(tenant) {
            tenants.push(*tenant);
        }
    }
    for tenant in tenants {
        let mine: Vec<NewToolCall<'_>> = calls
            .iter()
            .filter(|(t, _)| *t == tenant)
            .map(|(_, c)| c.clone())
            .collect();
        let written = async {
            let mut tx = db.begin(&tenant).await?;
            record_many(&mut tx, &mine).await?;
            tx.commit().await
        };
        if let Err(e) = written.await {
            tracing::error!(%tenant, calls = mine.len(), error = %e, "writing audited tool calls failed");
        }
    }
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
