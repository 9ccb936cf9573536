//! `customer_overview`: in one call, what a support agent needs about a customer — who they are
//! here and in Stripe, their open tickets, their last charges, refunds and open disputes, their
//! subscriptions, their last failed payment and their unpaid invoices.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::charges::{client, latest_status, linked_customer, upstream};
use super::{Annotations, Caller, Ctx, CustomerView, TicketSummaryView, Tool, ToolError};
use crate::customers::CustomerRef;
use crate::stripe::billing_views::{FailedPaymentView, InvoiceView, SubscriptionView};
use crate::stripe::views::{
    ChargeView, DisputeView, OPEN_DISPUTE_STATUSES, RefundView, StripeCustomerView,
};
use crate::stripe::{api, billing};
use crate::tickets::{Status, TicketFilter, store as tickets};

/// How many of the latest charges the overview shows; refunds and disputes are theirs.
pub const OVERVIEW_CHARGES: i64 = 10;
/// Most open tickets listed (of each of the statuses open and pending).
const OVERVIEW_TICKETS: i64 = 20;

/// Give exactly one of `customer_id` or `email`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerOverviewArgs {
    /// The customer's id (a UUID), e.g. from `lookup_customer` or a ticket's `customer_id`.
    pub customer_id: Option<Uuid>,
    /// The customer's exact email address, e.g. `ada@example.com`.
    pub email: Option<String>,
}

/// The customer, their open tickets and their recent payments.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CustomerOverviewOutput {
    /// The customer as the desk knows them, with their number of open tickets.
    pub customer: CustomerView,
    /// The customer as Stripe knows them; null if deleted in Stripe.
    pub stripe_customer: Option<StripeCustomerView>,
    /// Tickets of theirs that are open or pending, newest first.
    pub open_tickets: Vec<TicketSummaryView>,
    /// Their latest charges (at most 10), newest first.
    pub charges: Vec<ChargeView>,
    /// True when they have older charges (see `fetch_stripe_charges`).
    pub more_charges: bool,
    /// Refunds of those charges, newest first.
    pub refunds: Vec<RefundView>,
    /// Disputes of those charges that still need a response or are under review.
    pub open_disputes: Vec<DisputeView>,
    /// Their subscriptions that have not ended (at most 10), newest first.
    pub subscriptions: Vec<SubscriptionView>,
    /// The most recent failed payment among those charges: failure code and message, card
    /// brand and last 4, when; null if none failed.
    pub last_failed_payment: Option<FailedPaymentView>,
    /// Their invoices still open (finalised, not yet paid), at most 10, newest first.
    pub unpaid_invoices: Vec<InvoiceView>,
}

/// The customer, their open tickets and their recent Stripe payments, in one call.
pub async fn customer_overview(
    ctx: &Ctx,
    caller: &Caller,
    args: CustomerOverviewArgs,
) -> Result<CustomerOverviewOutput, ToolError> {
    let customer = CustomerRef::from_parts(args.customer_id, args.email.as_deref())?;
    let (customer, stripe_id) = linked_customer(ctx, caller, &customer).await?;
    let mut open_tickets = Vec::new();
    let mut tx = ctx.begin(caller).await?;
    for status in [Status::Open, Status::Pending] {
        let filter = TicketFilter {
            status: Some(status),
            priority: None,
            customer_id: Some(customer.id),
            ..Default::default()
        };
        let page = tickets::list(&mut tx, &filter, OVERVIEW_TICKETS, None).await?;
        open_tickets.extend(page.items);
    }
    tx.commit().await?;
    open_tickets.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));

    let client = client(ctx, caller).await?;
    let fail = |e| upstream(&customer, e);
    let stripe_customer = api::customer(&client, stripe_id.as_str())
        .await
        .map_err(fail)?;
    let page = api::charges(&client, stripe_id.as_str(), OVERVIEW_CHARGES, None)
        .await
        .map_err(fail)?;
    let mut charges = Vec::with_capacity(page.data.len());
    let mut refunds = Vec::new();
    let mut open_disputes = Vec::new();
    for c in &page.data {
        if c.amount_refunded > 0 {
            let found = api::refunds_of(&client, c.id.as_str())
                .await
                .map_err(fail)?;
            refunds.extend(found.iter().map(RefundView::from));
        }
        let mut dispute = None;
        if c.disputed {
            let found = api::disputes_of(&client, c.id.as_str())
                .await
                .map_err(fail)?;
            dispute = latest_status(&found);
            open_disputes.extend(
                found
                    .iter()
                    .filter(|d| OPEN_DISPUTE_STATUSES.contains(&d.status.as_str()))
                    .map(DisputeView::from),
            );
        }
        charges.push(ChargeView::new(c, dispute));
    }
    refunds.sort_by_key(|r| std::cmp::Reverse(r.created));
    let last_failed_payment = page.data.iter().find_map(FailedPaymentView::of);
    let subscriptions = billing::subscriptions(&client, stripe_id.as_str(), None, 10, None)
        .await
        .map_err(fail)?;
    let unpaid = billing::invoices(&client, stripe_id.as_str(), Some("open"), 10, None)
        .await
        .map_err(fail)?;
    let count = i64::try_from(open_tickets.len()).unwrap_or(i64::MAX);
    Ok(CustomerOverviewOutput {
        customer: CustomerView::new(customer, Some(count)),
        stripe_customer: stripe_customer.as_ref().map(StripeCustomerView::from),
        open_tickets: open_tickets
            .into_iter()
            .map(TicketSummaryView::from)
            .collect(),
        charges,
        more_charges: page.has_more,
        refunds,
        open_disputes,
        subscriptions: subscriptions
            .data
            .iter()
            .map(SubscriptionView::from)
            .collect(),
        last_failed_payment,
        unpaid_invoices: unpaid.data.iter().map(InvoiceView::from).collect(),
    })
}

/// The `customer_overview` tool.
pub struct CustomerOverview;

impl Tool for CustomerOverview {
    const NAME: &'static str = "customer_overview";
    const DESCRIPTION: &'static str = "Everything a support agent needs about one customer in \
        one call (give customer_id or email): the customer here and in the business's Stripe \
        account, their open and pending tickets, their 10 latest charges, the refunds of those \
        charges, their disputes still open, their subscriptions that have not ended, their last \
        failed payment and their unpaid invoices.";
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY_OPEN_WORLD;
    type Args = CustomerOverviewArgs;
    type Output = CustomerOverviewOutput;

    fn run(
        ctx: &Ctx,
        caller: &Caller,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send {
        customer_overview(ctx, caller, args)
    }
}
