//! The claim–handle–record loop.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use sqlx::postgres::PgListener;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::{Handler, JobError, Outcome, Summary, WorkerOptions};
use crate::jobs::{self, ClaimedJob};
use crate::{Db, StoreError};

/// Claims jobs and runs them with a handler.
pub struct Worker<H> {
    db: Db,
    handler: Arc<H>,
    opts: WorkerOptions,
}

impl<H> Clone for Worker<H> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            handler: self.handler.clone(),
            opts: self.opts.clone(),
        }
    }
}

impl<H: Handler> Worker<H> {
    pub fn new(db: Db, handler: H, opts: WorkerOptions) -> Self {
        Self {
            db,
            handler: Arc::new(handler),
            opts,
        }
    }

    /// Claims and runs one due job; `None` when no job is due.
    pub async fn run_one(&self) -> Result<Option<(ClaimedJob, Outcome)>, StoreError> {
        let Some(job) = self.claim(1).await?.pop() else {
            return Ok(None);
        };
        let outcome = self.execute(&job).await?;
        Ok(Some((job, outcome)))
    }

    /// Runs jobs, `concurrency` at a time, until none is due: `worker --once`, and tests.
    pub async fn run_until_empty(&self) -> Result<Summary, StoreError> {
        let mut summary = Summary::default();
        loop {
            let batch = self.claim(self.opts.concurrency).await?;
            if batch.is_empty() {
                return Ok(summary);
            }
            let mut set = JoinSet::new();
            for job in batch {
                let w = self.clone();
                set.spawn(async move { w.execute(&job).await });
            }
            while let Some(res) = set.join_next().await {
                summary.record(res.map_err(|e| StoreError::invalid("worker", e.to_string()))??);
            }
        }
    }

    /// Runs until `shutdown` completes, waking on NOTIFY or every poll interval. At shutdown it
    /// claims nothing more, lets running jobs finish within the grace period, then releases the
    /// rest so that another worker picks them up at once.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<Summary, StoreError> {
        let mut listener = PgListener::connect_with(self.db.pool()).await?;
        listener.listen("support_agent_jobs").await?;
        tokio::pin!(shutdown);
        let running: Arc<Mutex<HashMap<Uuid, ClaimedJob>>> = Arc::default();
        let mut set: JoinSet<Result<Outcome, StoreError>> = JoinSet::new();
        let mut summary = Summary::default();
        loop {
            let free = self.opts.concurrency.saturating_sub(set.len());
            let claimed = if free > 0 {
                self.claim(free).await?
            } else {
                Vec::new()
            };
            let idle = claimed.is_empty();
            for job in claimed {
                lock(&running).insert(job.id, job.clone());
                let (w, running) = (self.clone(), running.clone());
                set.spawn(async move {
                    let outcome = w.execute(&job).await;
                    lock(&running).remove(&job.id);
                    outcome
                });
            }
            if !idle && set.len() < self.opts.concurrency {
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => break,
                Some(res) = set.join_next(), if !set.is_empty() => record(&mut summary, res),
                n = listener.recv() => { n?; }
                _ = tokio::time::sleep(self.opts.poll_interval) => {}
            }
        }
        tracing::info!(
            running = set.len(),
            "shutting down: letting running jobs finish"
        );
        let drain = async {
            while let Some(res) = set.join_next().await {
                record(&mut summary, res);
            }
        };
        if tokio::time::timeout(self.opts.shutdown_grace, drain)
            .await
            .is_err()
        {
            set.abort_all();
            let left: Vec<ClaimedJob> = lock(&running).drain().map(|(_, j)| j).collect();
            for job in left {
                let mut tx = self.db.begin(&job.tenant()).await?;
                if jobs::store::release(&mut tx, job.id, &self.opts.worker_id).await? {
                    summary.record(Outcome::Released);
                }
                tx.commit().await?;
            }
        }
        Ok(summary)
    }

    async fn claim(&self, n: usize) -> Result<Vec<ClaimedJob>, StoreError> {
        let claim = jobs::store::Claim {
            worker: &self.opts.worker_id,
            batch: u32::try_from(n.max(1)).unwrap_or(100),
            lease: self.opts.lease,
            kinds: self.handler.kinds(),
            per_tenant: self.opts.max_running_per_tenant,
        };
        jobs::store::claim(&self.db, &claim).await
    }

    /// Runs one claimed job and records its outcome under the job's tenant.
    async fn execute(&self, job: &ClaimedJob) -> Result<Outcome, StoreError> {
        let worker = &self.opts.worker_id;
        let result = if job.attempts > job.max_attempts {
            // Its lease ran out on the last attempt (the worker died): no attempts are left.
            self.handler.abandoned(job).await;
            Err(JobError::Permanent(
                "the last attempt's lease expired".into(),
            ))
        } else {
            // Never outlive the lease: past it another worker may already run the job.
            let budget = self.opts.lease.mul_f64(0.9);
            match tokio::time::timeout(budget, self.handler.handle(job)).await {
                Ok(r) => r,
                Err(_) => Err(JobError::Transient(format!("timed out after {budget:?}"))),
            }
        };
        let mut tx = self.db.begin(&job.tenant()).await?;
        let (recorded, outcome) = match &result {
            Ok(done) => (
                jobs::store::complete(&mut tx, job.id, worker, done.note.as_deref()).await?,
                Outcome::Done,
            ),
            Err(JobError::Transient(e)) if job.attempts < job.max_attempts => {
                let delay = jobs::backoff(job.attempts);
                tracing::warn!(job = %job.id, attempt = job.attempts, ?delay, error = %e, "job failed; will retry");
                (
                    jobs::store::fail(&mut tx, job.id, worker, e, Some(delay)).await?,
                    Outcome::Retrying,
                )
            }
            Err(e) => {
                tracing::error!(job = %job.id, attempt = job.attempts, error = %e, "job is dead");
                (
                    jobs::store::fail(&mut tx, job.id, worker, &e.to_string(), None).await?,
                    Outcome::Dead,
                )
            }
        };
        tx.commit().await?;
        Ok(if recorded {
            outcome
        } else {
            Outcome::LostLease
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn record(summary: &mut Summary, res: Result<Result<Outcome, StoreError>, tokio::task::JoinError>) {
    match res {
        Ok(Ok(outcome)) => summary.record(outcome),
        Ok(Err(e)) => tracing::error!(error = %e, "recording a job's outcome failed"),
        Err(e) => tracing::error!(error = %e, "a job task panicked"),
    }
}
