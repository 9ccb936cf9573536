//! The work queue (SECURITY.md Q1–Q5, D5): jobs of every kind enqueued in the transaction that
//! causes them, claimed fairly across tenants with `FOR UPDATE SKIP LOCKED` under a lease (at most
//! `TENANT_MAX_RUNNING_JOBS` leased per tenant), retried with capped exponential backoff and
//! jitter, and `dead` after their last attempt, where an operator can see and retry them.

pub mod store;

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::Tenant;

/// What a job is for; each kind has its handler and the references it needs (the CHECK
/// `jobs_kind_references` in the migrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Draft a reply for a ticket (`ticket_id`) or a customer message on it (`message_id`).
    Triage,
    /// Send an agent or approved reply (`message_id`) on a ticket by email.
    Deliver,
    /// Act on a stored Stripe event (`payload_id`).
    StripeEvent,
    /// Carry out, or finish, an approved Stripe action (`payload_id`) on a ticket.
    StripeAction,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triage => "triage",
            Self::Deliver => "deliver",
            Self::StripeEvent => "stripe_event",
            Self::StripeAction => "stripe_action",
        }
    }
}

/// A job a worker holds the lease of. Its tenant comes from the job row, never from its payload.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub user_id: Uuid,
    pub id: Uuid,
    pub kind: JobKind,
    /// The ticket the job acts on; `None` for kinds that have none (a Stripe event).
    pub ticket_id: Option<Uuid>,
    /// The message that caused the job (triage) or is to be sent (deliver).
    pub message_id: Option<Uuid>,
    /// A row of the kind's own table (the stored event of a stripe_event job).
    pub payload_id: Option<Uuid>,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub max_attempts: i32,
}

impl ClaimedJob {
    /// The tenant the job belongs to: the job row is trusted input written under that tenant.
    pub fn tenant(&self) -> Tenant {
        Tenant::from_trusted_operator_input(self.user_id)
    }

    /// The id an ai draft for a triage job answers: the message, or the ticket for a new ticket.
    pub fn trigger_id(&self) -> Option<Uuid> {
        self.message_id.or(self.ticket_id)
    }
}

/// A job as an operator sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Job {
    pub user_id: Uuid,
    pub id: Uuid,
    pub kind: JobKind,
    pub ticket_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub payload_id: Option<Uuid>,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    /// Why the last attempt failed, or the limit that stopped a job that ended anyway.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Job {
    /// The tenant the job belongs to, from the job row (trusted: written under that tenant).
    pub fn tenant(&self) -> Tenant {
        Tenant::from_trusted_operator_input(self.user_id)
    }

    /// The id an ai draft for a triage job answers: the message, or the ticket for a new ticket.
    pub fn trigger_id(&self) -> Option<Uuid> {
        self.message_id.or(self.ticket_id)
    }
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
