//! `fetch_stripe_charges`: a customer's charges from the tenant's own Stripe account, a page at a
//! time, with refunds, dispute status and the card used.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Annotations, Tool, ToolError, args};
use crate::customers::{Customer, store};
use crate::stripe::views::ChargeView;
use crate::stripe::{AccessError, Stripe, StripeError, TenantClient, api};
use crate::{Db, Tenant};

/// Give exactly one of `customer_id` or `email`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
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

/// Runs `fetch_stripe_charges` with the Stripe client the server installed at start.
pub async fn fetch_stripe_charges(
    db: &Db,
    tenant: &Tenant,
    args: FetchStripeChargesArgs,
) -> Result<FetchStripeChargesOutput, ToolError> {
    fetch_stripe_charges_with(db, crate::stripe::installed(), tenant, args).await
}

/// Runs `fetch_stripe_charges` with this Stripe client (`None`: Stripe is not configured).
pub async fn fetch_stripe_charges_with(
    db: &Db,
    stripe: Option<&Stripe>,
    tenant: &Tenant,
    args: FetchStripeChargesArgs,
) -> Result<FetchStripeChargesOutput, ToolError> {
    let limit = args::limit("limit", args.limit, 10)?;
    let after = args.starting_after.as_deref().map(cursor).transpose()?;
    let (customer, stripe_id) =
        linked_customer(db, tenant, args.customer_id, args.email.as_deref()).await?;
    let client = client(db, stripe, tenant).await?;
    let page = api::charges(&client, &stripe_id, limit, after)
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

/// The calling tenant's customer, named by id or email, and their Stripe id. Another tenant's
/// customer is "not found", like an id that never existed.
pub(super) async fn linked_customer(
    db: &Db,
    tenant: &Tenant,
    customer_id: Option<Uuid>,
    email: Option<&str>,
) -> Result<(Customer, String), ToolError> {
    let mut tx = db.begin(tenant).await?;
    let customer = match (customer_id, email) {
        (Some(id), None) => store::get(&mut tx, id).await?,
        (None, Some(email)) => store::find_by_email(&mut tx, email).await?,
        _ => {
            return Err(ToolError::invalid(
                "customer_id, email",
                "give exactly one of customer_id or email",
            ));
        }
    };
    tx.commit().await?;
    match customer.stripe_customer_id.clone() {
        Some(id) => Ok((customer, id)),
        None => Err(ToolError::Unavailable(format!(
            "customer {} is not linked to a Stripe customer: an operator can link customers by \
             email with `support-agent stripe link`, or record the id on the customer",
            customer.id
        ))),
    }
}

/// The tenant's own Stripe client, or a tool error that says what to set up.
pub(super) async fn client<'s>(
    db: &Db,
    stripe: Option<&'s Stripe>,
    tenant: &Tenant,
) -> Result<TenantClient<'s>, ToolError> {
    let stripe = stripe.ok_or_else(|| {
        ToolError::Unavailable(
            "Stripe is not configured on this server: an operator should set SECRETS_KEY".into(),
        )
    })?;
    stripe.client_for(db, tenant).await.map_err(|e| match e {
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

/// A charge id as a page cursor: `ch_` or `py_` and letters and digits.
fn cursor(raw: &str) -> Result<&str, ToolError> {
    let s = raw.trim();
    let ok = s.len() <= 255
        && ["ch_", "py_"].iter().any(|p| {
            s.strip_prefix(p)
                .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric()))
        });
    if ok {
        Ok(s)
    } else {
        Err(ToolError::invalid(
            "starting_after",
            "expected the next_cursor of a previous page, a charge id like ch_3MmlLrLkdIwHu7ix0snN0B15",
        ))
    }
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
        db: &Db,
        tenant: &Tenant,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send {
        fetch_stripe_charges(db, tenant, args)
    }
}
