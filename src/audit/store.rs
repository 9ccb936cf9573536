//! The one place that reads and writes `tool_calls`.

use sqlx::Row;
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
    let c = Columns::of(calls.iter());
    let query = sqlx::query(
        // language=PostgreSQL
        "INSERT INTO tool_calls (user_id, id, kind, tool, args_hmac, outcome, latency_us, transport) \
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], \
                                  $7::bigint[], $8::text[]) \
         RETURNING id",
    )
    .bind(user_id);
    c.bind(query).execute(tx.conn()).await?;
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

/// Writes calls of possibly many tenants, each tenant's rows under its own tenant context. A
/// tenant whose rows cannot be written (its account deleted meanwhile, say) loses its rows of this
/// batch only; the failure is logged.
///
/// On PostgreSQL the whole batch is one statement, `record_tool_calls` (migration
/// `20261221000010_audit_batch.sql`): it runs as the service role and, for each tenant's run of the
/// batch sorted by tenant, sets that tenant's context and inserts its rows under forced row-level
/// security. One round trip per batch, where a transaction per tenant cost four per tenant — as
/// many as the calls themselves when many tenants are calling. If that statement fails, the batch
/// is written again one tenant per transaction, so that only the tenant at fault loses its rows.
/// On Citus it is always written so.
pub async fn record_batch(db: &Db, calls: &[(Tenant, NewToolCall<'_>)]) -> BatchWritten {
    let mut done = BatchWritten::default();
    if calls.is_empty() {
        return done;
    }
    match db.is_citus().await {
        Ok(false) => match record_batch_at_once(db, calls).await {
            Ok(rows) => {
                done.rows = rows;
                done.in_one_statement = true;
            }
            Err(e) => {
                tracing::warn!(calls = calls.len(), error = %e,
                    "writing a batch of audited tool calls at once failed; writing it tenant by tenant");
                done.rows = record_batch_per_tenant(db, calls).await;
            }
        },
        Ok(true) => done.rows = record_batch_per_tenant(db, calls).await,
        Err(e) => {
            tracing::error!(calls = calls.len(), error = %e, "writing audited tool calls failed");
        }
    }
    done
}

/// What [`record_batch`] wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchWritten {
    /// Rows written.
    pub rows: u64,
    /// Whether the batch went in one statement (else tenant by tenant).
    pub in_one_statement: bool,
}

async fn record_batch_at_once(
    db: &Db,
    calls: &[(Tenant, NewToolCall<'_>)],
) -> Result<u64, StoreError> {
    let mut sorted: Vec<&(Tenant, NewToolCall<'_>)> = calls.iter().collect();
    sorted.sort_by_key(|(t, _)| t.id());
    let user_ids: Vec<Uuid> = sorted.iter().map(|(t, _)| t.id()).collect();
    let c = Columns::of(sorted.iter().map(|(_, c)| c));
    // In a transaction of its own (no tenant's: the function sets each tenant's context itself),
    // so that the rows are committed here whatever state the pooled connection was left in.
    let mut tx = db.pool().begin().await?;
    let query = sqlx::query(
        // language=PostgreSQL
        "SELECT record_tool_calls($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user_ids);
    let rows: i64 = c.bind(query).fetch_one(&mut *tx).await?.try_get(0)?;
    tx.commit().await?;
    Ok(rows.max(0) as u64)
}

async fn record_batch_per_tenant(db: &Db, calls: &[(Tenant, NewToolCall<'_>)]) -> u64 {
    let mut rows = 0;
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
        match written.await {
            Ok(()) => rows += mine.len() as u64,
            Err(e) => {
                tracing::error!(%tenant, calls = mine.len(), error = %e, "writing audited tool calls failed");
            }
        }
    }
    rows
}

/// Calls as the column arrays that the statements unnest, a fresh id for each.
struct Columns<'a> {
    ids: Vec<Uuid>,
    kinds: Vec<&'static str>,
    tools: Vec<&'a str>,
    hmacs: Vec<&'a str>,
    outcomes: Vec<&'static str>,
    latencies: Vec<i64>,
    transports: Vec<&'static str>,
}

impl<'a> Columns<'a> {
    fn of<'c: 'a>(calls: impl ExactSizeIterator<Item = &'a NewToolCall<'c>>) -> Self {
        let n = calls.len();
        let mut c = Self {
            ids: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            tools: Vec::with_capacity(n),
            hmacs: Vec::with_capacity(n),
            outcomes: Vec::with_capacity(n),
            latencies: Vec::with_capacity(n),
            transports: Vec::with_capacity(n),
        };
        for call in calls {
            c.ids.push(Uuid::now_v7());
            c.kinds.push(call.kind.as_str());
            c.tools.push(call.tool);
            c.hmacs.push(call.args_hmac.as_str());
            c.outcomes.push(outcome_str(call.outcome));
            c.latencies.push(call.latency_us.max(0));
            c.transports.push(transport_str(call.transport));
        }
        c
    }

    /// Binds the columns, in their order, after the parameters `query` already has.
    fn bind<'q>(self, query: PgQuery<'q>) -> PgQuery<'q>
    where
        'a: 'q,
    {
        query
            .bind(self.ids)
            .bind(self.kinds)
            .bind(self.tools)
            .bind(self.hmacs)
            .bind(self.outcomes)
            .bind(self.latencies)
            .bind(self.transports)
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

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
