//! `list_subscriptions` and `list_invoices`: a customer's subscriptions and invoices from the
//! tenant's own Stripe account, a page at a time, like `fetch_stripe_charges`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::charges::{client, linked_customer, upstream};
use super::{Annotations, Caller, Ctx, Tool, ToolError, args};
use crate::customers::CustomerRef;
use crate::stripe::billing::{self, INVOICE_STATUSES, SUBSCRIPTION_STATUSES};
use crate::stripe::billing_views::{InvoiceView, SubscriptionView};
use crate::stripe::{InvoiceId, SubscriptionId};

/// Give exactly one of `customer_id` or `email`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSubscriptionsArgs {
    /// The customer's id (a UUID), e.g. from `lookup_customer` or a ticket's `customer_id`.
    pub customer_id: Option<Uuid>,
    /// The customer's exact email address, e.g. `ada@example.com`.
    pub email: Option<String>,
    /// Only subscriptions in this status: `active`, `past_due`, `unpaid`, `canceled`,
    /// `incomplete`, `incomplete_expired`, `trialing`, `paused`, `ended`, or `all` (the default
    /// leaves canceled ones out).
    pub status: Option<String>,
    /// How many to return, 1 to 100 (default 10), newest first.
    pub limit: Option<i64>,
    /// For the next page: the `next_cursor` of the previous page (a subscription id, `sub_…`).
    pub starting_after: Option<String>,
}

/// One page of the customer's subscriptions, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListSubscriptionsOutput {
    pub subscriptions: Vec<SubscriptionView>,
    /// True when older subscriptions remain.
    pub has_more: bool,
    /// Pass as `starting_after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Give exactly one of `customer_id` or `email`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInvoicesArgs {
    /// The customer's id (a UUID), e.g. from `lookup_customer` or a ticket's `customer_id`.
    pub customer_id: Option<Uuid>,
    /// The customer's exact email address, e.g. `ada@example.com`.
    pub email: Option<String>,
    /// Only invoices in this status: `draft`, `open` (unpaid), `paid`, `uncollectible`, `void`.
    pub status: Option<String>,
    /// How many to return, 1 to 100 (default 10), newest first.
    pub limit: Option<i64>,
    /// For the next page: the `next_cursor` of the previous page (an invoice id, `in_…`).
    pub starting_after: Option<String>,
}

/// One page of the customer's invoices, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListInvoicesOutput {
    pub invoices: Vec<InvoiceView>,
    /// True when older invoices remain.
    pub has_more: bool,
    /// Pass as `starting_after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

fn status<'a>(raw: Option<&'a str>, allowed: &[&str]) -> Result<Option<&'a str>, ToolError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some(s) if allowed.contains(&s) => Ok(Some(s)),
        Some(_) => Err(ToolError::invalid(
            "status",
            format!("expected one of {}", allowed.join(", ")),
        )),
    }
}

fn cursor<T>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, crate::stripe::IdError>,
) -> Result<Option<T>, ToolError> {
    raw.map(|r| {
        parse(r).map_err(|e| {
            ToolError::invalid(
                "starting_after",
                format!("expected the next_cursor of a previous page, {e}"),
            )
        })
    })
    .transpose()
}

/// One page of the customer's subscriptions, with the tenant's own Stripe access.
pub async fn list_subscriptions(
    ctx: &Ctx,
    caller: &Caller,
    args: ListSubscriptionsArgs,
) -> Result<ListSubscriptionsOutput, ToolError> {
    let limit = args::limit("limit", args.limit, 10)?;
    let status = status(args.status.as_deref(), &SUBSCRIPTION_STATUSES)?;
    let after = cursor(args.starting_after.as_deref(), SubscriptionId::parse)?;
    let customer = CustomerRef::from_parts(args.customer_id, args.email.as_deref())?;
    let (customer, stripe_id) = linked_customer(ctx, caller, &customer).await?;
    let client = client(ctx, caller).await?;
    let page = billing::subscriptions(
        &client,
        stripe_id.as_str(),
        status,
        limit,
        after.as_ref().map(SubscriptionId::as_str),
    )
    .await
    .map_err(|e| upstream(&customer, e))?;
    let subscriptions: Vec<SubscriptionView> =
        page.data.iter().map(SubscriptionView::from).collect();
    let next_cursor = page
        .has_more
        .then(|| subscriptions.last().map(|s| s.id.clone()))
        .flatten();
    Ok(ListSubscriptionsOutput {
        has_more: next_cursor.is_some(),
        subscriptions,
        next_cursor,
    })
}

/// One page of the customer's invoices, with the tenant's own Stripe access.
pub async fn list_invoices(
    ctx: &Ctx,
    caller: &Caller,
    args: ListInvoicesArgs,
) -> Result<ListInvoicesOutput, ToolError> {
    let limit = args::limit("limit", args.limit, 10)?;
    let status = status(args.status.as_deref(), &INVOICE_STATUSES)?;
    let after = cursor(args.starting_after.as_deref(), InvoiceId::parse)?;
    let customer = CustomerRef::from_parts(args.customer_id, args.email.as_deref())?;
    let (customer, stripe_id) = linked_customer(ctx, caller, &customer).await?;
    let client = client(ctx, caller).await?;
    let page = billing::invoices(
        &client,
        stripe_id.as_str(),
        status,
        limit,
        after.as_ref().map(InvoiceId::as_str),
    )
    .await
    .map_err(|e| upstream(&customer, e))?;
    let invoices: Vec<InvoiceView> = page.data.iter().map(InvoiceView::from).collect();
    let next_cursor = page
        .has_more
        .then(|| invoices.last().map(|i| i.id.clone()))
        .flatten();
    Ok(ListInvoicesOutput {
        has_more: next_cursor.is_some(),
        invoices,
        next_cursor,
    })
}

/// The `list_subscriptions` tool.
pub struct ListSubscriptions;

impl Tool for ListSubscriptions {
    const NAME: &'static str = "list_subscriptions";
    const DESCRIPTION: &'static str = "List a customer's subscriptions in the business's \
        Stripe account, newest first (give customer_id or email; status filters, `all` includes \
        canceled ones). Each has what is subscribed to, the amount per period (also formatted) \
        and interval, status, current_period_end, cancel_at_period_end, when access ends if it \
        is cancelled, the trial end and the latest invoice's status. Page with starting_after = \
        next_cursor while has_more is true.";
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY_OPEN_WORLD;
    type Args = ListSubscriptionsArgs;
    type Output = ListSubscriptionsOutput;

    fn run(
        ctx: &Ctx,
        caller: &Caller,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send {
        list_subscriptions(ctx, caller, args)
    }
}

/// The `list_invoices` tool.
pub struct ListInvoices;

impl Tool for ListInvoices {
    const NAME: &'static str = "list_invoices";
    const DESCRIPTION: &'static str = "List a customer's invoices in the business's Stripe \
        account, newest first (give customer_id or email; status filters: draft, open, paid, \
        uncollectible, void). Each has its number, amount due and paid (also formatted), \
        status, why it was made (billing_reason), attempt count, next payment attempt, the \
        charge that paid it, the subscription it bills and the period it covers. Page with \
        starting_after = next_cursor while has_more is true.";
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY_OPEN_WORLD;
    type Args = ListInvoicesArgs;
    type Output = ListInvoicesOutput;

    fn run(
        ctx: &Ctx,
        caller: &Caller,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send {
        list_invoices(ctx, caller, args)
    }
}
