//! Limits per tenant (SECURITY.md D5), each a setting with a default, so that one tenant cannot
//! starve or bill the others: requests per minute, jobs leased at once, LLM tokens per day,
//! messages per `get_ticket`, open drafts per ticket, and embeddings computed at once.
//!
//! Every refusal names the limit's setting and when it resets: `429` with `Retry-After` over
//! HTTP, a tool error over stdio, a note on the job for the worker.

mod embed;
mod rate;

use std::time::Duration;

use clap::Args;

pub use embed::LimitedEmbedder;
pub use rate::{RateLimiter, Refused};

/// The limits, read once from flags or the environment.
#[derive(Debug, Clone, Args)]
pub struct LimitSettings {
    /// Requests a tenant may make per minute to MCP and the REST API, per server process (a
    /// token bucket: bursts up to this many, refilled evenly over the minute).
    #[arg(
        long,
        env = "TENANT_REQUESTS_PER_MINUTE",
        global = true,
        default_value_t = 1200
    )]
    pub tenant_requests_per_minute: u32,
    /// Jobs of one tenant leased to workers at once, across all workers.
    #[arg(
        long,
        env = "TENANT_MAX_RUNNING_JOBS",
        global = true,
        default_value_t = 2
    )]
    pub tenant_max_running_jobs: u32,
    /// LLM tokens (prompt and completion) a tenant's triage jobs may use per UTC day; a job
    /// that would pass it ends with the holding reply, flagged for a person.
    #[arg(
        long,
        env = "TENANT_LLM_TOKENS_PER_DAY",
        global = true,
        default_value_t = 2_000_000
    )]
    pub tenant_llm_tokens_per_day: u64,
    /// Messages `get_ticket` returns at most: the latest ones, with a cursor for older.
    #[arg(
        long,
        env = "GET_TICKET_MAX_MESSAGES",
        global = true,
        default_value_t = 50
    )]
    pub get_ticket_max_messages: u32,
    /// Drafts waiting for review (state `draft`) a ticket may have at once.
    #[arg(
        long,
        env = "MAX_DRAFTS_PER_TICKET",
        global = true,
        default_value_t = 20
    )]
    pub max_drafts_per_ticket: u32,
    /// Slices of texts the in-process model embeds at once. An ingestion embeds one slice at a
    /// time, so with 2 a search finds a free slot beside one ingestion instead of waiting for its
    /// slice, and more ingestions than slots queue instead of taking every core from searches
    /// (measured in BENCHMARKS-limits.md: 1 made searches wait a whole slice, ~1 s).
    #[arg(long, env = "EMBED_CONCURRENCY", global = true, default_value_t = 2)]
    pub embed_concurrency: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            tenant_requests_per_minute: 1200,
            tenant_max_running_jobs: 2,
            tenant_llm_tokens_per_day: 2_000_000,
            get_ticket_max_messages: 50,
            max_drafts_per_ticket: 20,
            embed_concurrency: 2,
        }
    }
}

/// The limits a running process enforces: the settings and the request buckets.
#[derive(Debug)]
pub struct Limits {
    pub settings: LimitSettings,
    pub requests: RateLimiter,
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        let requests = RateLimiter::per_minute(
            "TENANT_REQUESTS_PER_MINUTE",
            settings.tenant_requests_per_minute,
        );
        Self { settings, requests }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(LimitSettings::default())
    }
}

/// Seconds until the next UTC midnight, when daily limits reset.
pub fn until_utc_midnight(now: chrono::DateTime<chrono::Utc>) -> Duration {
    let tomorrow = now.date_naive().succ_opt().unwrap_or(now.date_naive());
    let midnight = tomorrow.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    midnight
        .and_then(|m| (m - now).to_std().ok())
        .unwrap_or(Duration::from_secs(86_400))
}
