//! Every prompt and every customer-facing text, kept as files in `prompts/` and filled in here.
//!
//! - Model prompts: the drafting guide (`prompts/drafting.md`), shared by the MCP `draft_reply`
//!   prompt (`prompts/mcp/`) and the triage loop's request (`prompts/triage/`), and the triage
//!   system and classification texts.
//! - Replies sent to customers, never to a model ([`replies`]): the holding reply and the
//!   offline engine's drafts (`prompts/replies/`).
//!
//! Untrusted text (tickets, messages, tool results) reaches a model only as delimited data
//! (SECURITY.md M5): it is serialised as JSON between markers such as `<ticket_data>`, with `<`
//! and `>` escaped so that no ticket text can close the marker and pose as instructions.

pub mod replies;

use uuid::Uuid;

use crate::tools::GetTicketOutput;

/// How to write a reply: the one guide both drafting paths give their model.
pub const DRAFTING_GUIDE: &str = include_str!("../../prompts/drafting.md");
/// The MCP `draft_reply` prompt for a staff member's model.
pub const MCP_DRAFT_REPLY: &str = include_str!("../../prompts/mcp/draft_reply.md");
/// The triage loop's system prompt: rules no ticket text can change.
pub const TRIAGE_SYSTEM: &str = include_str!("../../prompts/triage/system.md");
/// The triage loop's opening request, with the ticket as delimited data.
pub const TRIAGE_REQUEST: &str = include_str!("../../prompts/triage/request.md");
/// How the triage loop classifies.
pub const TRIAGE_CLASSIFY: &str = include_str!("../../prompts/triage/classify.md");

/// Every template by its path under `prompts/`, for the snapshot test and for review.
pub const TEMPLATES: [(&str, &str); 8] = [
    ("drafting.md", DRAFTING_GUIDE),
    ("mcp/draft_reply.md", MCP_DRAFT_REPLY),
    ("triage/system.md", TRIAGE_SYSTEM),
    ("triage/request.md", TRIAGE_REQUEST),
    ("triage/classify.md", TRIAGE_CLASSIFY),
    ("replies/holding.md", replies::HOLDING),
    ("replies/offline_holding.md", replies::OFFLINE_HOLDING),
    ("replies/offline_draft.md", replies::OFFLINE_DRAFT),
];

/// The MCP `draft_reply` prompt for one ticket thread.
pub fn mcp_draft_reply(thread: &GetTicketOutput) -> String {
    MCP_DRAFT_REPLY
        .replace("{{drafting_guide}}", DRAFTING_GUIDE.trim_end())
        .replace("{{ticket_id}}", &thread.ticket.summary.id.to_string())
        // Last, so that nothing inside the data is taken for a placeholder.
        .replace("{{ticket_data}}", &delimited_json(thread))
}

/// The user message that opens a triage conversation. Ticket text enters only through
/// [`delimited_json`], so it cannot close its marker and pose as instructions.
pub fn triage_request(
    ticket_id: Uuid,
    trigger_id: Uuid,
    thread: &impl serde::Serialize,
    categories: &[String],
) -> String {
    let categories = if categories.is_empty() {
        "(none yet)".to_owned()
    } else {
        categories.join(", ")
    };
    TRIAGE_REQUEST
        .replace("{{ticket_id}}", &ticket_id.to_string())
        .replace("{{trigger_id}}", &trigger_id.to_string())
        .replace("{{drafting_guide}}", DRAFTING_GUIDE.trim_end())
        .replace(
            "{{classify_instructions}}",
            TRIAGE_CLASSIFY
                .trim_end()
                .replace("{{categories}}", &categories)
                .as_str(),
        )
        .replace("{{ticket_data}}", &delimited_json(thread))
}

/// A tool's result as the model sees it: delimited data.
pub fn tool_result(value: &serde_json::Value) -> String {
    format!("<tool_result>\n{}\n</tool_result>", delimited_json(value))
}

/// Pretty JSON of `value` in which `<` and `>` only ever appear as `\u003c` and `\u003e`
/// (both are legal only inside JSON strings, where the escapes mean the same characters).
pub fn delimited_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|_| "{}".to_owned())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

#[cfg(test)]
mod tests;
