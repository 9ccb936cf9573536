//! The one place that reads and writes `email_mailboxes` and `inbound_emails`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{MailboxStatus, Outcome};
use crate::db::constraint_violation;
use crate::{StoreError, TenantTx};

/// A channel removed while its mailbox was read: its row cannot be written.
fn channel_gone(e: sqlx::Error) -> StoreError {
    constraint_violation(
        e,
        &[("email_mailboxes_user_id_fkey", || {
            StoreError::NotFound("email channel")
        })],
    )
}

/// Tenants with a mailbox to watch and when their channel last changed (owner-free: the
/// SECURITY DEFINER function `email_mailboxes_to_watch`).
pub async fn to_watch(pool: &PgPool) -> Result<Vec<(Uuid, DateTime<Utc>)>, StoreError> {
    let rows = sqlx::query_as(
        // language=PostgreSQL
        "SELECT user_id, changed_at FROM email_mailboxes_to_watch()",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Takes (or renews) the right to read the mailbox for `lease`: false while another worker's
/// lease is live.
pub async fn take_lease(
    tx: &mut TenantTx,
    source: &str,
    watcher: &str,
    lease: Duration,
) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let got: Option<i32> = sqlx::query_scalar(
        // language=PostgreSQL
        "INSERT INTO email_mailboxes (user_id, source, watcher, lease_until) \
         VALUES ($1, $2, $3, now() + make_interval(secs => $4)) \
         ON CONFLICT (user_id) DO UPDATE SET watcher = EXCLUDED.watcher, \
                lease_until = EXCLUDED.lease_until \
          WHERE email_mailboxes.watcher IS NULL OR email_mailboxes.watcher = EXCLUDED.watcher \
             OR email_mailboxes.lease_until IS NULL OR email_mailboxes.lease_until < now() \
         RETURNING 1",
    )
    .bind(user_id)
    .bind(source)
    .bind(left(watcher, 200))
    .bind(lease.as_secs_f64())
    .fetch_optional(tx.conn())
    .await
    .map_err(channel_gone)?;
    Ok(got.is_some())
}

/// Gives the lease back (a worker shutting down).
pub async fn release_lease(tx: &mut TenantTx, watcher: &str) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "UPDATE email_mailboxes SET watcher = NULL, lease_until = NULL \
         WHERE user_id = $1 AND watcher = $2",
    )
    .bind(user_id)
    .bind(left(watcher, 200))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The UID above which mails are new, for the mailbox as the server numbers it now: the stored
/// position, or 0 when the position was for another source or another UIDVALIDITY (the mailbox
/// was renumbered) — the mails read before are then known by their keys.
pub async fn position(
    tx: &mut TenantTx,
    source: &str,
    uidvalidity: u32,
) -> Result<u32, StoreError> {
    let user_id = tx.user_id();
    let last: i64 = sqlx::query_scalar(
        // language=PostgreSQL
        "INSERT INTO email_mailboxes (user_id, source, uidvalidity, last_uid) \
         VALUES ($1, $2, $3, 0) \
         ON CONFLICT (user_id) DO UPDATE SET \
                last_uid = CASE WHEN email_mailboxes.source = EXCLUDED.source \
                                 AND email_mailboxes.uidvalidity = EXCLUDED.uidvalidity \
                                THEN email_mailboxes.last_uid ELSE 0 END, \
                source = EXCLUDED.source, uidvalidity = EXCLUDED.uidvalidity \
         RETURNING last_uid",
    )
    .bind(user_id)
    .bind(source)
    .bind(i64::from(uidvalidity))
    .fetch_one(tx.conn())
    .await
    .map_err(channel_gone)?;
    Ok(u32::try_from(last).unwrap_or(0))
}

/// Locks the mailbox's position for the rest of the transaction: (UIDVALIDITY, last UID).
pub async fn lock_position(tx: &mut TenantTx) -> Result<(Option<u32>, u32), StoreError> {
    let user_id = tx.user_id();
    let row: Option<(Option<i64>, i64)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT uidvalidity, last_uid FROM email_mailboxes WHERE user_id = $1 FOR UPDATE",
    )
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    let (uv, last) = row.ok_or(StoreError::NotFound("mailbox"))?;
    Ok((
        uv.and_then(|v| u32::try_from(v).ok()),
        u32::try_from(last).unwrap_or(0),
    ))
}

/// Moves the position past `uid`, counting a duplicate when it was one.
pub async fn advance(tx: &mut TenantTx, uid: u32, duplicate: bool) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "UPDATE email_mailboxes SET last_uid = GREATEST(last_uid, $2), \
                duplicates = duplicates + $3 \
         WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(i64::from(uid))
    .bind(i64::from(duplicate))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Records a successful pass over the mailbox.
pub async fn record_ok(tx: &mut TenantTx) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "UPDATE email_mailboxes SET last_ok_at = now(), failures = 0 WHERE user_id = $1",
    )
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Records why the mailbox could not be read (a refused login, no answer), with the time.
pub async fn record_error(tx: &mut TenantTx, source: &str, error: &str) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO email_mailboxes (user_id, source, last_error, last_error_at, failures) \
         VALUES ($1, $2, $3, now(), 1) \
         ON CONFLICT (user_id) DO UPDATE SET last_error = EXCLUDED.last_error, \
                last_error_at = now(), failures = email_mailboxes.failures + 1",
    )
    .bind(user_id)
    .bind(source)
    .bind(left(error, 2000))
    .execute(tx.conn())
    .await
    .map_err(channel_gone)?;
    Ok(())
}

/// Whether a mail with this key was read before.
pub async fn seen(tx: &mut TenantTx, key: &str) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let seen: bool = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT EXISTS (SELECT 1 FROM inbound_emails WHERE user_id = $1 AND message_key = $2)",
    )
    .bind(user_id)
    .bind(key)
    .fetch_one(tx.conn())
    .await?;
    Ok(seen)
}

/// One mail read, as recorded.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub key: &'a str,
    pub uidvalidity: u32,
    pub uid: u32,
    pub outcome: Outcome,
    pub reason: Option<&'a str>,
    pub from_address: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub size: u64,
    pub attachments: &'a serde_json::Value,
    pub ticket_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
}

/// Records a mail read; false when its key was recorded already.
pub async fn record(tx: &mut TenantTx, r: &Record<'_>) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let done = sqlx::query(
        // language=PostgreSQL
        "INSERT INTO inbound_emails (user_id, id, message_key, uidvalidity, uid, outcome, reason, \
                from_address, subject, size_bytes, attachments, ticket_id, message_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT ON CONSTRAINT inbound_emails_user_id_message_key_key DO NOTHING",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(r.key)
    .bind(i64::from(r.uidvalidity))
    .bind(i64::from(r.uid))
    .bind(r.outcome.as_str())
    .bind(r.reason.map(|s| left(s, 2000)))
    .bind(r.from_address.map(|s| left(s, 320)))
    .bind(r.subject.map(|s| left(s, 300)))
    .bind(i64::try_from(r.size).unwrap_or(i64::MAX))
    .bind(r.attachments)
    .bind(r.ticket_id)
    .bind(r.message_id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The newest ticket a customer mail among `keys` was filed on.
pub async fn ticket_of_keys(
    tx: &mut TenantTx,
    keys: &[String],
) -> Result<Option<Uuid>, StoreError> {
    if keys.is_empty() {
        return Ok(None);
    }
    let user_id = tx.user_id();
    let t = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT ticket_id FROM inbound_emails \
         WHERE user_id = $1 AND message_key = ANY($2) AND ticket_id IS NOT NULL \
         ORDER BY received_at DESC, id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(keys)
    .fetch_optional(tx.conn())
    .await?;
    Ok(t)
}

/// The Message-ID of the mail that opened `ticket`, if a mail did.
pub async fn opening_message_id(
    tx: &mut TenantTx,
    ticket_id: Uuid,
) -> Result<Option<String>, StoreError> {
    let user_id = tx.user_id();
    let id = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT message_key FROM inbound_emails \
         WHERE user_id = $1 AND ticket_id = $2 AND outcome = 'ticket' AND message_key LIKE '<%' \
         ORDER BY received_at LIMIT 1",
    )
    .bind(user_id)
    .bind(ticket_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(id)
}

type StatusRow = (
    Option<i64>,
    i64,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<DateTime<Utc>>,
    i32,
    i64,
);

/// What `channels email status` shows of the mailbox; `None` before it was first read.
pub async fn status(tx: &mut TenantTx) -> Result<Option<MailboxStatus>, StoreError> {
    let user_id = tx.user_id();
    let row: Option<StatusRow> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT uidvalidity, last_uid, watcher, lease_until, last_ok_at, last_error, \
                last_error_at, failures, duplicates \
         FROM email_mailboxes WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    let Some((
        uidvalidity,
        last_uid,
        watcher,
        lease_until,
        last_ok_at,
        last_error,
        last_error_at,
        failures,
        duplicates,
    )) = row
    else {
        return Ok(None);
    };
    let counts: Vec<(String, i64)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT outcome, count(*) FROM inbound_emails WHERE user_id = $1 GROUP BY outcome",
    )
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    let count = |o: &str| {
        counts
            .iter()
            .find(|(k, _)| k == o)
            .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
    };
    let live = lease_until.is_some_and(|t| t > Utc::now());
    Ok(Some(MailboxStatus {
        state: MailboxStatus::state_of(last_ok_at, last_error_at),
        watcher: watcher.filter(|_| live),
        last_ok_at,
        last_error,
        last_error_at,
        failures: u32::try_from(failures).unwrap_or(0),
        uidvalidity: uidvalidity.and_then(|v| u32::try_from(v).ok()),
        last_uid: u32::try_from(last_uid).unwrap_or(0),
        tickets: count("ticket"),
        messages: count("message"),
        auto_replies: count("auto_reply"),
        bounces: count("bounce"),
        loops: count("loop"),
        rejected: count("rejected"),
        duplicates: u64::try_from(duplicates).unwrap_or(0),
    }))
}

fn left(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
