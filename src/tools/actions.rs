//! `propose_refund` and `propose_subscription_cancel`: the agent's and an MCP client's way to
//! suggest moving money. They record a pending action and change nothing at Stripe; only a
//! person approves (REST, CLI, the inbox), and there is no approve tool (SECURITY.md M4).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Annotations, Caller, Ctx, Tool, ToolError};
use crate::actions::{
    self, Action, ActionError, CancelProposal, Proposed, RefundProposal, RefundReason,
};
use crate::stripe::{ChargeId, SubscriptionId};

impl From<ActionError> for ToolError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Store(e) => e.into(),
            ActionError::Unavailable(msg) => Self::Unavailable(msg),
            ActionError::Upstream(msg) => Self::Upstream(msg),
        }
    }
}

/// What a proposal returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProposeOutput {
    /// The pending action. Nothing has been done at Stripe: a person approves or rejects it.
    pub action: Action,
    /// False when the same proposal was open already: this is that one, unchanged.
    pub created: bool,
}

impl From<Proposed> for ProposeOutput {
    fn from(p: Proposed) -> Self {
        Self {
            action: p.action,
            created: p.created,
        }
    }
}

const PROPOSAL: Annotations = Annotations {
    read_only_hint: false,
    destructive_hint: false,
    idempotent_hint: true,
    open_world_hint: true,
};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeRefundArgs {
    /// The ticket the refund answers (a UUID); its customer must own the charge.
    pub ticket_id: Uuid,
    /// The charge to refund, e.g. `ch_3MmlLrLkdIwHu7ix0snN0B15` (from `fetch_stripe_charges`).
    pub charge_id: String,
    /// In the currency's smallest unit (cents for USD, yen for JPY); at most what remains
    /// refundable, which is the default.
    #[schemars(range(min = 1))]
    pub amount: Option<i64>,
    /// Stripe's reason: `duplicate`, `fraudulent` or `requested_by_customer`.
    pub reason: RefundReason,
}

pub async fn propose_refund(
    ctx: &Ctx,
    caller: &Caller,
    args: ProposeRefundArgs,
) -> Result<ProposeOutput, ToolError> {
    let charge_id = ChargeId::parse(&args.charge_id)
        .map_err(|_| ToolError::invalid("charge_id", "expected a charge id like ch_3MmlLrLk…"))?;
    let proposal = RefundProposal {
        ticket_id: args.ticket_id,
        charge_id,
        amount: args.amount,
        reason: args.reason,
    };
    Ok(actions::propose_refund(ctx, caller, proposal).await?.into())
}

/// The `propose_refund` tool.
pub struct ProposeRefund;

impl Tool for ProposeRefund {
    const NAME: &'static str = "propose_refund";
    const DESCRIPTION: &'static str = "Propose refunding one of the ticket customer's charges \
        (all that remains refundable unless amount is given, in the currency's smallest unit). \
        This only records a pending proposal: nothing is refunded until a person approves it. \
        Proposing the same refund again returns the first proposal.";
    const ANNOTATIONS: Annotations = PROPOSAL;
    type Args = ProposeRefundArgs;
    type Output = ProposeOutput;

    fn run(
        ctx: &Ctx,
        caller: &Caller,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send {
        propose_refund(ctx, caller, args)
    }
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeSubscriptionCancelArgs {
    /// The ticket the cancellation answers (a UUID); its customer must own the subscription.
    pub ticket_id: Uuid,
    /// The subscription to cancel, e.g. `sub_1MowQVLkdIwHu7ixeRlqHVzs` (from
    /// `list_subscriptions`).
    pub subscription_id: String,
    /// True (the default): it ends when the paid period does, and does not renew. False: it
    /// ends now.
    pub at_period_end: Option<bool>,
}

pub async fn propose_subscription_cancel(
    ctx: &Ctx,
    caller: &Caller,
    args: ProposeSubscriptionCancelArgs,
) -> Result<ProposeOutput, ToolError> {
    let subscription_id = SubscriptionId::parse(&args.subscription_id).map_err(|_| {
        ToolError::invalid(
            "subscription_id",
            "expected a subscription id like sub_1MowQVLk…",
        )
    })?;
    let proposal = CancelProposal {
        ticket_id: args.ticket_id,
        subscription_id,
        at_period_end: args.at_period_end.unwrap_or(true),
    };
    Ok(actions::propose_subscription_cancel(ctx, caller, proposal)
        .await?
        .into())
}

/// The `propose_subscription_cancel` tool.
pub struct ProposeSubscriptionCancel;

impl Tool for ProposeSubscriptionCancel {
    const NAME: &'static str = "propose_subscription_cancel";
    const DESCRIPTION: &'static str = "Propose cancelling one of the ticket customer's \
        subscriptions, at the end of its paid period (the default) or now. This only records a \
        pending proposal: nothing changes until a person approves it. Proposing the same \
        cancellation again returns the first proposal.";
    const ANNOTATIONS: Annotations = PROPOSAL;
    type Args = ProposeSubscriptionCancelArgs;
    type Output = ProposeOutput;

    fn run(
        ctx: &Ctx,
        caller: &Caller,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send {
        propose_subscription_cancel(ctx, caller, args)
    }
}
