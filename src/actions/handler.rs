//! The `stripe_action` job: finish an approved action that its approval did not (the process
//! died, or Stripe did not answer), with the same idempotency key.

use super::{ActionStatus, execute, store};
use crate::jobs::{ClaimedJob, JobKind};
use crate::tools::Ctx;
use crate::worker::{Done, Handler, JobError};

/// Runs `stripe_action` jobs.
pub struct ActionHandler {
    ctx: Ctx,
}

impl ActionHandler {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    async fn run(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        let id = job
            .payload_id
            .ok_or_else(|| JobError::Permanent("a stripe_action job without its action".into()))?;
        let tenant = job.tenant();
        let mut tx = self.ctx.db().begin(&tenant).await.map_err(transient)?;
        let action = store::get(&mut tx, id)
            .await
            .map_err(|e| JobError::Permanent(e.to_string()))?;
        tx.commit().await.map_err(transient)?;
        if action.status != ActionStatus::Executing {
            return Ok(Done::with_note(format!(
                "the action is {} already",
                action.status.as_str()
            )));
        }
        let action = execute(&self.ctx, &tenant, action)
            .await
            .map_err(|e| JobError::Transient(e.to_string()))?;
        match action.status {
            ActionStatus::Executing => Err(JobError::Transient(
                action
                    .error
                    .unwrap_or_else(|| "Stripe did not answer".to_owned()),
            )),
            status => Ok(Done::with_note(format!("the action {}", status.as_str()))),
        }
    }
}

fn transient(e: crate::StoreError) -> JobError {
    JobError::Transient(e.to_string())
}

impl Handler for ActionHandler {
    fn kinds(&self) -> &'static [JobKind] {
        &[JobKind::StripeAction]
    }

    async fn handle(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        self.run(job).await
    }

    async fn abandoned(&self, job: &ClaimedJob) {
        // The action stays `executing`: whether Stripe made the refund is not known, and a
        // person can see it, with its id in the refund's metadata, in Stripe's dashboard.
        tracing::error!(tenant = %job.tenant(), action = ?job.payload_id,
            "a Stripe action was not finished after its last attempt: check Stripe for it");
    }
}
