//! The one place that reads and writes `sessions` and `refresh_tokens`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{StoreError, TenantTx};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Logout,
    /// A used refresh token was presented again.
    Reuse,
    PasswordChange,
    Operator,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Reuse => "reuse",
            Self::PasswordChange => "password_change",
            Self::Operator => "operator",
        }
    }
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// Valid and now used: its session may get a new pair.
    Fresh { session_id: Uuid },
    /// Used before: its session has been ended, with every token from it.
    Reused { session_id: Uuid },
    /// Unknown, or its session is over.
    Refused,
}

/// Starts a session that lasts until `expires_at` whatever its refreshes.
pub async fn create(
    tx: &mut TenantTx,
    expires_at: DateTime<Utc>,
    user_agent: Option<&str>,
) -> Result<Uuid, StoreError> {
    let user_id = tx.user_id();
    let id = Uuid::now_v7();
    let agent: Option<String> = user_agent.map(|a| a.chars().take(300).collect());
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO sessions (user_id, id, expires_at, user_agent) VALUES ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(id)
    .bind(expires_at)
    .bind(agent)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Records a refresh token of the session by its digest.
pub async fn add_refresh_token(
    tx: &mut TenantTx,
    session_id: Uuid,
    hash: &[u8; 32],
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO refresh_tokens (user_id, id, session_id, token_hash) VALUES ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(session_id)
    .bind(&hash[..])
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Uses the refresh token with this digest, once: the row is locked, so two requests racing
/// with the same token cannot both succeed (the second is reuse).
pub async fn exchange(tx: &mut TenantTx, hash: &[u8; 32]) -> Result<Exchange, StoreError> {
    let user_id = tx.user_id();
    let row: Option<(Uuid, Uuid, Option<DateTime<Utc>>, bool)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT r.id, r.session_id, r.used_at, (s.revoked_at IS NULL AND s.expires_at > now()) \
         FROM refresh_tokens r \
         JOIN sessions s ON s.user_id = $1 AND s.id = r.session_id \
         WHERE r.user_id = $1 AND r.token_hash = $2 \
         FOR UPDATE OF r, s",
    )
    .bind(user_id)
    .bind(&hash[..])
    .fetch_optional(tx.conn())
    .await?;
    let Some((token_id, session_id, used_at, live)) = row else {
        return Ok(Exchange::Refused);
    };
    if used_at.is_some() {
        end(tx, session_id, EndReason::Reuse).await?;
        return Ok(Exchange::Reused { session_id });
    }
    if !live {
        return Ok(Exchange::Refused);
    }
    sqlx::query(
        // language=PostgreSQL
        "UPDATE refresh_tokens SET used_at = now() WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(token_id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        // language=PostgreSQL
        "UPDATE sessions SET last_used_at = now() WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(session_id)
    .execute(tx.conn())
    .await?;
    Ok(Exchange::Fresh { session_id })
}

/// Ends a session (its access tokens are refused from the next request on); false when it had
/// ended already or never existed.
pub async fn end(
    tx: &mut TenantTx,
    session_id: Uuid,
    reason: EndReason,
) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $3 \
         WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(session_id)
    .bind(reason.as_str())
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Ends every live session of the tenant but `keep`; how many it ended.
pub async fn end_all_but(
    tx: &mut TenantTx,
    keep: Option<Uuid>,
    reason: EndReason,
) -> Result<u64, StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $3 \
         WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)",
    )
    .bind(user_id)
    .bind(keep)
    .bind(reason.as_str())
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected())
}
