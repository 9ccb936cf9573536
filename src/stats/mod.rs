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
        // Each count is a subquery of its own in FROM, which Citus plans shard by shard (it
        // cannot push a subquery in the target list down).
        "SELECT u.users, c.customers, t.tickets, t.open_tickets, t.resolved_tickets, \
                m.messages, m.ai_drafts \
         FROM (SELECT count(*) AS users FROM users) u, \
              (SELECT count(*) AS customers FROM customers WHERE created_at >= $1) c, \
              (SELECT count(*) AS tickets, \
                      count(*) FILTER (WHERE status IN ('open', 'pending')) AS open_tickets, \
                      count(*) FILTER (WHERE status IN ('solved', 'closed')) AS resolved_tickets \
                 FROM tickets WHERE created_at >= $1) t, \
              (SELECT count(*) AS messages, \
                      count(*) FILTER (WHERE sender_type = 'ai') AS ai_drafts \
                 FROM messages WHERE created_at >= $1) m",
    )
    .bind(since)
    .fetch_one(owner)
    .await?;
    let per_user = sqlx::query_as::<_, UserStats>(
        // language=PostgreSQL
        // Tickets are counted per tenant first (by the distribution column, on every shard at
        // once on Citus) and then joined to the tenants.
        "SELECT u.id AS user_id, u.name, u.email, \
                coalesce(t.tickets, 0) AS tickets, \
                coalesce(t.open_tickets, 0) AS open_tickets, \
                coalesce(t.resolved_tickets, 0) AS resolved_tickets \
         FROM users u LEFT JOIN ( \
              SELECT user_id, count(*) AS tickets, \
                     count(*) FILTER (WHERE status IN ('open', 'pending')) AS open_tickets, \
                     count(*) FILTER (WHERE status IN ('solved', 'closed')) AS resolved_tickets \
                FROM tickets WHERE created_at >= $1 GROUP BY user_id) t ON t.user_id = u.id \
         ORDER BY coalesce(t.tickets, 0) DESC, u.email",
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
