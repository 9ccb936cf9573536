//! The one place that reads and writes `stripe_webhooks` and `stripe_events`, and calls
//! `stripe_tenant_by_account`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use sqlx::PgPool;

use crate::stripe::vault::Sealed;
use crate::{Db, StoreError, TenantTx};

/// A tenant's endpoint and its sealed signing secrets.
#[derive(Debug, Clone)]
pub struct StoredWebhook {
    pub endpoint_id: String,
    pub current: Sealed,
    /// The secret before the current one, while it is still valid.
    pub previous: Option<(Sealed, DateTime<Utc>)>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    endpoint_id: String,
    master_key_id: String,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
    previous_master_key_id: Option<String>,
    previous_nonce: Option<Vec<u8>>,
    previous_ciphertext: Option<Vec<u8>>,
    previous_until: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl From<WebhookRow> for StoredWebhook {
    fn from(r: WebhookRow) -> Self {
        let previous = match (
            r.previous_master_key_id,
            r.previous_nonce,
            r.previous_ciphertext,
            r.previous_until,
        ) {
            (Some(key_id), Some(nonce), Some(ciphertext), Some(until)) => Some((
                Sealed {
                    key_id,
                    nonce,
                    ciphertext,
                },
                until,
            )),
            _ => None,
        };
        Self {
            endpoint_id: r.endpoint_id,
            current: Sealed {
                key_id: r.master_key_id,
                nonce: r.nonce,
                ciphertext: r.ciphertext,
            },
            previous,
            updated_at: r.updated_at,
        }
    }
}

const WEBHOOK_COLUMNS: &str = "endpoint_id, master_key_id, nonce, ciphertext, \
    previous_master_key_id, previous_nonce, previous_ciphertext, previous_until, updated_at";

/// The tenant's endpoint, if it has one.
pub async fn find_webhook(tx: &mut TenantTx) -> Result<Option<StoredWebhook>, StoreError> {
    let user_id = tx.user_id();
    let row = sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "SELECT {WEBHOOK_COLUMNS} FROM stripe_webhooks WHERE user_id = $1"
    )))
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(StoredWebhook::from))
}

/// Records the tenant's endpoint with `current` as its secret; an earlier secret stays valid
/// until `previous_until`. The endpoint id is kept when the tenant has one already.
pub async fn put_webhook(
    tx: &mut TenantTx,
    endpoint_id: &str,
    current: &Sealed,
    previous: Option<(&Sealed, DateTime<Utc>)>,
) -> Result<StoredWebhook, StoreError> {
    let user_id = tx.user_id();
    let row = sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "INSERT INTO stripe_webhooks (user_id, endpoint_id, master_key_id, nonce, ciphertext, \
             previous_master_key_id, previous_nonce, previous_ciphertext, previous_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (user_id) DO UPDATE SET master_key_id = EXCLUDED.master_key_id, \
             nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, \
             previous_master_key_id = EXCLUDED.previous_master_key_id, \
             previous_nonce = EXCLUDED.previous_nonce, \
             previous_ciphertext = EXCLUDED.previous_ciphertext, \
             previous_until = EXCLUDED.previous_until \
         RETURNING {WEBHOOK_COLUMNS}"
    )))
    .bind(user_id)
    .bind(endpoint_id)
    .bind(&current.key_id)
    .bind(&current.nonce)
    .bind(&current.ciphertext)
    .bind(previous.map(|(s, _)| s.key_id.as_str()))
    .bind(previous.map(|(s, _)| s.nonce.as_slice()))
    .bind(previous.map(|(s, _)| s.ciphertext.as_slice()))
    .bind(previous.map(|(_, until)| until))
    .fetch_one(tx.conn())
    .await?;
    Ok(row.into())
}

/// An event to store.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub event_id: &'a str,
    pub kind: &'a str,
    pub account_id: Option<&'a str>,
    pub livemode: bool,
    pub created: DateTime<Utc>,
    pub payload: &'a serde_json::Value,
}

/// Stores an event once; the new row's id, or `None` when the tenant has it already (a
/// replay).
pub async fn insert_event(
    tx: &mut TenantTx,
    event: &NewEvent<'_>,
) -> Result<Option<Uuid>, StoreError> {
    let user_id = tx.user_id();
    let id: Option<Uuid> = sqlx::query_scalar(
        // language=PostgreSQL
        "INSERT INTO stripe_events \
             (user_id, id, event_id, type, account_id, livemode, event_created, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT ON CONSTRAINT stripe_events_user_id_event_id_key DO NOTHING \
         RETURNING id",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(event.event_id)
    .bind(event.kind)
    .bind(event.account_id)
    .bind(event.livemode)
    .bind(event.created)
    .bind(event.payload)
    .fetch_optional(tx.conn())
    .await?;
    Ok(id)
}

/// A stored event, as its job reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: Uuid,
    pub event_id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub payload: serde_json::Value,
    pub received_at: DateTime<Utc>,
    pub handled_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub ticket_id: Option<Uuid>,
}

/// The event, locked for this transaction (its job's handling happens once).
pub async fn lock_event(tx: &mut TenantTx, id: Uuid) -> Result<StoredEvent, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, StoredEvent>(
        // language=PostgreSQL
        "SELECT id, event_id, type, payload, received_at, handled_at, outcome, ticket_id \
         FROM stripe_events WHERE user_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("stripe event"))
}

/// The event without a lock.
pub async fn get_event(tx: &mut TenantTx, id: Uuid) -> Result<StoredEvent, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, StoredEvent>(
        // language=PostgreSQL
        "SELECT id, event_id, type, payload, received_at, handled_at, outcome, ticket_id \
         FROM stripe_events WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("stripe event"))
}

/// Records what handling the event did.
pub async fn mark_handled(
    tx: &mut TenantTx,
    id: Uuid,
    outcome: &str,
    ticket_id: Option<Uuid>,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let outcome: String = outcome.chars().take(2000).collect();
    sqlx::query(
        // language=PostgreSQL
        "UPDATE stripe_events SET handled_at = now(), outcome = $3, ticket_id = $4 \
         WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .bind(outcome)
    .bind(ticket_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// When the tenant's last event came, if one has.
pub async fn last_event_at(tx: &mut TenantTx) -> Result<Option<DateTime<Utc>>, StoreError> {
    let user_id = tx.user_id();
    let at = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT max(received_at) FROM stripe_events WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(tx.conn())
    .await?;
    Ok(at)
}

/// The tenant whose Connect account `account` is, through the one SECURITY DEFINER lookup
/// (SECURITY.md D4); called only for a verified event.
pub async fn tenant_by_account(db: &Db, account: &str) -> Result<Option<Uuid>, StoreError> {
    let id = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT stripe_tenant_by_account($1)",
    )
    .bind(account)
    .fetch_one(db.pool())
    .await?;
    Ok(id)
}

/// Tenants with a webhook secret (current or previous) sealed under another master key than
/// `current_key_id`, read through the owner role's read-only policy (`secrets rekey`).
pub async fn tenants_sealed_under_other_keys(
    owner: &PgPool,
    current_key_id: &str,
) -> Result<Vec<Uuid>, StoreError> {
    let ids = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT user_id FROM stripe_webhooks \
         WHERE master_key_id <> $1 OR previous_master_key_id <> $1 ORDER BY user_id",
    )
    .bind(current_key_id)
    .fetch_all(owner)
    .await?;
    Ok(ids)
}
