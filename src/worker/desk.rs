//! The handlers `support-agent worker` runs together: triage, and delivery by email.

use super::{Done, Handler, JobError};
use crate::channels::delivery::DeliveryHandler;
use crate::jobs::{ClaimedJob, JobKind};
use crate::triage::handler::TriageHandler;

/// Runs `triage` and `deliver` jobs, each with its own handler.
pub struct DeskHandler {
    pub triage: TriageHandler,
    pub delivery: DeliveryHandler,
}

impl Handler for DeskHandler {
    fn kinds(&self) -> &'static [JobKind] {
        &[JobKind::Triage, JobKind::Deliver]
    }

    async fn handle(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        match job.kind {
            JobKind::Triage => self.triage.handle(job).await,
            JobKind::Deliver => self.delivery.handle(job).await,
            JobKind::StripeEvent => Err(JobError::Permanent(
                "this worker does not run stripe_event jobs".into(),
            )),
        }
    }

    async fn abandoned(&self, job: &ClaimedJob) {
        match job.kind {
            JobKind::Triage => self.triage.abandoned(job).await,
            JobKind::Deliver => self.delivery.abandoned(job).await,
            JobKind::StripeEvent => {}
        }
    }
}
