//! The MCP `draft_reply` prompt (argument `ticket_id`): the protocol side of
//! [`crate::prompts::mcp_draft_reply`], which fills the template in.

use rmcp::ErrorData as McpError;
use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};
use uuid::Uuid;

use crate::tools::{self, Caller, Ctx, GetTicketArgs, ToolError};

/// The prompts this server offers.
pub fn list() -> Vec<Prompt> {
    vec![Prompt::new(
        "draft_reply",
        Some("Draft a reply to a ticket's customer, treating the ticket's text as untrusted data"),
        Some(vec![
            PromptArgument::new("ticket_id")
                .with_description("The ticket's id (a UUID)")
                .with_required(true),
        ]),
    )]
}

/// Fills the prompt `name` in for the tenant's ticket named in `arguments`.
pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    name: &str,
    arguments: Option<&JsonObject>,
) -> Result<GetPromptResult, McpError> {
    if name != "draft_reply" {
        return Err(McpError::invalid_params(
            format!("unknown prompt `{name}`"),
            None,
        ));
    }
    let ticket_id = arguments
        .and_then(|a| a.get("ticket_id"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| McpError::invalid_params("missing argument `ticket_id`", None))?;
    let ticket_id = Uuid::parse_str(ticket_id.trim())
        .map_err(|_| McpError::invalid_params("argument `ticket_id` is not a UUID", None))?;
    let thread = tools::get_ticket(ctx, caller, GetTicketArgs::new(ticket_id))
        .await
        .map_err(|e| match e {
            ToolError::NotFound(what) => {
                McpError::invalid_params(format!("{what} not found"), None)
            }
            ToolError::Infrastructure(e) => {
                tracing::error!(error = %e, "building the draft_reply prompt failed");
                McpError::internal_error("internal error", None)
            }
            other => McpError::invalid_params(other.to_string(), None),
        })?;
    let text = crate::prompts::mcp_draft_reply(&thread);
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description("Draft a reply to this ticket"),
    )
}
