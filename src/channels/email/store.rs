//! The one place that reads and writes `email_channels`.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::ChannelView;
use crate::stripe::vault::Sealed;
use crate::{StoreError, TenantTx};

/// A channel as written.
#[derive(Debug, Clone)]
pub struct Row {
    pub address: String,
    pub smtp_url: String,
    pub imap_url: Option<String>,
    pub username: String,
    pub sealed: Sealed,
}

/// A channel as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub row: Row,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Stored {
    pub fn view(&self, mailbox: Option<crate::channels::inbox::MailboxStatus>) -> ChannelView {
        ChannelView {
            address: self.row.address.clone(),
            smtp_url: self.row.smtp_url.clone(),
            imap_url: self.row.imap_url.clone(),
            username: self.row.username.clone(),
            key_id: self.row.sealed.key_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            mailbox,
        }
    }
}

type DbRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    Vec<u8>,
    Vec<u8>,
    DateTime<Utc>,
    DateTime<Utc>,
);

fn stored(r: DbRow) -> Stored {
    let (address, smtp_url, imap_url, username, key_id, nonce, ciphertext, created_at, updated_at) =
        r;
    Stored {
        row: Row {
            address,
            smtp_url,
            imap_url,
            username,
            sealed: Sealed {
                key_id,
                nonce,
                ciphertext,
            },
        },
        created_at,
        updated_at,
    }
}

/// Records the tenant's channel, replacing what was there.
pub async fn upsert(tx: &mut TenantTx, row: &Row) -> Result<Stored, StoreError> {
    let user_id = tx.user_id();
    let r: DbRow = sqlx::query_as(
        // language=PostgreSQL
        "INSERT INTO email_channels (user_id, address, smtp_url, imap_url, username, \
             master_key_id, nonce, ciphertext) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (user_id) DO UPDATE SET address = EXCLUDED.address, \
             smtp_url = EXCLUDED.smtp_url, imap_url = EXCLUDED.imap_url, \
             username = EXCLUDED.username, master_key_id = EXCLUDED.master_key_id, \
             nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext \
         RETURNING address, smtp_url, imap_url, username, master_key_id, nonce, ciphertext, \
                   created_at, updated_at",
    )
    .bind(user_id)
    .bind(&row.address)
    .bind(&row.smtp_url)
    .bind(&row.imap_url)
    .bind(&row.username)
    .bind(&row.sealed.key_id)
    .bind(&row.sealed.nonce)
    .bind(&row.sealed.ciphertext)
    .fetch_one(tx.conn())
    .await?;
    Ok(stored(r))
}

/// The tenant's channel, if any.
pub async fn find(tx: &mut TenantTx) -> Result<Option<Stored>, StoreError> {
    let user_id = tx.user_id();
    let r: Option<DbRow> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT address, smtp_url, imap_url, username, master_key_id, nonce, ciphertext, \
                created_at, updated_at \
         FROM email_channels WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(r.map(stored))
}

/// Forgets the tenant's channel; true when there was one.
pub async fn delete(tx: &mut TenantTx) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "DELETE FROM email_channels WHERE user_id = $1",
    )
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Tenants whose password is sealed under another master key (owner pool, `secrets rekey`).
pub async fn tenants_sealed_under_other_keys(
    owner: &PgPool,
    current_key_id: &str,
) -> Result<Vec<Uuid>, StoreError> {
    let ids = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT user_id FROM email_channels WHERE master_key_id <> $1 ORDER BY user_id",
    )
    .bind(current_key_id)
    .fetch_all(owner)
    .await?;
    Ok(ids)
}
