//! What writes the drafts, chosen once from the settings: a chat model when one is configured,
//! else the offline engine (which needs the embedding model).

use super::offline::Offline;
use crate::llm::{ChatModel, LlmSettings};
use crate::prompts::replies;
use crate::tools::Ctx;

/// What writes the draft.
pub enum Engine {
    /// An OpenAI-compatible chat model with the shared tools.
    Llm(Box<ChatModel>),
    /// No model: a retrieval-only draft and a kNN category (the default of a fresh install).
    Offline(Offline),
}

/// Why no engine can run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "no chat model is configured (LLM_BASE_URL) and the offline engine needs the embedding \
         model: run scripts/fetch-model.sh"
    )]
    NoEngine,
}

impl Engine {
    /// The chat model when `llm` names one, else the offline engine over the context's embedder.
    pub fn from_settings(llm: &LlmSettings, ctx: &Ctx) -> Result<Self, EngineError> {
        if llm.is_configured() {
            return Ok(Self::Llm(Box::new(ChatModel::new(llm))));
        }
        match ctx.knowledge() {
            Some(k) => Ok(Self::Offline(Offline::new(k.embedder.clone()))),
            None => Err(EngineError::NoEngine),
        }
    }

    /// How the engine is described to an operator: the model's name and URL, or "offline".
    pub fn label(&self) -> String {
        match self {
            Self::Llm(model) => format!("chat model {} at {}", model.model(), model.base_url()),
            Self::Offline(_) => "offline, retrieval-only: no LLM_BASE_URL set".to_owned(),
        }
    }

    /// The reply that stands in for a draft the guard refuses.
    pub fn holding_reply(&self) -> &'static str {
        match self {
            Self::Llm(_) => replies::HOLDING,
            Self::Offline(_) => replies::OFFLINE_HOLDING,
        }
    }
}
