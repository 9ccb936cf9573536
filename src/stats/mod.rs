//! Operator analytics across all tenants: tickets per tenant and system-wide totals.
//!
//! The one reader that crosses tenants. It runs on the owner connection, whose `operator_read`
//! policies allow SELECT on every tenant's rows and nothing else; the service role has no such
//! policy and could not run it.

pub mod outcomes;
pub mod tenant;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Serialize)]
pub struct Stats {
    pub days: u32,
    pub since: DateTime<Utc>,
    pub totals: Totals,
    pub per_user: Vec<UserStats>,
}

/// System-wide counts; everything but `users` counts rows created within the window.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Totals {
    pub users: i64,
    pub customers: i64,
    pub tickets: i64,
    pub open_tickets: i64,
    pub resolved_tickets: i64,
    pub messages: i64,
    pub ai_drafts: i64,
}

/// One tenant's tickets created within the window.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct UserStats {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub tickets: i64,
    pub open_tickets: i64,
    pub resolved_tickets: i64,
}

/// Computes the statistics over the last `days` days. `owner` must be the owner pool.
pub async fn compute(owner: &PgPool, days: u32) -> Result<Stats, StoreError> {
    if !(1..=3650).contains(&days) {
        return Err(StoreError::invalid("days", "must be between 1 and 3650"));
    }
    let since = Utc::now() - Duration::days(i64::from(days));
    let totals = sqlx::query_as::<_, Totals>(
        // language=PostgreSQL
        "SELECT (SELECT count(*) FROM users) AS users, \
                (SELECT count(*) FROM customers WHERE created_at >= $1) AS customers, \
                count(*) AS tickets, \
                count(*) FILTER (WHERE status IN ('open', 'pending')) AS open_tickets, \
                count(*) FILTER (WHERE status IN ('solved', 'closed')) AS resolved_tickets, \
                (SELECT count(*) FROM messages WHERE created_at >= $1) AS messages, \
                (SELECT count(*) FROM messages WHERE created_at >= $1 AND sender_type = 'ai') AS ai_drafts \
         FROM tickets WHERE created_at >= $1",
    )
    .bind(since)
    .fetch_one(owner)
    .await?;
    let per_user = sqlx::query_as::<_, UserStats>(
        // language=PostgreSQL
        "SELECT u.id AS user_id, u.name, u.email, \
                count(t.id) AS tickets, \
                count(t.id) FILTER (WHERE t.status IN ('open', 'pending')) AS open_tickets, \
                count(t.id) FILTER (WHERE t.status IN ('solved', 'closed')) AS resolved_tickets \
         FROM users u LEFT JOIN tickets t ON t.user_id = u.id AND t.created_at >= $1 \
         GROUP BY u.id ORDER BY count(t.id) DESC, u.email",
    )
    .bind(since)
    .fetch_all(owner)
    .await?;
    Ok(Stats {
        days,
        since,
        totals,
        per_user,
    })
}
