//! The one place that reads and writes `jobs`.

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use super::{ClaimedJob, Job, JobKind};
use crate::{Db, StoreError, Tenant, TenantTx};

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

/// Claims due jobs of any tenant, tenants taking turns, in two steps that run alike on plain
/// PostgreSQL and on Citus (migrations/20261216000010_citus.sql): `due_tenants` names the tenants
/// with due jobs, oldest due job first, and how many more leases each may take; the batch is
/// shared out by turns ([`shares`]); then each tenant's share is claimed in that tenant's own
/// transaction ([`claim_for_tenant`]), one shard on Citus.
pub async fn claim(db: &Db, claim: &Claim<'_>) -> Result<Vec<ClaimedJob>, StoreError> {
    let batch = claim.batch.clamp(1, 100);
    let kinds: Vec<&str> = claim.kinds.iter().map(|k| k.as_str()).collect();
    let tenants: Vec<(Uuid, i64, i32)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT user_id, due, slots FROM due_tenants($1, $2, $3)",
    )
    .bind(&kinds)
    .bind(i32::try_from(claim.per_tenant).unwrap_or(100))
    // Every tenant in a batch gets its first job before any gets its second, so a batch of n
    // jobs needs at most the first n tenants.
    .bind(i32::try_from(batch).unwrap_or(100))
    .fetch_all(db.pool())
    .await?;
    let caps: Vec<u32> = tenants
        .iter()
        .map(|(_, due, slots)| {
            let due = u32::try_from(*due).unwrap_or(u32::MAX);
            due.min(u32::try_from(*slots).unwrap_or(0))
        })
        .collect();
    let mut claimed = Vec::new();
    for ((user_id, _, _), n) in tenants.iter().zip(shares(&caps, batch)) {
        if n > 0 {
            // Trusted: the tenant id comes from a job row.
            let tenant = Tenant::from_trusted_operator_input(*user_id);
            claimed.extend(claim_for_tenant(db, &tenant, claim, n).await?);
        }
    }
    Ok(claimed)
}

/// How many jobs each tenant gets of a batch of `batch`: tenants take turns in the order given
/// (oldest due job first), each up to its cap (its due jobs, and the leases it may still take).
pub fn shares(caps: &[u32], batch: u32) -> Vec<u32> {
    let mut out = vec![0; caps.len()];
    let mut left = batch;
    loop {
        let mut gave = false;
        for (share, cap) in out.iter_mut().zip(caps) {
            if left == 0 {
                return out;
            }
            if *share < *cap {
                *share += 1;
                left -= 1;
                gave = true;
            }
        }
        if !gave {
            return out;
        }
    }
}

/// Claims up to `n` of one tenant's due jobs: queued ones whose run_at has come and running ones
/// whose lease has expired (Q1), oldest first, `FOR UPDATE SKIP LOCKED` so that workers claiming
/// at once take different jobs. Claims of one tenant are serialised by a transaction-level
/// advisory lock on the tenant, so that two workers cannot both take its last free lease
/// (`per_tenant`, D5); on Citus the lock is taken on the node the worker connects to (the
/// coordinator). Every statement says `user_id = $1`.
async fn claim_for_tenant(
    db: &Db,
    tenant: &Tenant,
    claim: &Claim<'_>,
    n: u32,
) -> Result<Vec<ClaimedJob>, StoreError> {
    let mut tx = db.begin(tenant).await?;
    let user_id = tx.user_id();
    sqlx::query("SELECT pg_advisory_xact_lock(7160002, hashtext($1::text))")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    let live: i64 = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT count(*) FROM jobs \
          WHERE user_id = $1 AND status = 'running' AND locked_until >= now()",
    )
    .bind(user_id)
    .fetch_one(tx.conn())
    .await?;
    let free = i64::from(claim.per_tenant.min(100)) - live;
    let n = i64::from(n).min(free);
    if n <= 0 {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let kinds: Vec<&str> = claim.kinds.iter().map(|k| k.as_str()).collect();
    let rows = sqlx::query_as::<_, ClaimedJob>(
        // language=PostgreSQL
        // The due jobs in a CTE, which runs once: as `id IN (subquery)` the planner may rescan
        // the subquery for every row it updates, and each rescan skips the rows this statement
        // has already locked and takes the next ones, past the LIMIT.
        "WITH due AS ( \
             SELECT c.id FROM jobs c \
              WHERE c.user_id = $1 AND c.kind = ANY ($4) \
                AND ((c.status = 'queued' AND c.run_at <= now()) \
                  OR (c.status = 'running' AND c.locked_until < now())) \
              ORDER BY c.run_at, c.id \
              LIMIT $5 \
              FOR UPDATE SKIP LOCKED) \
         UPDATE jobs j \
            SET status = 'running', attempts = j.attempts + 1, locked_by = left($2, 200), \
                locked_until = now() + make_interval(secs => least(greatest($3, 1), 3600)) \
           FROM due \
          WHERE j.user_id = $1 AND j.id = due.id \
          RETURNING j.user_id, j.id, j.kind, j.ticket_id, j.message_id, j.payload_id, \
                    j.attempts, j.max_attempts",
    )
    .bind(user_id)
    .bind(claim.worker)
    .bind(i32::try_from(claim.lease.as_secs()).unwrap_or(i32::MAX))
    .bind(&kinds)
    .bind(n)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
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
///
/// The job is found first and then updated by its full key, so that on Citus the update is one
/// shard's (a write to many shards is a two-phase commit, and a distributed one for one row).
pub async fn retry(owner: &PgPool, id: Uuid) -> Result<Job, StoreError> {
    let job = get(owner, id).await?;
    sqlx::query_as::<_, Job>(
        // language=PostgreSQL
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), locked_by = NULL, \
                locked_until = NULL \
         WHERE user_id = $2 AND id = $1 AND status IN ('dead', 'done') \
         RETURNING user_id, id, kind, ticket_id, message_id, payload_id, status, attempts, \
                   max_attempts, run_at, locked_by, locked_until, last_error, created_at, \
                   updated_at",
    )
    .bind(id)
    .bind(job.user_id)
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

#[cfg(test)]
mod tests {
    use super::shares;

    #[test]
    fn tenants_take_turns_within_their_caps() {
        assert_eq!(shares(&[1000, 1], 4), [3, 1]);
        assert_eq!(shares(&[2, 0, 5], 10), [2, 0, 5]);
        assert_eq!(shares(&[3, 3, 3], 4), [2, 1, 1]);
        assert_eq!(shares(&[], 4), Vec::<u32>::new());
    }
}
