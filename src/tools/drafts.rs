//! `draft_reply`: store a reply written by a model as an `ai` message in state `draft`.
//!
//! This is the only write the LLM loop makes (SECURITY.md M4): a person approves and sends.
//! Every draft passes the content checks of [`crate::draft_check`] first (D2, D3): for a staff
//! member's MCP client, which holds no session state, the Stripe ids and receipt URLs in it are
//! checked against what Stripe lists for the ticket's customer.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::charges::stripe_facts;
use super::{Annotations, Caller, Ctx, MessageView, Scope, Tool, ToolError};
use crate::draft_check::{self, links, scan};
use crate::messages::{Sender, store};
use crate::{secrets, tickets};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftReplyArgs {
    /// The ticket to draft a reply on (a UUID).
    pub ticket_id: Uuid,
    /// The reply to the customer, as plain text (at most 20,000 characters). It is stored as a
    /// draft for a person to review; it is not sent.
    pub content: String,
}

/// The stored draft.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DraftReplyOutput {
    pub ticket_id: Uuid,
    pub draft: MessageView,
}

/// Adds an `ai` draft to one of `tenant`'s tickets. Refuses a draft that carries a credential
/// (a Stripe key, a webhook secret, a token) or a card number, whatever asked for it, and one
/// that speaks of anyone but the ticket's customer, links off the tenant's `link_domains` or
/// holds an image; the error says which.
pub async fn draft_reply(
    ctx: &Ctx,
    caller: &Caller,
    args: DraftReplyArgs,
) -> Result<DraftReplyOutput, ToolError> {
    if let Some(kind) = secrets::find(&args.content) {
        return Err(ToolError::invalid(
            "content",
            format!("contains {kind}; a draft must never carry credentials"),
        ));
    }
    let mut tx = ctx.begin(caller).await?;
    let customer = tickets::store::get(&mut tx, args.ticket_id)
        .await?
        .customer_id;
    tx.commit().await?;
    let attributed = attributed(ctx, caller, customer, &args.content).await;
    let findings = draft_check::check(
        ctx.db(),
        &caller.tenant,
        customer,
        &args.content,
        &attributed,
    )
    .await?;
    if !findings.is_empty() {
        // Staff may learn what was refused; a ticket-scoped caller (a model working for an
        // outsider) learns no more than that, or the refusal would tell it who else is a customer.
        let reason = match caller.scope {
            Scope::Tenant => draft_check::describe(&findings),
            Scope::Ticket { .. } => "the draft may speak only of this ticket's customer, link \
                only to the tenant's link_domains and hold no images or credentials"
                .to_owned(),
        };
        return Err(ToolError::invalid("content", reason));
    }
    let max_open = ctx.limits().settings.max_drafts_per_ticket;
    let mut tx = ctx.begin(caller).await?;
    store::check_open_drafts(&mut tx, args.ticket_id, max_open).await?;
    let message = store::add(&mut tx, args.ticket_id, Sender::Ai, &args.content).await?;
    tx.commit().await?;
    Ok(DraftReplyOutput {
        ticket_id: args.ticket_id,
        draft: message.into(),
    })
}

/// The Stripe ids and receipt URLs of the customer's that `content` mentions, as Stripe lists
/// them; nothing is asked of Stripe when the draft names none.
async fn attributed(ctx: &Ctx, caller: &Caller, customer: Uuid, content: &str) -> HashSet<String> {
    let ids = scan::stripe_ids(content);
    let pages = links::links(content).into_iter().any(|l| {
        l.host
            .as_deref()
            .is_some_and(links::is_stripe_customer_host)
    });
    let beyond_customer = ids.iter().any(|id| !id.starts_with("cus_"));
    if !pages && !beyond_customer {
        return HashSet::new();
    }
    let nested = ids
        .iter()
        .any(|id| id.starts_with("re_") || id.starts_with("dp_"));
    let billing = ids
        .iter()
        .any(|id| id.starts_with("in_") || id.starts_with("sub_"));
    stripe_facts(ctx, caller, customer, nested, billing).await
}

/// The `draft_reply` tool.
pub struct DraftReply;

impl Tool for DraftReply {
    const NAME: &'static str = "draft_reply";
    const DESCRIPTION: &'static str = "Store a reply to a ticket's customer as a draft (an `ai` \
        message in state `draft`). Nothing is sent: a person reviews, edits and sends drafts. \
        A draft may speak only of the ticket's own customer, link only to the business's own \
        domains and hold no images or credentials; anything else is refused with the reason.";
    const ANNOTATIONS: Annotations = Annotations {
        read_only_hint: false,
        destructive_hint: false,
        idempotent_hint: false,
        open_world_hint: false,
    };
    type Args = DraftReplyArgs;
    type Output = DraftReplyOutput;

    fn run(
        ctx: &Ctx,
        caller: &Caller,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send {
        draft_reply(ctx, caller, args)
    }
}
