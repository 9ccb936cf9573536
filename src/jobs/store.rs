//! The one place that reads and writes `jobs`.

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use super::{ClaimedJob, Job, JobKind};
use crate::{Db, StoreError, TenantTx};

/// Enqueues triage for a ticket (`message_id = None`) or for a customer message, in the caller's
/// transaction (Q3): the job exists exactly when the write that causes it commits. Enqueueing the
/// same trigger twice is a no-op.
pub async fn enqueue_triage(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    message_id: Option<Uuid>,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO jobs (user_id, id, kind, ticket_id, message_id) \
         VALUES ($1, $2, 'triage', $3, $4) \
         ON CONFLICT ON CONSTRAINT jobs_user_id_trigger_key DO NOTHING",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(ticket_id)
    .bind(message_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Queues the handling of a stored Stripe event (`stripe_events.id`), in the transaction that
/// stores it (Q3). Queuing it twice is a no-op.
pub async fn enqueue_stripe_event(tx: &mut TenantTx, event_id: Uuid) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO jobs (user_id, id, kind, payload_id) \
         VALUES ($1, $2, 'stripe_event', $3) \
         ON CONFLICT ON CONSTRAINT jobs_user_id_trigger_key DO NOTHING",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(event_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// What a claim asks for.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    /// Names this worker in `jobs.locked_by`.
    pub worker: &'a str,
    /// Jobs at most.
    pub batch: u32,
    /// How long the jobs are this worker's (at most an hour).
    pub lease: Duration,
    /// Only jobs of these kinds: the ones this worker has handlers for.
    pub kinds: &'a [JobKind],
    /// Leases one tenant may hold at once (`TENANT_MAX_RUNNING_JOBS`).
    pub per_tenant: u32,
}

/// Queues the delivery of an agent's reply or an approved draft (`message_id`) to the customer,
/// in the caller's transaction (Q3). Queuing it twice is a no-op.
pub async fn enqueue_delivery(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    message_id: Uuid,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO jobs (user_id, id, kind, ticket_id, message_id) \
         VALUES ($1, $2, 'deliver', $3, $4) \
         ON CONFLICT ON CONSTRAINT jobs_user_id_trigger_key DO NOTHING",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(ticket_id)
    .bind(message_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Queues the delivery of a message again with a fresh set of attempts (a person's resend).
pub async fn requeue_delivery(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    message_id: Uuid,
) -> Result<(), StoreError> {
    requeue(
        tx,
        JobKind::Deliver,
        ticket_id,
        Some(message_id),
        "this message is being delivered now: try again when it has finished",
    )
    .await
}

/// Queues triage of a trigger again with a fresh set of attempts (re-running triage); a job of it
/// that is running is a conflict.
pub async fn requeue_triage(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    message_id: Option<Uuid>,
) -> Result<(), StoreError> {
    requeue(
        tx,
        JobKind::Triage,
        ticket_id,
        message_id,
        "triage of this ticket is running now: try again when it has finished",
    )
    .await
}

/// Queues the job of `kind` for a trigger, or resets the existing one to a fresh set of attempts;
/// one that is running is a conflict (`busy` says so).
async fn requeue(
    tx: &mut TenantTx,
    kind: JobKind,
    ticket_id: Uuid,
    message_id: Option<Uuid>,
    busy: &str,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "INSERT INTO jobs (user_id, id, kind, ticket_id, message_id) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT ON CONSTRAINT jobs_user_id_trigger_key DO UPDATE \
           SET status = 'queued', attempts = 0, run_at = now(), last_error = NULL \
           WHERE jobs.status <> 'running'",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(kind.as_str())
    .bind(ticket_id)
    .bind(message_id)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::Conflict(busy.into()));
    }
    Ok(())
}

/// Claims due jobs of any tenant, tenants taking turns (see `claim_jobs` in the migrations).
pub async fn claim(db: &Db, claim: &Claim<'_>) -> Result<Vec<ClaimedJob>, StoreError> {
    let kinds: Vec<&str> = claim.kinds.iter().map(|k| k.as_str()).collect();
    let rows = sqlx::query_as::<_, ClaimedJob>(
        // language=PostgreSQL
        "SELECT user_id, id, kind, ticket_id, message_id, payload_id, attempts, max_attempts \
         FROM claim_jobs($1, $2, $3, $4, $5)",
    )
    .bind(claim.worker)
    .bind(i32::try_from(claim.batch).unwrap_or(100))
    .bind(i32::try_from(claim.lease.as_secs()).unwrap_or(i32::MAX))
    .bind(kinds)
    .bind(i32::try_from(claim.per_tenant).unwrap_or(100))
    .fetch_all(db.pool())
    .await?;
    Ok(rows)
}

/// Marks a job done, with a note when a limit shaped its result; only the worker that holds the
/// lease can. False when it no longer does.
pub async fn complete(
    tx: &mut TenantTx,
    job: Uuid,
    worker: &str,
    note: Option<&str>,
) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let note: Option<String> = note.map(|n| n.chars().take(2000).collect());
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, last_error = $4 \
         WHERE user_id = $1 AND id = $2 AND status = 'running' AND locked_by = $3",
    )
    .bind(user_id)
    .bind(job)
    .bind(worker)
    .bind(note)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records a failed attempt: queued again after `retry_in`, or `dead` when `retry_in` is None.
pub async fn fail(
    tx: &mut TenantTx,
    job: Uuid,
    worker: &str,
    error: &str,
    retry_in: Option<Duration>,
) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let run_at = retry_in.map(|d| Utc::now() + chrono::Duration::from_std(d).unwrap_or_default());
    let error: String = error.chars().take(2000).collect();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE jobs SET status = CASE WHEN $4::timestamptz IS NULL THEN 'dead' ELSE 'queued' END, \
                run_at = COALESCE($4, run_at), last_error = $5, locked_by = NULL, locked_until = NULL \
         WHERE user_id = $1 AND id = $2 AND status = 'running' AND locked_by = $3",
    )
    .bind(user_id)
    .bind(job)
    .bind(worker)
    .bind(run_at)
    .bind(error)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Gives a job back without counting the attempt (a worker shutting down before it finished).
pub async fn release(tx: &mut TenantTx, job: Uuid, worker: &str) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE jobs SET status = 'queued', attempts = greatest(attempts - 1, 0), run_at = now(), \
                locked_by = NULL, locked_until = NULL \
         WHERE user_id = $1 AND id = $2 AND status = 'running' AND locked_by = $3",
    )
    .bind(user_id)
    .bind(job)
    .bind(worker)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Operator view across tenants, newest first; `owner` must be the owner pool.
pub async fn list(
    owner: &PgPool,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Job>, StoreError> {
    let rows = sqlx::query_as::<_, Job>(
        // language=PostgreSQL
        "SELECT user_id, id, kind, ticket_id, message_id, payload_id, status, attempts, \
                max_attempts, run_at, locked_by, locked_until, last_error, created_at, updated_at \
         FROM jobs WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(status)
    .bind(limit.clamp(1, 1000))
    .fetch_all(owner)
    .await?;
    Ok(rows)
}

/// One job of any tenant, for the operator; `owner` must be the owner pool.
pub async fn get(owner: &PgPool, id: Uuid) -> Result<Job, StoreError> {
    sqlx::query_as::<_, Job>(
        // language=PostgreSQL
        "SELECT user_id, id, kind, ticket_id, message_id, payload_id, status, attempts, \
                max_attempts, run_at, locked_by, locked_until, last_error, created_at, updated_at \
         FROM jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(owner)
    .await?
    .ok_or(StoreError::NotFound("job"))
}

/// Puts a dead (or done) job back in the queue with a fresh set of attempts; `owner` pool.
pub async fn retry(owner: &PgPool, id: Uuid) -> Result<Job, StoreError> {
    sqlx::query_as::<_, Job>(
        // language=PostgreSQL
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), locked_by = NULL, \
                locked_until = NULL \
         WHERE id = $1 AND status IN ('dead', 'done') \
         RETURNING user_id, id, kind, ticket_id, message_id, payload_id, status, attempts, \
                   max_attempts, run_at, locked_by, locked_until, last_error, created_at, \
                   updated_at",
    )
    .bind(id)
    .fetch_optional(owner)
    .await?
    .ok_or(StoreError::NotFound("dead or done job"))
}

/// Marks a ticket's queued jobs done without running them: for imported history, whose tickets
/// a person has already handled.
pub async fn discard_for_ticket(tx: &mut TenantTx, ticket_id: Uuid) -> Result<u64, StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE jobs SET status = 'done', last_error = 'imported history: not triaged' \
         WHERE user_id = $1 AND ticket_id = $2 AND status = 'queued'",
    )
    .bind(user_id)
    .bind(ticket_id)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected())
}

/// Queues an approved Stripe action (`actions.id`) on its ticket, due after `due_in`, in the
/// transaction that approves it (Q3): the approval carries it out at once and settles the job
/// ([`settle_action`]); the worker runs it only when that did not finish (a crash, no answer).
/// Queuing it twice is a no-op.
pub async fn enqueue_action(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    action_id: Uuid,
    due_in: Duration,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let run_at = Utc::now() + chrono::Duration::from_std(due_in).unwrap_or_default();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO jobs (user_id, id, kind, ticket_id, payload_id, run_at) \
         VALUES ($1, $2, 'stripe_action', $3, $4, $5) \
         ON CONFLICT ON CONSTRAINT jobs_user_id_trigger_key DO NOTHING",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(ticket_id)
    .bind(action_id)
    .bind(run_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Marks the queued job of an action done without running it: the approval carried it out.
/// A job a worker is running is left to it (it finds the action finished).
pub async fn settle_action(tx: &mut TenantTx, action_id: Uuid) -> Result<u64, StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE jobs SET status = 'done', last_error = 'carried out when it was approved' \
         WHERE user_id = $1 AND kind = 'stripe_action' AND payload_id = $2 AND status = 'queued'",
    )
    .bind(user_id)
    .bind(action_id)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected())
}
