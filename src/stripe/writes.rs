//! The writes a person approves (issue I2): a refund of a charge, a subscription's cancellation.
//!
//! Each carries the idempotency key of the action it carries out, `action:{id}` (SECURITY.md S3):
//! a retried or repeated request — a timeout, a crash before the answer was recorded, two
//! approvals at once — gets Stripe's first answer, so the money moves once. Nothing here is
//! reachable from a tool: only [`crate::actions`] calls it, after a person's approval.
//!
//! async-stripe keeps the subscription requests in its large `async-stripe-billing` crate; the
//! three used here are declared the way that crate declares them, as [`super::billing`] does.

use serde::Serialize;
use stripe_client_core::{RequestBuilder, StripeMethod, StripeRequest};
use stripe_core::refund::{CreateRefund, CreateRefundReason};
use stripe_shared::{Refund, Subscription};
use uuid::Uuid;

use super::{StripeError, TenantClient};

/// Why a refund is made, as Stripe names it.
pub fn refund_reason(reason: &str) -> Option<CreateRefundReason> {
    match reason {
        "duplicate" => Some(CreateRefundReason::Duplicate),
        "fraudulent" => Some(CreateRefundReason::Fraudulent),
        "requested_by_customer" => Some(CreateRefundReason::RequestedByCustomer),
        _ => None,
    }
}

/// `POST /v1/refunds`: `amount` (the currency's smallest unit) of `charge`, for action `action`.
pub async fn refund(
    client: &TenantClient<'_>,
    action: Uuid,
    charge: &str,
    amount: i64,
    reason: CreateRefundReason,
) -> Result<Refund, StripeError> {
    let metadata =
        std::collections::HashMap::from([("support_agent_action".to_owned(), action.to_string())]);
    CreateRefund::new()
        .charge(charge)
        .amount(amount)
        .reason(reason)
        .metadata(metadata)
        .customize()
        .request_strategy(super::idempotent("action", action)?)
        .send(client)
        .await
}

/// `GET /v1/subscriptions/{id}`.
struct RetrieveSubscription<'a>(&'a str);

impl StripeRequest for RetrieveSubscription<'_> {
    type Output = Subscription;

    fn build(&self) -> RequestBuilder {
        RequestBuilder::new(StripeMethod::Get, format!("/subscriptions/{}", self.0))
    }
}

/// `DELETE /v1/subscriptions/{id}`: cancel now.
struct CancelSubscription<'a>(&'a str);

impl StripeRequest for CancelSubscription<'_> {
    type Output = Subscription;

    fn build(&self) -> RequestBuilder {
        RequestBuilder::new(StripeMethod::Delete, format!("/subscriptions/{}", self.0))
    }
}

#[derive(Serialize)]
struct CancelAtPeriodEnd {
    cancel_at_period_end: bool,
}

/// `POST /v1/subscriptions/{id}` with `cancel_at_period_end=true`.
struct EndAtPeriodEnd<'a>(&'a str);

impl StripeRequest for EndAtPeriodEnd<'_> {
    type Output = Subscription;

    fn build(&self) -> RequestBuilder {
        RequestBuilder::new(StripeMethod::Post, format!("/subscriptions/{}", self.0)).form(
            &CancelAtPeriodEnd {
                cancel_at_period_end: true,
            },
        )
    }
}

/// One subscription, to check whose it is before proposing or cancelling it.
pub async fn subscription(
    client: &TenantClient<'_>,
    id: &str,
) -> Result<Subscription, StripeError> {
    RetrieveSubscription(id).customize().send(client).await
}

/// Cancels `subscription` at the end of its current period (the customer keeps what they paid
/// for), or now, for action `action`.
pub async fn cancel_subscription(
    client: &TenantClient<'_>,
    action: Uuid,
    subscription: &str,
    at_period_end: bool,
) -> Result<Subscription, StripeError> {
    let strategy = super::idempotent("action", action)?;
    if at_period_end {
        EndAtPeriodEnd(subscription)
            .customize()
            .request_strategy(strategy)
            .send(client)
            .await
    } else {
        CancelSubscription(subscription)
            .customize()
            .request_strategy(strategy)
            .send(client)
            .await
    }
}
