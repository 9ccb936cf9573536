//! `draft_reply`: store a reply written by a model as an `ai` message in state `draft`.
//!
//! This is the only write the LLM loop makes (SECURITY.md M4): a person approves and sends.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Annotations, Caller, Ctx, MessageView, Tool, ToolError};
use crate::messages::{Sender, store};
use crate::secrets;

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
/// (a Stripe key, a webhook secret, a token), whatever asked for it.
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
    let max_open = ctx.limits().settings.max_drafts_per_ticket;
    let mut tx = ctx.db().begin(&caller.tenant).await?;
    store::check_open_drafts(&mut tx, args.ticket_id, max_open).await?;
    let message = store::add(&mut tx, args.ticket_id, Sender::Ai, &args.content).await?;
    tx.commit().await?;
    Ok(DraftReplyOutput {
        ticket_id: args.ticket_id,
        draft: message.into(),
    })
}

/// The `draft_reply` tool.
pub struct DraftReply;

impl Tool for DraftReply {
    const NAME: &'static str = "draft_reply";
    const DESCRIPTION: &'static str = "Store a reply to a ticket's customer as a draft (an `ai` \
        message in state `draft`). Nothing is sent: a person reviews, edits and sends drafts.";
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
