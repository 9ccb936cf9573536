//! The tool-calling loop: the model reads the ticket, calls shared tools, and ends by submitting
//! a [`TriageResult`]. Bounded by turns, tokens and time; it can read and draft, nothing more.

use std::collections::HashSet;
use std::time::Instant;

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionTool, ChatCompletionTools,
    FunctionObject,
};

use serde_json::Value;

use super::{Limits, TriageResult};
use crate::llm::{ChatModel, LlmError};
use crate::prompts;
use crate::tools::{self, Caller, Ctx, ToolError};

/// The tools the loop may call: reads, and proposals of a refund or a cancellation on the job's
/// own ticket, which a person approves or rejects. Drafting happens through its final result,
/// and nothing it can call sends, refunds or changes a record at Stripe (SECURITY.md M4).
pub const AGENT_TOOLS: [&str; 9] = [
    "search_knowledge",
    "fetch_stripe_charges",
    "customer_overview",
    "list_subscriptions",
    "list_invoices",
    "get_ticket",
    "lookup_customer",
    "propose_refund",
    "propose_subscription_cancel",
];

/// The function the model ends with.
pub const SUBMIT: &str = "submit_triage";

/// How a run ended when it produced no result.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The model did not submit within the turn, token or time budget.
    #[error("the model did not finish within its budget: {0}")]
    Budget(Budget),
    /// A tool failed for a reason of ours (the database), not the model's.
    #[error("a tool failed: {0}")]
    Tool(String),
}

/// Which budget a run exhausted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Budget {
    #[error("{0} turns")]
    Turns(u32),
    #[error("{0} tokens used")]
    Tokens(u32),
    #[error("over {0:?}")]
    Time(std::time::Duration),
}

impl Budget {
    pub fn is_tokens(&self) -> bool {
        matches!(self, Self::Tokens(_))
    }
}

/// A finished run: the model's result and every id the tools showed it, so that the guard can
/// check that citations and ids in the draft came from this tenant's own data.
#[derive(Debug)]
pub struct Outcome {
    pub result: TriageResult,
    pub seen_ids: HashSet<String>,
    pub turns: u32,
    pub tokens: u32,
}

/// The opening of the conversation: system rules, then the ticket as delimited data.
pub fn opening(request: String) -> Vec<ChatCompletionRequestMessage> {
    vec![
        ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
            content: ChatCompletionRequestSystemMessageContent::Text(
                prompts::TRIAGE_SYSTEM.to_owned(),
            ),
            name: None,
        }),
        ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
            content: ChatCompletionRequestUserMessageContent::Text(request),
            name: None,
        }),
    ]
}

/// The tools on offer, with the very schemas and descriptions the MCP server publishes.
pub fn offered_tools() -> Vec<ChatCompletionTools> {
    let mut offered: Vec<ChatCompletionTools> = AGENT_TOOLS
        .iter()
        .filter_map(|name| tools::find(name))
        .map(|t| {
            function(
                t.name,
                t.description,
                Value::Object((*t.input_schema).clone()),
            )
        })
        .collect();
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<TriageResult>();
    let mut schema = serde_json::to_value(schema).unwrap_or_default();
    if let Some(o) = schema.as_object_mut() {
        o.remove("title");
        o.remove("$schema");
    }
    offered.push(function(
        SUBMIT,
        "Submit the finished draft reply and the ticket's classification. Call exactly once, last.",
        schema,
    ));
    offered
}

fn function(name: &str, description: &str, parameters: Value) -> ChatCompletionTools {
    ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            parameters: Some(parameters),
            strict: None,
        },
    })
}

/// Runs the loop for one ticket of the caller's tenant, starting from `messages` (see
/// [`opening`]). `spent` counts the tokens the model reported, whatever the outcome, for the
/// tenant's daily ledger.
pub async fn run(
    ctx: &Ctx,
    caller: &Caller,
    model: &ChatModel,
    mut messages: Vec<ChatCompletionRequestMessage>,
    limits: Limits,
    spent: &mut u32,
) -> Result<Outcome, AgentError> {
    let started = Instant::now();
    let offered = offered_tools();
    let mut seen_ids = HashSet::new();
    let mut tokens = 0u32;
    for turn in 1..=limits.max_turns {
        if started.elapsed() > limits.deadline {
            return Err(AgentError::Budget(Budget::Time(limits.deadline)));
        }
        let reply = model
            .complete(messages.clone(), offered.clone(), limits.max_answer_tokens)
            .await?;
        tokens = tokens.saturating_add(reply.total_tokens);
        *spent = spent.saturating_add(reply.total_tokens);
        // Checked before anything in the reply is used: a run past its token budget ends here,
        // even with a result in hand (the tenant's daily budget is one of these).
        if tokens > limits.max_tokens {
            return Err(AgentError::Budget(Budget::Tokens(tokens)));
        }
        let calls: Vec<ChatCompletionMessageToolCall> = reply
            .message
            .tool_calls
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| match c {
                ChatCompletionMessageToolCalls::Function(f) => Some(f),
                ChatCompletionMessageToolCalls::Custom(_) => None,
            })
            .collect();
        messages.push(ChatCompletionRequestMessage::Assistant(
            ChatCompletionRequestAssistantMessage {
                content: reply
                    .message
                    .content
                    .clone()
                    .map(ChatCompletionRequestAssistantMessageContent::Text),
                tool_calls: reply.message.tool_calls.clone(),
                ..Default::default()
            },
        ));
        if calls.is_empty() {
            // Some servers answer in text instead of calling the function: accept the result
            // there if it parses, else ask once more for the function call.
            if let Some(result) = reply.message.content.as_deref().and_then(parse_result_text) {
                return Ok(Outcome {
                    result,
                    seen_ids,
                    turns: turn,
                    tokens,
                });
            }
            messages.push(user(format!(
                "Finish by calling {SUBMIT} with the draft and the classification."
            )));
        }
        let mut submitted = None;
        for call in calls {
            let answer = match call.function.name.as_str() {
                SUBMIT => match serde_json::from_str::<TriageResult>(&call.function.arguments) {
                    Ok(result) => {
                        submitted = Some(result);
                        "received".to_owned()
                    }
                    Err(e) => format!(
                        "error: the arguments do not match the schema ({e}); call {SUBMIT} again"
                    ),
                },
                name if AGENT_TOOLS.contains(&name) => {
                    call_tool(ctx, caller, name, &call.function.arguments, &mut seen_ids).await?
                }
                other => format!(
                    "error: there is no tool named {:?}; use one of {}, then {SUBMIT}",
                    other.chars().take(64).collect::<String>(),
                    AGENT_TOOLS.join(", ")
                ),
            };
            messages.push(ChatCompletionRequestMessage::Tool(
                ChatCompletionRequestToolMessage {
                    content: ChatCompletionRequestToolMessageContent::Text(answer),
                    tool_call_id: call.id,
                },
            ));
        }
        if let Some(result) = submitted {
            return Ok(Outcome {
                result,
                seen_ids,
                turns: turn,
                tokens,
            });
        }
    }
    Err(AgentError::Budget(Budget::Turns(limits.max_turns)))
}

/// Runs one shared tool for the model. A mistake of the model's (bad arguments, an unknown id)
/// goes back to it as a short error it can correct; only a failure of ours ends the run.
async fn call_tool(
    ctx: &Ctx,
    caller: &Caller,
    name: &str,
    arguments: &str,
    seen_ids: &mut HashSet<String>,
) -> Result<String, AgentError> {
    let Ok(args) = serde_json::from_str::<Value>(arguments) else {
        return Ok("error: the arguments are not valid JSON".into());
    };
    match tools::call(ctx, caller, name, args).await {
        Ok(value) => {
            super::guard::collect_ids(&value, seen_ids);
            Ok(prompts::tool_result(&value))
        }
        Err(ToolError::Infrastructure(e)) => Err(AgentError::Tool(e.to_string())),
        Err(e) => Ok(format!("error: {e}")),
    }
}

fn user(text: String) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
        content: ChatCompletionRequestUserMessageContent::Text(text),
        name: None,
    })
}

/// A result given as text: a JSON object, possibly in a Markdown code fence.
fn parse_result_text(text: &str) -> Option<TriageResult> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    serde_json::from_str(text.get(start..=end)?).ok()
}
