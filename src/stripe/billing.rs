//! Subscriptions and invoices: the list requests of Stripe's Billing API, over the types
//! async-stripe already has (`stripe_shared::{Subscription, Invoice}`).
//!
//! async-stripe keeps these requests in its `async-stripe-billing` crate, a large build for two
//! GET requests; they are declared here the way that crate declares them (a `Serialize` query
//! struct and a [`StripeRequest`] impl), so they go out through [`TenantClient`] like every other
//! read: the tenant's own credentials, retries, timeouts.

use serde::Serialize;
use stripe_client_core::{RequestBuilder, StripeMethod, StripeRequest};
use stripe_shared::{Invoice, Subscription};
use stripe_types::List;

use super::api::MAX_PAGE;
use super::{StripeError, TenantClient};

/// Statuses `list_subscriptions` filters by (`all` includes canceled ones; Stripe's default
/// leaves them out).
pub const SUBSCRIPTION_STATUSES: [&str; 10] = [
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "trialing",
    "paused",
    "ended",
    "all",
];

/// Statuses `list_invoices` filters by.
pub const INVOICE_STATUSES: [&str; 5] = ["draft", "open", "paid", "uncollectible", "void"];

/// `GET /v1/subscriptions` or `GET /v1/invoices`: one page of a customer's objects.
#[derive(Debug, Clone, Serialize)]
struct ListQuery<'a> {
    customer: &'a str,
    limit: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<&'a str>,
    expand: &'static [&'static str],
}

struct ListSubscriptions<'a>(ListQuery<'a>);

impl StripeRequest for ListSubscriptions<'_> {
    type Output = List<Subscription>;

    fn build(&self) -> RequestBuilder {
        RequestBuilder::new(StripeMethod::Get, "/subscriptions").query(&self.0)
    }
}

struct ListInvoices<'a>(ListQuery<'a>);

impl StripeRequest for ListInvoices<'_> {
    type Output = List<Invoice>;

    fn build(&self) -> RequestBuilder {
        RequestBuilder::new(StripeMethod::Get, "/invoices").query(&self.0)
    }
}

/// One page of a customer's subscriptions, newest first, with each price's product and the
/// latest invoice expanded (for the product's name and the invoice's status).
pub async fn subscriptions(
    client: &TenantClient<'_>,
    customer: &str,
    status: Option<&str>,
    limit: i64,
    starting_after: Option<&str>,
) -> Result<List<Subscription>, StripeError> {
    ListSubscriptions(ListQuery {
        customer,
        limit: limit.clamp(1, MAX_PAGE),
        status,
        starting_after,
        // Four levels is Stripe's limit; this is four.
        expand: &["data.items.data.price.product", "data.latest_invoice"],
    })
    .customize()
    .send(client)
    .await
}

/// One page of a customer's invoices, newest first, with their payments (the charge that paid
/// each one).
pub async fn invoices(
    client: &TenantClient<'_>,
    customer: &str,
    status: Option<&str>,
    limit: i64,
    starting_after: Option<&str>,
) -> Result<List<Invoice>, StripeError> {
    ListInvoices(ListQuery {
        customer,
        limit: limit.clamp(1, MAX_PAGE),
        status,
        starting_after,
        expand: &["data.payments"],
    })
    .customize()
    .send(client)
    .await
}
