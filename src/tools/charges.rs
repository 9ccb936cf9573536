//! `fetch_stripe_charges`: a customer's charges from the tenant's own Stripe account, a page at a
//! time, with refunds, dispute status and the card used.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Annotations, Caller, Ctx, Tool, ToolError, args};
use crate::customers::{Customer, CustomerRef, store};
use crate::stripe::views::ChargeView;
use crate::stripe::{AccessError, ChargeId, CustomerId, StripeError, TenantClient, api, billing};

/// Give exactly one of `customer_id` or `email`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchStripeChargesArgs {
    /// The customer's id (a UUID), e.g. from `lookup_customer` or a ticket's `customer_id`.
    pub customer_id: Option<Uuid>,
    /// The customer's exact email address, e.g. `ada@example.com`.
    pub email: Option<String>,
    /// How many charges to return, 1 to 100 (default 10), newest first.
    pub limit: Option<i64>,
    /// For the next page: the `next_cursor` of the previous page (a charge id, `ch_…`).
    pub starting_after: Option<String>,
}

/// One page of the customer's charges, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FetchStripeChargesOutput {
    pub charges: Vec<ChargeView>,
    /// True when older charges remain.
    pub has_more: bool,
    /// Pass as `starting_after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One page of the customer's charges, with the tenant's own Stripe access.
pub async fn fetch_stripe_charges(
    ctx: &Ctx,
    caller: &Caller,
    args: FetchStripeChargesArgs,
) -> Result<FetchStripeChargesOutput, ToolError> {
    let limit = args::limit("limit", args.limit, 10)?;
    let after = args
        .starting_after
        .as_deref()
        .map(|raw| {
            ChargeId::parse(raw).map_err(|_| {
                ToolError::invalid(
                    "starting_after",
                    "expected the next_cursor of a previous page, a charge id like \
                     ch_3MmlLrLkdIwHu7ix0snN0B15",
                )
            })
        })
        .transpose()?;
    let customer = CustomerRef::from_parts(args.customer_id, args.email.as_deref())?;
    let (customer, stripe_id) = linked_customer(ctx, caller, &customer).await?;
    let client = client(ctx, caller).await?;
    let page = api::charges(
        &client,
        stripe_id.as_str(),
        limit,
        after.as_ref().map(ChargeId::as_str),
    )
    .await
    .map_err(|e| upstream(&customer, e))?;
    let mut charges = Vec::with_capacity(page.data.len());
    for c in &page.data {
        let dispute = dispute_status(&client, c)
            .await
            .map_err(|e| upstream(&customer, e))?;
        charges.push(ChargeView::new(c, dispute));
    }
    let next_cursor = match page.has_more {
        true => charges.last().map(|c| c.id.clone()),
        false => None,
    };
    Ok(FetchStripeChargesOutput {
        has_more: next_cursor.is_some(),
        charges,
        next_cursor,
    })
}

/// The status of a disputed charge's latest dispute; `None` for an undisputed charge.
async fn dispute_status(
    client: &TenantClient<'_>,
    charge: &stripe_shared::Charge,
) -> Result<Option<String>, StripeError> {
    if !charge.disputed {
        return Ok(None);
    }
    let disputes = api::disputes_of(client, charge.id.as_str()).await?;
    Ok(latest_status(&disputes))
}

/// The status of the most recent of a charge's disputes.
pub(super) fn latest_status(disputes: &[stripe_shared::Dispute]) -> Option<String> {
    disputes
        .iter()
        .max_by_key(|d| d.created)
        .map(|d| d.status.as_str().to_owned())
}

/// The calling tenant's customer and their Stripe id. Another tenant's customer is "not found",
/// like an id that never existed.
pub(super) async fn linked_customer(
    ctx: &Ctx,
    caller: &Caller,
    customer: &CustomerRef,
) -> Result<(Customer, CustomerId), ToolError> {
    let mut tx = ctx.begin(caller).await?;
    let customer = store::find(&mut tx, customer).await?;
    tx.commit().await?;
    let linked = customer
        .stripe_customer_id
        .as_deref()
        .and_then(|id| CustomerId::parse(id).ok());
    match linked {
        Some(id) => Ok((customer, id)),
        None => Err(ToolError::Unavailable(format!(
            "customer {} is not linked to a Stripe customer: an operator can link customers by \
             email with `support-agent stripe link`, or record the id on the customer",
            customer.id
        ))),
    }
}

/// The Stripe ids and customer pages that belong to `customer`, for the content check of a
/// draft to them: their Stripe customer id and, for their latest 100 charges, each charge's id,
/// payment intent and receipt URL, with the refunds and disputes of those charges when `nested`,
/// and their latest 100 invoices and subscriptions when `billing`.
/// Empty when Stripe cannot say (not configured, not connected, the customer not linked, Stripe
/// failing): then nothing of Stripe's counts as theirs.
pub(super) async fn stripe_facts(
    ctx: &Ctx,
    caller: &Caller,
    customer: Uuid,
    nested: bool,
    billing: bool,
) -> HashSet<String> {
    match facts(ctx, caller, customer, nested, billing).await {
        Ok(facts) => facts,
        Err(e) => {
            tracing::info!(%customer, error = %e, "no Stripe facts to check a draft against");
            HashSet::new()
        }
    }
}

async fn facts(
    ctx: &Ctx,
    caller: &Caller,
    customer: Uuid,
    nested: bool,
    billing: bool,
) -> Result<HashSet<String>, ToolError> {
    let (customer, stripe_id) = linked_customer(ctx, caller, &CustomerRef::Id(customer)).await?;
    let client = client(ctx, caller).await?;
    let fail = |e| upstream(&customer, e);
    let page = api::charges(&client, stripe_id.as_str(), api::MAX_PAGE, None)
        .await
        .map_err(fail)?;
    let mut out = HashSet::from([stripe_id.as_str().to_owned()]);
    for c in &page.data {
        out.insert(c.id.as_str().to_owned());
        out.extend(
            c.payment_intent
                .as_ref()
                .map(|p| p.id().as_str().to_owned()),
        );
        out.extend(c.receipt_url.clone());
        if nested && c.amount_refunded > 0 {
            let refunds = api::refunds_of(&client, c.id.as_str())
                .await
                .map_err(fail)?;
            out.extend(refunds.iter().map(|r| r.id.as_str().to_owned()));
        }
        if nested && c.disputed {
            let disputes = api::disputes_of(&client, c.id.as_str())
                .await
                .map_err(fail)?;
            out.extend(disputes.iter().map(|d| d.id.as_str().to_owned()));
        }
    }
    if billing {
        let max = api::MAX_PAGE;
        let subs = billing::subscriptions(&client, stripe_id.as_str(), Some("all"), max, None)
            .await
            .map_err(fail)?;
        out.extend(subs.data.iter().map(|s| s.id.as_str().to_owned()));
        let invoices = billing::invoices(&client, stripe_id.as_str(), None, max, None)
            .await
            .map_err(fail)?;
        out.extend(
            invoices
                .data
                .iter()
                .filter_map(|i| i.id.as_ref().map(|id| id.as_str().to_owned())),
        );
    }
    Ok(out)
}

/// The tenant's own Stripe client, or a tool error that says what to set up.
pub async fn client<'s>(ctx: &'s Ctx, caller: &Caller) -> Result<TenantClient<'s>, ToolError> {
    let tenant = &caller.tenant;
    ctx.stripe()?
        .client_for(ctx.db(), tenant)
        .await
        .map_err(|e| match e {
            AccessError::Store(e) => ToolError::from(e),
            AccessError::NotConnected => ToolError::Unavailable(
                "this tenant has not connected Stripe: an operator can connect it with \
                 `support-agent stripe connect`"
                    .into(),
            ),
            e => {
                tracing::error!(%tenant, error = %e, "the tenant's Stripe credentials cannot be used");
                ToolError::Unavailable(e.to_string())
            }
        })
}

/// A failed Stripe request as a tool error: what happened and what to do, no stack trace.
pub(super) fn upstream(customer: &Customer, e: StripeError) -> ToolError {
    tracing::warn!(customer = %customer.id, error = %e, "a Stripe request failed");
    ToolError::Upstream(format!("{e}; {}", e.advice()))
}

/// The `fetch_stripe_charges` tool.
pub struct FetchStripeCharges;

impl Tool for FetchStripeCharges {
    const NAME: &'static str = "fetch_stripe_charges";
    const DESCRIPTION: &'static str = "List a customer's charges in the business's Stripe \
        account, newest first (give customer_id or email). Each charge has its amount (also \
        formatted), status, whether it was paid and refunded, any dispute status, failure \
        reason, description, receipt URL, date and the card brand and last4. Page with \
        starting_after = next_cursor while has_more is true.";
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY_OPEN_WORLD;
    type Args = FetchStripeChargesArgs;
    type Output = FetchStripeChargesOutput;

    fn run(
        ctx: &Ctx,
        caller: &Caller,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send {
        fetch_stripe_charges(ctx, caller, args)
    }
}
