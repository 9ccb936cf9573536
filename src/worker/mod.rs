//! Runs queued jobs: claims them under a lease, hands each to a [`Handler`] under the job's own
//! tenant, and records the outcome — done, retry after a backoff, or dead (SECURITY.md Q1–Q5).

pub mod desk;
mod run;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use run::Worker;

use crate::jobs::{ClaimedJob, JobKind};

/// Why a job failed, which decides whether it is tried again.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt after a backoff: a rate limit, a 5xx, a timeout, a dropped connection.
    #[error("{0}")]
    Transient(String),
    /// Trying again cannot help: the ticket is gone, the input is invalid.
    #[error("{0}")]
    Permanent(String),
}

/// A job that ended well, with a note when a limit shaped its result (recorded on the job,
/// shown by `jobs list`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    pub note: Option<String>,
}

impl Done {
    pub fn with_note(note: impl Into<String>) -> Self {
        Self {
            note: Some(note.into()),
        }
    }
}

/// The work a job stands for. The tenant comes from the job row ([`ClaimedJob::tenant`]).
pub trait Handler: Send + Sync + 'static {
    /// The kinds of job this handler runs: the worker claims only these.
    fn kinds(&self) -> &'static [JobKind];
    fn handle(&self, job: &ClaimedJob) -> impl Future<Output = Result<Done, JobError>> + Send;

    /// Called instead of [`Handler::handle`] for a job whose last attempt's lease expired (its
    /// worker died) and that now ends dead without another attempt: a chance to leave its rows
    /// in a state a person can see. Nothing by default.
    fn abandoned(&self, job: &ClaimedJob) -> impl Future<Output = ()> + Send {
        let _ = job;
        async {}
    }
}

impl<H: Handler> Handler for Arc<H> {
    fn kinds(&self) -> &'static [JobKind] {
        self.as_ref().kinds()
    }

    fn handle(&self, job: &ClaimedJob) -> impl Future<Output = Result<Done, JobError>> + Send {
        self.as_ref().handle(job)
    }

    fn abandoned(&self, job: &ClaimedJob) -> impl Future<Output = ()> + Send {
        self.as_ref().abandoned(job)
    }
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claimed job is ours; a handler running longer is cut off so that a lease is never
    /// outlived, and a worker that dies leaves jobs that others take over once it expires.
    pub lease: Duration,
    /// How often an idle worker looks for due jobs even without a notification (retries that
    /// come due send none).
    pub poll_interval: Duration,
    /// On shutdown, how long running jobs may finish before they are released.
    pub shutdown_grace: Duration,
    /// Names this worker in `jobs.locked_by`.
    pub worker_id: String,
    /// Leases one tenant may hold at once across all workers (`TENANT_MAX_RUNNING_JOBS`).
    pub max_running_per_tenant: u32,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease: Duration::from_secs(300),
            poll_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(30),
            worker_id: format!("{}-{}", hostname(), std::process::id()),
            max_running_per_tenant: 2,
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "worker".into())
}

/// What happened to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Retrying,
    Dead,
    /// Another worker took the job over (our lease had expired); our result was not recorded.
    LostLease,
    /// Given back unfinished at shutdown.
    Released,
}

/// Counts of outcomes over a run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub done: u64,
    pub retrying: u64,
    pub dead: u64,
    pub lost_lease: u64,
    pub released: u64,
}

impl Summary {
    pub fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Done => self.done += 1,
            Outcome::Retrying => self.retrying += 1,
            Outcome::Dead => self.dead += 1,
            Outcome::LostLease => self.lost_lease += 1,
            Outcome::Released => self.released += 1,
        }
    }
}
