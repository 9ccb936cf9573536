//! The one place that reads and writes `actions`.

use uuid::Uuid;

use super::{Action, ActionFilter, ActionKind, ActionStatus, RefundReason};
use crate::db::Cursor;
use crate::stripe::money;
use crate::tickets::Page;
use crate::{StoreError, TenantTx};

const COLUMNS: &str = "id, ticket_id, kind, status, amount, currency, stripe_object_id, \
    stripe_customer_id, reason, at_period_end, stripe_result_id, error, proposed_by, decided_by, \
    decision_reason, attempts, created_at, decided_at, finished_at";

/// A proposal to record.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub ticket_id: Uuid,
    pub kind: ActionKind,
    pub stripe_object_id: &'a str,
    pub stripe_customer_id: &'a str,
    pub amount: Option<i64>,
    pub currency: Option<&'a str>,
    pub reason: Option<RefundReason>,
    pub at_period_end: Option<bool>,
    pub proposed_by: &'a str,
}

fn formatted(mut a: Action) -> Action {
    a.amount_formatted = match (a.amount, a.currency.as_deref()) {
        (Some(amount), Some(currency)) => Some(money::format(amount, currency)),
        _ => None,
    };
    a
}

/// Records a pending proposal; `(the open one, false)` when the ticket has an open (pending or
/// executing) action of the same kind on the same object already.
pub async fn propose(tx: &mut TenantTx, new: &NewAction<'_>) -> Result<(Action, bool), StoreError> {
    let user_id = tx.user_id();
    let created = sqlx::query_as::<_, Action>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "INSERT INTO actions (user_id, id, ticket_id, kind, stripe_object_id, stripe_customer_id, \
             amount, currency, reason, at_period_end, proposed_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (user_id, ticket_id, kind, stripe_object_id) \
             WHERE status IN ('pending', 'executing') DO NOTHING \
         RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(new.ticket_id)
    .bind(new.kind)
    .bind(new.stripe_object_id)
    .bind(new.stripe_customer_id)
    .bind(new.amount)
    .bind(new.currency)
    .bind(new.reason)
    .bind(new.at_period_end)
    .bind(new.proposed_by)
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Database(e) if is_foreign_key_violation(&e) => StoreError::NotFound("ticket"),
        e => e,
    })?;
    if let Some(a) = created {
        return Ok((formatted(a), true));
    }
    let open = sqlx::query_as::<_, Action>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "SELECT {COLUMNS} FROM actions \
         WHERE user_id = $1 AND ticket_id = $2 AND kind = $3 AND stripe_object_id = $4 \
           AND status IN ('pending', 'executing')"
    )))
    .bind(user_id)
    .bind(new.ticket_id)
    .bind(new.kind)
    .bind(new.stripe_object_id)
    .fetch_optional(tx.conn())
    .await?
    // Decided between the insert and this read: the caller may propose again.
    .ok_or_else(|| {
        StoreError::Conflict("the open action was decided just now: try again".into())
    })?;
    Ok((formatted(open), false))
}

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "23503")
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Action, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, Action>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "SELECT {COLUMNS} FROM actions WHERE user_id = $1 AND id = $2"
    )))
    .bind(user_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .map(formatted)
    .ok_or(StoreError::NotFound("action"))
}

/// One page of the tenant's actions, newest first.
pub async fn list(
    tx: &mut TenantTx,
    filter: &ActionFilter,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<Action>, StoreError> {
    let after = cursor
        .map(Cursor::decode)
        .transpose()
        .map_err(|e| StoreError::invalid("cursor", e.to_string()))?;
    let limit = limit.clamp(1, 100);
    let user_id = tx.user_id();
    let mut rows = sqlx::query_as::<_, Action>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "SELECT {COLUMNS} FROM actions \
         WHERE user_id = $1 \
           AND ($2::text IS NULL OR status = $2) \
           AND ($3::uuid IS NULL OR ticket_id = $3) \
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5)) \
         ORDER BY created_at DESC, id DESC \
         LIMIT $6"
    )))
    .bind(user_id)
    .bind(filter.status.map(ActionStatus::as_str))
    .bind(filter.ticket_id)
    .bind(after.map(|c| c.created_at))
    .bind(after.map(|c| c.id))
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|a| {
            Cursor {
                created_at: a.created_at,
                id: a.id,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(formatted).collect(),
        next_cursor,
    })
}

/// `pending → executing` in one conditional update, recording who approved: of two approvals
/// at once, one gets the action and the other `None`.
pub async fn start_executing(
    tx: &mut TenantTx,
    id: Uuid,
    by: &str,
) -> Result<Option<Action>, StoreError> {
    let user_id = tx.user_id();
    let by = crate::validate::bounded("decided_by", by, 100)?;
    let row = sqlx::query_as::<_, Action>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "UPDATE actions SET status = 'executing', decided_by = $3, decided_at = now() \
         WHERE user_id = $1 AND id = $2 AND status = 'pending' \
         RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(id)
    .bind(by)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(formatted))
}

/// `pending → rejected`, with the person's reason if they gave one.
pub async fn reject(
    tx: &mut TenantTx,
    id: Uuid,
    by: &str,
    reason: Option<&str>,
) -> Result<Option<Action>, StoreError> {
    let user_id = tx.user_id();
    let by = crate::validate::bounded("decided_by", by, 100)?;
    let reason = reason
        .map(|r| crate::validate::text("reason", r, 2000))
        .transpose()?;
    let row = sqlx::query_as::<_, Action>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "UPDATE actions SET status = 'rejected', decided_by = $3, decided_at = now(), \
                decision_reason = $4 \
         WHERE user_id = $1 AND id = $2 AND status = 'pending' \
         RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(id)
    .bind(by)
    .bind(reason)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(formatted))
}

/// Counts one more request to Stripe for an executing action, before it is sent: from then on a
/// retry must first ask Stripe whether the earlier request took effect.
pub async fn count_attempt(tx: &mut TenantTx, id: Uuid) -> Result<Option<Action>, StoreError> {
    let user_id = tx.user_id();
    let row = sqlx::query_as::<_, Action>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "UPDATE actions SET attempts = attempts + 1 \
         WHERE user_id = $1 AND id = $2 AND status = 'executing' \
         RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(formatted))
}

/// Keeps an executing action executing, with why it has not finished yet (Stripe did not
/// answer): it is tried again with the same idempotency key.
pub async fn note_unfinished(
    tx: &mut TenantTx,
    id: Uuid,
    error: &str,
) -> Result<Option<Action>, StoreError> {
    let user_id = tx.user_id();
    let error: String = error.chars().take(2000).collect();
    let row = sqlx::query_as::<_, Action>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "UPDATE actions SET error = $3 \
         WHERE user_id = $1 AND id = $2 AND status = 'executing' \
         RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(id)
    .bind(error)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(formatted))
}

/// How an executing action ended.
#[derive(Debug, Clone)]
pub enum Finish<'a> {
    /// Stripe made this object (a refund `re_…`) or changed it (the subscription).
    Succeeded {
        result_id: &'a str,
    },
    Failed {
        error: &'a str,
    },
}

/// `executing → succeeded | failed`; `None` when it is not executing (finished by another run).
pub async fn finish(
    tx: &mut TenantTx,
    id: Uuid,
    how: &Finish<'_>,
) -> Result<Option<Action>, StoreError> {
    let user_id = tx.user_id();
    let (status, result_id, error) = match how {
        Finish::Succeeded { result_id } => ("succeeded", Some(*result_id), None),
        Finish::Failed { error } => (
            "failed",
            None,
            Some(error.chars().take(2000).collect::<String>()),
        ),
    };
    let row = sqlx::query_as::<_, Action>(sqlx::AssertSqlSafe(format!(
        // language=PostgreSQL
        "UPDATE actions SET status = $3, stripe_result_id = $4, error = $5, finished_at = now() \
         WHERE user_id = $1 AND id = $2 AND status = 'executing' \
         RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(id)
    .bind(status)
    .bind(result_id)
    .bind(error)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(formatted))
}
