//! An OpenAI-compatible chat model (OpenAI, Ollama, vLLM, llama.cpp's server all speak it),
//! through async-openai, with errors classified for the work queue's retries.

pub mod usage;

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionResponseMessage, ChatCompletionTools,
    CreateChatCompletionRequest,
};
use clap::Args;

use crate::config::{Secret, parse_duration};

/// The API a key alone (no `LLM_BASE_URL`) is sent to.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Where the chat model is. With neither `LLM_BASE_URL` nor `LLM_API_KEY` set, triage runs its
/// offline, retrieval-only path.
#[derive(Debug, Clone, Args)]
pub struct LlmSettings {
    /// Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1 for Ollama.
    #[arg(long, env = "LLM_BASE_URL", global = true)]
    pub llm_base_url: Option<String>,
    /// API key sent as a bearer token (optional for local servers).
    #[arg(long, env = "LLM_API_KEY", global = true, hide_env_values = true)]
    pub llm_api_key: Option<Secret>,
    /// Model name.
    #[arg(long, env = "LLM_MODEL", global = true, default_value = "gpt-4o-mini")]
    pub llm_model: String,
    /// Time allowed for one model call, retries of rate limits included.
    #[arg(long, env = "LLM_TIMEOUT", global = true, default_value = "60s", value_parser = parse_duration)]
    pub llm_timeout: Duration,
}

impl LlmSettings {
    /// True when a model is configured.
    pub fn is_configured(&self) -> bool {
        self.llm_base_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty())
            || self
                .llm_api_key
                .as_ref()
                .is_some_and(|k| !k.expose().is_empty())
    }
}

/// Why a model call failed, which decides what happens next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// A rate limit, a 5xx, a timeout, a dropped connection, a garbled answer: try again later.
    #[error("the model is unavailable: {0}")]
    Transient(String),
    /// The request itself is wrong (bad key, unknown model, a model without tool calls, a wrong
    /// URL): retrying cannot help, the operator must change a setting. The text names the status
    /// and the setting to check, never the server's own message (it may quote the request).
    #[error("the model refused the request: {0}")]
    Permanent(String),
    /// The conversation no longer fits the model's context window.
    #[error("the conversation exceeds the model's context window")]
    ContextLengthExceeded,
}

/// One answer of the model and what it cost.
#[derive(Debug, Clone)]
pub struct Reply {
    pub message: ChatCompletionResponseMessage,
    pub total_tokens: u32,
}

/// A configured chat model.
#[derive(Clone)]
pub struct ChatModel {
    client: Client<OpenAIConfig>,
    model: String,
    base_url: String,
    timeout: Duration,
}

impl std::fmt::Debug for ChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatModel")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl ChatModel {
    pub fn new(settings: &LlmSettings) -> Self {
        crate::tls::install_crypto_provider();
        let mut config = OpenAIConfig::new();
        let base_url = settings
            .llm_base_url
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map_or(OPENAI_BASE_URL, |b| b.trim_end_matches('/'))
            .to_owned();
        config = config.with_api_base(&base_url);
        // Local servers take any key; sending an empty one is what OpenAI clients do.
        let key = settings
            .llm_api_key
            .as_ref()
            .map(Secret::expose)
            .unwrap_or("");
        config = config.with_api_key(key);
        Self {
            client: Client::with_config(config),
            model: settings.llm_model.clone(),
            base_url,
            timeout: settings.llm_timeout,
        }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// The API it calls: `LLM_BASE_URL`, or OpenAI's when only `LLM_API_KEY` is set.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// One chat completion with `tools` on offer. The client retries rate limits and 5xx a few
    /// times within the timeout; what still fails is classified for the queue.
    pub async fn complete(
        &self,
        messages: Vec<ChatCompletionRequestMessage>,
        tools: Vec<ChatCompletionTools>,
        max_tokens: u32,
    ) -> Result<Reply, LlmError> {
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages,
            tools: (!tools.is_empty()).then_some(tools),
            max_completion_tokens: Some(max_tokens),
            temperature: Some(0.2),
            ..Default::default()
        };
        let chat = self.client.chat();
        let response = tokio::time::timeout(self.timeout, chat.create(request))
            .await
            .map_err(|_| LlmError::Transient(format!("no answer within {:?}", self.timeout)))?
            .map_err(classify)?;
        let total_tokens = response.usage.as_ref().map_or(0, |u| u.total_tokens);
        let choice = response
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::Transient("the answer had no choices".into()))?;
        Ok(Reply {
            message: choice.message,
            total_tokens,
        })
    }
}

fn classify(e: OpenAIError) -> LlmError {
    match e {
        OpenAIError::ApiError(resp) => {
            let status = resp.status_code.as_u16();
            let code = resp.api_error.code.clone().unwrap_or_default();
            if code == "context_length_exceeded" {
                LlmError::ContextLengthExceeded
            } else if status == 429 || status == 408 || status >= 500 {
                LlmError::Transient(format!("HTTP {status}"))
            } else {
                let cause = format!("HTTP {status} {code}").trim().to_owned();
                LlmError::Permanent(format!(
                    "{cause}: {}",
                    refusal_hint(status, &resp.api_error.message)
                ))
            }
        }
        OpenAIError::Reqwest(e) => LlmError::Transient(if e.is_timeout() {
            "timed out".into()
        } else if e.is_connect() {
            "cannot connect".into()
        } else {
            "connection failed".into()
        }),
        // A 4xx whose body is not OpenAI's error object: most often a URL that is not the API
        // (Ollama's own port without /v1 answers "404 page not found").
        OpenAIError::JSONDeserialize(_, content) if looks_like_not_found(&content) => {
            LlmError::Permanent(
                "HTTP 404: no OpenAI-compatible API at LLM_BASE_URL (it usually ends in /v1)"
                    .into(),
            )
        }
        OpenAIError::JSONDeserialize(..) | OpenAIError::StreamError(_) => {
            LlmError::Transient("the answer was not valid JSON".into())
        }
        other => LlmError::Permanent(other.to_string().chars().take(200).collect()),
    }
}

/// What the operator should check for a refused request. The server's message is only read for
/// the one case a status cannot tell (a model that cannot call tools), never repeated: it may
/// quote the request.
fn refusal_hint(status: u16, message: &str) -> &'static str {
    let m = message.to_lowercase();
    let about_tools = m.contains("tool") || m.contains("function");
    match status {
        401 | 403 => "the API refused the key: check LLM_API_KEY",
        404 => {
            "the API has no model of that name: check LLM_MODEL (with Ollama, `ollama pull` it first) and LLM_BASE_URL"
        }
        400 | 422
            if about_tools
                && (m.contains("support") || m.contains("enable") || m.contains("require")) =>
        {
            "the model does not support tool calls: choose one that does for LLM_MODEL (e.g. qwen2.5, llama3.1)"
        }
        _ => "check LLM_BASE_URL, LLM_MODEL and LLM_API_KEY",
    }
}

fn looks_like_not_found(body: &str) -> bool {
    let b = body.trim_start();
    !b.starts_with('{') && (b.starts_with("404") || b.to_lowercase().contains("not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_model_a_bad_key_and_a_model_without_tools_each_name_the_setting_to_fix() {
        assert!(refusal_hint(404, "model \"x\" not found").contains("LLM_MODEL"));
        assert!(refusal_hint(401, "Incorrect API key").contains("LLM_API_KEY"));
        assert!(
            refusal_hint(
                400,
                "registry.ollama.ai/library/gemma2:2b does not support tools"
            )
            .contains("tool calls")
        );
        assert!(refusal_hint(400, "invalid temperature").contains("LLM_BASE_URL"));
        assert!(looks_like_not_found("404 page not found"));
        assert!(!looks_like_not_found("{\"choices\": [tru"));
    }
}
