//! The intake webhook's signature (SECURITY.md W4): `X-Support-Signature: t=<unix>,k=<key_id>,
//! v1=<hex HMAC-SHA256(secret, t + "." + body)>`, within five minutes of the server's clock,
//! compared in constant time, and each signature accepted once.
//!
//! A key id carries its tenant (`ik_<user id>_<16 hex>`), so the secret is looked up inside that
//! tenant's own transaction, as API keys are; an id naming no secret is refused like a wrong
//! signature.

use hmac::Mac;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Secret;
use crate::signing::{hex, hex_decode, mac_for};
use crate::stripe::vault::{Purpose, Sealed, Vault, VaultError};
use crate::{Db, StoreError, Tenant};

/// The header a signed request carries.
pub const HEADER: &str = "x-support-signature";
/// How far a signature's timestamp may be from the server's clock.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signed request was refused. Each is a `401`; none says more than it must.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Support-Signature header is malformed: expected t=<unix>,k=<key_id>,v1=<hex>")]
    Malformed,
    #[error("the signature's timestamp is more than 5 minutes from the server's clock")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
    #[error("this signature was used already: sign each request anew")]
    Replayed,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub t: i64,
    pub key_id: String,
    pub v1: Vec<Vec<u8>>,
}

/// Parses `t=…,k=…,v1=…` (several `v1` are allowed, for a secret being rotated).
pub fn parse(value: &str) -> Result<Header, SignatureError> {
    let (mut t, mut key_id, mut v1) = (None, None, Vec::new());
    for part in value.split(',') {
        let (name, val) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match name.trim() {
            "t" => {
                t = Some(
                    val.trim()
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            "k" => key_id = Some(val.trim().to_owned()),
            "v1" => v1.push(hex_decode(val.trim(), 128).ok_or(SignatureError::Malformed)?),
            _ => {}
        }
    }
    match (t, key_id) {
        (Some(t), Some(key_id)) if !v1.is_empty() => Ok(Header { t, key_id, v1 }),
        _ => Err(SignatureError::Malformed),
    }
}

/// The tenant a key id names, if it has the right shape.
pub fn tenant_of(key_id: &str) -> Option<Tenant> {
    let rest = key_id.strip_prefix("ik_")?;
    let (user, tail) = rest.split_once('_')?;
    if user.len() != 32 || tail.len() != 16 || !tail.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let user = Uuid::try_parse(user).ok()?;
    // Checked next inside this tenant's own transaction: RLS decides whether the key exists.
    Some(Tenant::from_verified_subject(user))
}

/// `hex(HMAC-SHA256(secret, t + "." + body))`: how a sender signs (README.md, Channels).
pub use crate::signing::sign;

/// The full header value for a request signed now-ish at `t` (tests, the benchmark, senders).
pub fn header_value(key_id: &str, secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},k={key_id},v1={}", sign(secret, t, body))
}

/// A signature made at `t` is current at `now` within [`TOLERANCE_SECS`] either side.
fn check_time(t: i64, now: i64) -> Result<(), SignatureError> {
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Checks a signed request and records its signature; the tenant it acts for when it holds.
pub async fn verify(
    db: &Db,
    vault: &Vault,
    header: &str,
    body: &[u8],
    now: i64,
) -> Result<Tenant, SignatureError> {
    let h = parse(header)?;
    check_time(h.t, now)?;
    let tenant = tenant_of(&h.key_id).ok_or(SignatureError::Mismatch)?;
    let mut tx = db.begin(&tenant).await?;
    let Some(sealed) = find_secret(&mut tx, &h.key_id).await? else {
        return Err(SignatureError::Mismatch);
    };
    let secret = vault.open_as(Purpose::IntakeSecret, &tenant, &sealed)?;
    let matched = h.v1.iter().find(|sig| {
        // verify_slice compares in constant time.
        mac_for(secret.expose(), h.t, body)
            .verify_slice(sig)
            .is_ok()
    });
    let Some(sig) = matched else {
        return Err(SignatureError::Mismatch);
    };
    let digest: [u8; 32] = Sha256::digest(sig).into();
    if !record_signature(&mut tx, &digest).await? {
        return Err(SignatureError::Replayed);
    }
    tx.commit().await?;
    Ok(tenant)
}

/// A new signing secret, shown once.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NewSecret {
    /// Send it as `k=` in X-Support-Signature.
    pub key_id: String,
    /// The HMAC key (`whsec_…`): shown this once, stored sealed.
    pub secret: String,
}

/// Creates a signing secret for `tenant`; earlier ones stay valid until deleted.
pub async fn create_secret(
    db: &Db,
    vault: &Vault,
    tenant: &Tenant,
) -> Result<NewSecret, SignatureError> {
    let mut tail = [0u8; 8];
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut tail);
    rand::rng().fill_bytes(&mut key);
    let key_id = format!("ik_{}_{}", tenant.id().simple(), hex(&tail));
    let secret = Secret::new(format!("whsec_{}", hex(&key)));
    let sealed = vault.seal_as(Purpose::IntakeSecret, tenant, &secret)?;
    let mut tx = db.begin(tenant).await?;
    insert_secret(&mut tx, &key_id, &sealed).await?;
    tx.commit().await?;
    Ok(NewSecret {
        key_id,
        secret: secret.expose().to_owned(),
    })
}

/// Re-seals every signing secret of `tenant` under the current master key; how many changed.
pub async fn reseal(db: &Db, vault: &Vault, tenant: &Tenant) -> Result<u64, SignatureError> {
    let mut tx = db.begin(tenant).await?;
    let mut n = 0;
    for (key_id, sealed) in store::all(&mut tx).await? {
        if sealed.key_id == vault.current_key_id() {
            continue;
        }
        let secret = vault.open_as(Purpose::IntakeSecret, tenant, &sealed)?;
        let resealed = vault.seal_as(Purpose::IntakeSecret, tenant, &secret)?;
        store::replace(&mut tx, &key_id, &resealed).await?;
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}

use store::{find as find_secret, insert as insert_secret, record_signature};

/// The one place that reads and writes `intake_secrets` and `intake_signatures`.
pub mod store {
    use sqlx::PgPool;
    use uuid::Uuid;

    use super::Sealed;
    use crate::{StoreError, TenantTx};

    pub async fn insert(tx: &mut TenantTx, key_id: &str, s: &Sealed) -> Result<(), StoreError> {
        let user_id = tx.user_id();
        sqlx::query(
            // language=PostgreSQL
            "INSERT INTO intake_secrets (user_id, key_id, master_key_id, nonce, ciphertext) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id)
        .bind(key_id)
        .bind(&s.key_id)
        .bind(&s.nonce)
        .bind(&s.ciphertext)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn find(tx: &mut TenantTx, key_id: &str) -> Result<Option<Sealed>, StoreError> {
        let user_id = tx.user_id();
        let row: Option<(String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            // language=PostgreSQL
            "SELECT master_key_id, nonce, ciphertext FROM intake_secrets \
             WHERE user_id = $1 AND key_id = $2",
        )
        .bind(user_id)
        .bind(key_id)
        .fetch_optional(tx.conn())
        .await?;
        Ok(row.map(|(key_id, nonce, ciphertext)| Sealed {
            key_id,
            nonce,
            ciphertext,
        }))
    }

    pub async fn all(tx: &mut TenantTx) -> Result<Vec<(String, Sealed)>, StoreError> {
        let user_id = tx.user_id();
        let rows: Vec<(String, String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            // language=PostgreSQL
            "SELECT key_id, master_key_id, nonce, ciphertext FROM intake_secrets \
             WHERE user_id = $1 ORDER BY key_id FOR UPDATE",
        )
        .bind(user_id)
        .fetch_all(tx.conn())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, key_id, nonce, ciphertext)| {
                (
                    id,
                    Sealed {
                        key_id,
                        nonce,
                        ciphertext,
                    },
                )
            })
            .collect())
    }

    pub async fn replace(tx: &mut TenantTx, key_id: &str, s: &Sealed) -> Result<(), StoreError> {
        let user_id = tx.user_id();
        sqlx::query(
            // language=PostgreSQL
            "UPDATE intake_secrets SET master_key_id = $3, nonce = $4, ciphertext = $5 \
             WHERE user_id = $1 AND key_id = $2",
        )
        .bind(user_id)
        .bind(key_id)
        .bind(&s.key_id)
        .bind(&s.nonce)
        .bind(&s.ciphertext)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Records a signature as used; false when it was already (a replay). Signatures older than
    /// the tolerance are pruned: their timestamps are stale anyway.
    pub async fn record_signature(
        tx: &mut TenantTx,
        digest: &[u8; 32],
    ) -> Result<bool, StoreError> {
        let user_id = tx.user_id();
        sqlx::query(
            // language=PostgreSQL
            "DELETE FROM intake_signatures \
             WHERE user_id = $1 AND seen_at < now() - interval '15 minutes'",
        )
        .bind(user_id)
        .execute(tx.conn())
        .await?;
        let r = sqlx::query(
            // language=PostgreSQL
            "INSERT INTO intake_signatures (user_id, digest) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(&digest[..])
        .execute(tx.conn())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Tenants with a signing secret sealed under another master key (owner pool, `secrets
    /// rekey`).
    pub async fn tenants_sealed_under_other_keys(
        owner: &PgPool,
        current_key_id: &str,
    ) -> Result<Vec<Uuid>, StoreError> {
        let ids = sqlx::query_scalar(
            // language=PostgreSQL
            "SELECT DISTINCT user_id FROM intake_secrets WHERE master_key_id <> $1 ORDER BY user_id",
        )
        .bind(current_key_id)
        .fetch_all(owner)
        .await?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_parses_and_its_key_id_names_the_tenant() {
        let user = Uuid::now_v7();
        let key_id = format!("ik_{}_0123456789abcdef", user.simple());
        let h = parse(&header_value(&key_id, "whsec_x", 1_700_000_000, b"{}")).expect("parse");
        assert_eq!(h.t, 1_700_000_000);
        assert_eq!(tenant_of(&h.key_id).map(|t| t.id()), Some(user));
        assert!(parse("t=1,k=x").is_err());
        assert!(parse("t=abc,k=x,v1=00").is_err());
        assert!(tenant_of("ik_nothex_0123456789abcdef").is_none());
    }

    #[test]
    fn a_time_more_than_five_minutes_either_side_is_stale() {
        let now = 1_700_000_000;
        for t in [now - 300, now, now + 300] {
            assert!(check_time(t, now).is_ok(), "{t}");
        }
        for t in [now - 301, now + 301] {
            assert!(
                matches!(check_time(t, now), Err(SignatureError::Stale)),
                "{t}"
            );
        }
    }
}
