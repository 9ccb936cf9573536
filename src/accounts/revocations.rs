//! The one place that reads and writes `revoked_tokens` (and `users.tokens_valid_after`): the
//! list every access token is checked against on every request, shared by logout, `token revoke`
//! and deleted users.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{AuthError, Verified};
use crate::{StoreError, TenantTx};

/// Refuses the token `jti` from now on; kept until `expires_at`, when it would expire anyway.
pub async fn revoke(
    tx: &mut TenantTx,
    jti: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO revoked_tokens (user_id, jti, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, jti) DO NOTHING",
    )
    .bind(user_id)
    .bind(jti)
    .bind(expires_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Refuses every token of the tenant issued until now.
pub async fn revoke_all(tx: &mut TenantTx) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE users SET tokens_valid_after = now() WHERE id = $1",
    )
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("user"));
    }
    Ok(())
}

/// Forgets revocations of tokens that have expired anyway.
pub async fn prune(tx: &mut TenantTx) -> Result<u64, StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "DELETE FROM revoked_tokens WHERE user_id = $1 AND expires_at < now() - interval '1 minute'",
    )
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected())
}

/// Whether a verified token may still be used: its user exists, it was not revoked one by one or
/// all at once, and the session it came from (if any) is live. `tx` is the token's tenant's.
pub async fn check(
    tx: &mut TenantTx,
    token: &Verified,
) -> Result<Result<(), AuthError>, StoreError> {
    let user_id = tx.user_id();
    // Two statements, one with the session's check and one without, rather than one with
    // `$3 IS NULL OR EXISTS (…)`: PostgreSQL chose a custom plan for that one on every execution
    // (its generic plan costs the sessions probe that a custom plan folds away), so every request
    // paid a planning; each of these two settles on a generic plan after five runs (BENCHMARKS-mcp.md).
    let query = match token.sid {
        None => sqlx::query_as(
            // language=PostgreSQL
            "SELECT u.tokens_valid_after, \
                    EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.user_id = $1 AND r.jti = $2), \
                    true \
             FROM users u WHERE u.id = $1",
        )
        .bind(user_id)
        .bind(token.jti),
        Some(sid) => sqlx::query_as(
            // language=PostgreSQL
            "SELECT u.tokens_valid_after, \
                    EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.user_id = $1 AND r.jti = $2), \
                    EXISTS (SELECT 1 FROM sessions s \
                        WHERE s.user_id = $1 AND s.id = $3 AND s.revoked_at IS NULL \
                          AND s.expires_at > now()) \
             FROM users u WHERE u.id = $1",
        )
        .bind(user_id)
        .bind(token.jti)
        .bind(sid),
    };
    let row: Option<(Option<DateTime<Utc>>, bool, bool)> = query.fetch_optional(tx.conn()).await?;
    let Some((valid_after, revoked, session_live)) = row else {
        return Ok(Err(AuthError::UnknownUser));
    };
    let issued = i64::try_from(token.issued_at).unwrap_or(i64::MAX);
    let before_cutoff = valid_after.is_some_and(|t| issued <= t.timestamp());
    if revoked || !session_live || before_cutoff {
        return Ok(Err(AuthError::Revoked));
    }
    Ok(Ok(()))
}
