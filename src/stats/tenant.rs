//! One tenant's own figures (`GET /api/v1/stats`): its tickets of the last N days by status,
//! priority and category.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{StoreError, TenantTx};

/// Tickets created in the window, counted three ways.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TenantStats {
    pub days: u32,
    pub since: DateTime<Utc>,
    pub tickets: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_priority: BTreeMap<String, i64>,
    /// `uncategorized` for tickets not triaged yet.
    pub by_category: BTreeMap<String, i64>,
}

pub async fn compute(tx: &mut TenantTx, days: u32) -> Result<TenantStats, StoreError> {
    if !(1..=3650).contains(&days) {
        return Err(StoreError::invalid("days", "must be between 1 and 3650"));
    }
    let since = Utc::now() - Duration::days(i64::from(days));
    let user_id = tx.user_id();
    let rows: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT status, priority, category, count(*) FROM tickets \
         WHERE user_id = $1 AND created_at >= $2 GROUP BY status, priority, category",
    )
    .bind(user_id)
    .bind(since)
    .fetch_all(tx.conn())
    .await?;
    let mut s = TenantStats {
        days,
        since,
        tickets: 0,
        by_status: BTreeMap::new(),
        by_priority: BTreeMap::new(),
        by_category: BTreeMap::new(),
    };
    for (status, priority, category, n) in rows {
        s.tickets += n;
        *s.by_status.entry(status).or_default() += n;
        *s.by_priority.entry(priority).or_default() += n;
        *s.by_category
            .entry(category.unwrap_or_else(|| "uncategorized".into()))
            .or_default() += n;
    }
    Ok(s)
}
