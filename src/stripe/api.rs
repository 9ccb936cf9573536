//! The reads the tools and the `link` command make, on one tenant's client.
//!
//! Every function takes a [`TenantClient`], which only [`super::Stripe::client_for`] makes from
//! the tenant's stored credentials: whatever ids a caller passes, the request goes out with the
//! calling tenant's key, so another tenant's ids find nothing (SECURITY.md S1).

use stripe_client_core::StripeRequest;
use stripe_core::charge::{ListCharge, RetrieveCharge};
use stripe_core::customer::{ListCustomer, RetrieveCustomer, RetrieveCustomerReturned};
use stripe_core::dispute::ListDispute;
use stripe_core::refund::ListRefund;
use stripe_shared::{Charge, Customer, Dispute, Refund};
use stripe_types::List;

use super::{StripeError, TenantClient};

/// Most objects Stripe returns per list page.
pub const MAX_PAGE: i64 = 100;

/// One page of a customer's charges, newest first, after `starting_after` when given.
pub async fn charges(
    client: &TenantClient<'_>,
    customer: &str,
    limit: i64,
    starting_after: Option<&str>,
) -> Result<List<Charge>, StripeError> {
    let mut req = ListCharge::new()
        .customer(customer)
        .limit(limit.clamp(1, MAX_PAGE));
    if let Some(after) = starting_after {
        req = req.starting_after(after);
    }
    req.customize().send(client).await
}

/// One charge (a webhook's dispute or invoice names it by id).
pub async fn charge(client: &TenantClient<'_>, id: &str) -> Result<Charge, StripeError> {
    RetrieveCharge::new(id).customize().send(client).await
}

/// The disputes of one charge (a charge has at most one open at a time).
pub async fn disputes_of(
    client: &TenantClient<'_>,
    charge: &str,
) -> Result<Vec<Dispute>, StripeError> {
    let page = ListDispute::new()
        .charge(charge)
        .limit(10)
        .customize()
        .send(client)
        .await?;
    Ok(page.data)
}

/// The refunds of one charge, newest first.
pub async fn refunds_of(
    client: &TenantClient<'_>,
    charge: &str,
) -> Result<Vec<Refund>, StripeError> {
    let page = ListRefund::new()
        .charge(charge)
        .limit(MAX_PAGE)
        .customize()
        .send(client)
        .await?;
    Ok(page.data)
}

/// The customer object; `None` when the customer has been deleted in Stripe.
pub async fn customer(
    client: &TenantClient<'_>,
    id: &str,
) -> Result<Option<Customer>, StripeError> {
    match RetrieveCustomer::new(id).customize().send(client).await? {
        RetrieveCustomerReturned::Customer(c) => Ok(Some(c)),
        RetrieveCustomerReturned::DeletedCustomer(_) => Ok(None),
    }
}

/// One page of all the account's customers, for matching by email.
pub async fn customers(
    client: &TenantClient<'_>,
    starting_after: Option<&str>,
) -> Result<List<Customer>, StripeError> {
    let mut req = ListCustomer::new().limit(MAX_PAGE);
    if let Some(after) = starting_after {
        req = req.starting_after(after);
    }
    req.customize().send(client).await
}
