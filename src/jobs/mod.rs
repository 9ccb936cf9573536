//! The triage work queue (SECURITY.md Q1–Q4): jobs enqueued in the transaction that causes them,
//! claimed with `FOR UPDATE SKIP LOCKED` under a lease, retried with capped exponential backoff and
//! jitter, and `dead` after their last attempt, where an operator can see and retry them.

pub mod store;

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::Tenant;

/// A job a worker holds the lease of. Its tenant comes from the job row, never from its payload.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub user_id: Uuid,
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// The customer message that caused the job; `None` when a new ticket did.
    pub message_id: Option<Uuid>,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub max_attempts: i32,
}

impl ClaimedJob {
    /// The tenant the job belongs to: the job row is trusted input written under that tenant.
    pub fn tenant(&self) -> Tenant {
        Tenant::from_trusted_operator_input(self.user_id)
    }

    /// The id an ai draft for this job answers: the message, or the ticket for a new ticket.
    pub fn trigger_id(&self) -> Uuid {
        self.message_id.unwrap_or(self.ticket_id)
    }
}

/// A job as an operator sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Job {
    pub user_id: Uuid,
    pub id: Uuid,
    pub kind: String,
    pub ticket_id: Uuid,
    pub message_id: Option<Uuid>,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// First retry delay; doubled per attempt up to [`MAX_BACKOFF`].
pub const BASE_BACKOFF: Duration = Duration::from_secs(5);
/// Longest delay between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Delay before the next attempt after `attempts` failed ones: exponential, capped, and jittered
/// to between half and all of it so that failing jobs do not retry in lockstep.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let full = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(exp))
        .min(MAX_BACKOFF);
    let jitter = rand::rng().random_range(0.5..=1.0);
    full.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_is_capped() {
        for attempts in 1..=12 {
            let full = BASE_BACKOFF
                .saturating_mul(1 << (attempts - 1))
                .min(MAX_BACKOFF);
            for _ in 0..20 {
                let d = backoff(attempts);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempts}: {d:?} vs {full:?}"
                );
            }
        }
        assert!(backoff(1000) <= MAX_BACKOFF);
    }
}
