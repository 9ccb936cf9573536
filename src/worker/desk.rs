//! The handlers `support-agent worker` runs together: triage, delivery by email, Stripe events
//! and approved Stripe actions.

use super::{Done, Handler, JobError};
use crate::actions::handler::ActionHandler;
use crate::channels::delivery::DeliveryHandler;
use crate::jobs::{ClaimedJob, JobKind};
use crate::stripe::webhooks::handle::StripeEventHandler;
use crate::triage::handler::TriageHandler;

/// Runs `triage`, `deliver`, `stripe_event` and `stripe_action` jobs, each with its own handler.
pub struct DeskHandler {
    pub triage: TriageHandler,
    pub delivery: DeliveryHandler,
    pub stripe: StripeEventHandler,
    pub actions: ActionHandler,
}

impl Handler for DeskHandler {
    fn kinds(&self) -> &'static [JobKind] {
        &[
            JobKind::Triage,
            JobKind::Deliver,
            JobKind::StripeEvent,
            JobKind::StripeAction,
        ]
    }

    async fn handle(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        match job.kind {
            JobKind::Triage => self.triage.handle(job).await,
            JobKind::Deliver => self.delivery.handle(job).await,
            JobKind::StripeEvent => self.stripe.handle(job).await,
            JobKind::StripeAction => self.actions.handle(job).await,
        }
    }

    async fn abandoned(&self, job: &ClaimedJob) {
        match job.kind {
            JobKind::Triage => self.triage.abandoned(job).await,
            JobKind::Deliver => self.delivery.abandoned(job).await,
            JobKind::StripeEvent => {}
            JobKind::StripeAction => self.actions.abandoned(job).await,
        }
    }
}
