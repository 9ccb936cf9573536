//! The handlers `support-agent worker` runs together: triage, delivery by email, and Stripe
//! events.

use super::{Done, Handler, JobError};
use crate::channels::delivery::DeliveryHandler;
use crate::jobs::{ClaimedJob, JobKind};
use crate::stripe::webhooks::handle::StripeEventHandler;
use crate::triage::handler::TriageHandler;

/// Runs `triage`, `deliver` and `stripe_event` jobs, each with its own handler.
pub struct DeskHandler {
    pub triage: TriageHandler,
    pub delivery: DeliveryHandler,
    pub stripe: StripeEventHandler,
}

impl Handler for DeskHandler {
    fn kinds(&self) -> &'static [JobKind] {
        &[JobKind::Triage, JobKind::Deliver, JobKind::StripeEvent]
    }

    async fn handle(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        match job.kind {
            JobKind::Triage => self.triage.handle(job).await,
            JobKind::Deliver => self.delivery.handle(job).await,
            JobKind::StripeEvent => self.stripe.handle(job).await,
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
