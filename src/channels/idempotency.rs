//! `Idempotency-Key` for the intake routes (SECURITY.md W4): the first answer to a key is stored
//! in the transaction that makes it, so a retry with the same key and body gets that answer and
//! nothing is written twice; the same key with another body is refused (`422`). Two requests
//! with one key at once: the second waits for the first's row, then replays its answer.

use sha2::{Digest, Sha256};

use crate::{StoreError, TenantTx};

/// A request's key and the digest of what it asked (route and body).
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: [u8; 32],
}

impl Idempotency {
    /// Checks the header's value: 1 to 255 visible ASCII characters.
    pub fn new(key: &str, route: &str, body: &[u8]) -> Result<Self, StoreError> {
        let key = key.trim();
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StoreError::invalid(
                "Idempotency-Key",
                "use 1 to 255 visible ASCII characters",
            ));
        }
        let mut h = Sha256::new();
        h.update(route.as_bytes());
        h.update([0]);
        h.update(body);
        Ok(Self {
            key: key.to_owned(),
            request_hash: h.finalize().into(),
        })
    }
}

/// The stored first answer: status and body.
pub type Stored = (u16, serde_json::Value);

/// Takes the key for this request, or returns the answer stored under it.
pub async fn claim(tx: &mut TenantTx, idem: &Idempotency) -> Result<Option<Stored>, StoreError> {
    let user_id = tx.user_id();
    let inserted = sqlx::query(
        // language=PostgreSQL
        "INSERT INTO intake_requests (user_id, idempotency_key, request_hash) VALUES ($1, $2, $3) \
         ON CONFLICT ON CONSTRAINT intake_requests_pkey DO NOTHING",
    )
    .bind(user_id)
    .bind(&idem.key)
    .bind(&idem.request_hash[..])
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(None);
    }
    let (hash, status, response): (Vec<u8>, Option<i16>, Option<serde_json::Value>) =
        sqlx::query_as(
            // language=PostgreSQL
            "SELECT request_hash, status, response FROM intake_requests \
             WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(user_id)
        .bind(&idem.key)
        .fetch_one(tx.conn())
        .await?;
    if hash != idem.request_hash {
        return Err(StoreError::invalid(
            "Idempotency-Key",
            "this key was used with another request: use a new key for a new request",
        ));
    }
    match (status, response) {
        (Some(status), Some(body)) => Ok(Some((u16::try_from(status).unwrap_or(200), body))),
        _ => Err(StoreError::Conflict(
            "a request with this Idempotency-Key is still being processed".into(),
        )),
    }
}

/// Stores the answer to the key claimed in this transaction.
pub async fn record(
    tx: &mut TenantTx,
    idem: &Idempotency,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "UPDATE intake_requests SET status = $3, response = $4 \
         WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(user_id)
    .bind(&idem.key)
    .bind(i16::try_from(status).unwrap_or(200))
    .bind(body)
    .execute(tx.conn())
    .await?;
    Ok(())
}
