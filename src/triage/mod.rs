//! Triage: for each new ticket or customer message, one `ai` draft and the ticket's triage fields.
//!
//! With a chat model configured, [`agent`] runs a tool-calling loop over the shared tool layer;
//! without one, [`offline`] assembles a retrieval-only draft. Either way [`guard`] checks the
//! result before anything is stored, and [`handler`] stores it under the job's tenant.

pub mod agent;
mod engine;
pub mod guard;
pub mod handler;
pub mod knn;
pub mod offline;
pub mod rules;

pub use engine::{Engine, EngineError};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::tickets::Priority;

/// The customer's mood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Negative => "negative",
            Self::Neutral => "neutral",
            Self::Positive => "positive",
        }
    }
}

/// The structured end of a triage: what the model submits with `submit_triage`, and what the
/// offline path produces.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageResult {
    /// The reply to the customer, in their language.
    pub reply: String,
    /// `chunk_id`s of the knowledge passages the reply relies on.
    #[serde(default)]
    pub chunk_ids: Vec<String>,
    /// `id`s of the Stripe charges, invoices (`in_…`) and subscriptions (`sub_…`) the reply
    /// relies on.
    #[serde(default)]
    pub charge_ids: Vec<String>,
    /// A short snake_case label for what the customer wants, e.g. `refund_request`.
    pub category: String,
    pub priority: Priority,
    pub sentiment: Sentiment,
    /// The customer's language as a BCP 47 code, e.g. `en`.
    pub language: String,
    /// How sure the category is, from 0 to 1.
    pub confidence: f32,
    /// True when a person must look at the ticket before anything else happens.
    pub needs_human: bool,
}

/// Limits of one triage run (SECURITY.md M3–M5: the loop is bounded and can only draft).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Model calls at most.
    pub max_turns: u32,
    /// Tokens (prompt and completion, all turns) at most.
    pub max_tokens: u32,
    /// Tokens one answer may have.
    pub max_answer_tokens: u32,
    /// Wall-clock time for the whole loop.
    pub deadline: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_turns: 8,
            max_tokens: 40_000,
            max_answer_tokens: 1_024,
            deadline: std::time::Duration::from_secs(180),
        }
    }
}
