//! Embeddings from any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM,
//! text-embeddings-inference) through async-openai: batched, a timeout per attempt, and retries
//! with capped, jittered backoff on 429, 5xx and network failures.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput};
use rand::Rng;

use super::{EmbedError, EmbedFuture, Embedder, normalize};
use crate::config::Secret;

/// Where the endpoint is and how to call it.
#[derive(Debug, Clone)]
pub struct OpenAiOptions {
    /// Base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub model: String,
    /// Dimensions asked of the model (the store keeps 384).
    pub dims: usize,
    /// Texts per request.
    pub batch: usize,
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// Attempts per batch, the first included.
    pub attempts: u32,
    /// Backoff before the second attempt; it doubles up to 8 seconds.
    pub backoff: Duration,
    /// Tokens of the model's window; chunks are cut to fit.
    pub max_tokens: usize,
}

/// An OpenAI-compatible embeddings client. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct OpenAiEmbedder {
    client: Client<OpenAIConfig>,
    options: OpenAiOptions,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenAiEmbedder({})", self.options.model)
    }
}

impl OpenAiEmbedder {
    pub fn new(options: OpenAiOptions) -> Self {
        crate::tls::install_crypto_provider();
        let key = options.api_key.as_ref().map(Secret::expose).unwrap_or("");
        let config = OpenAIConfig::new()
            .with_api_base(options.base_url.trim_end_matches('/'))
            .with_api_key(key);
        Self {
            client: Client::with_config(config),
            options,
        }
    }

    async fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.options.batch.max(1)) {
            out.extend(self.embed_batch(batch).await?);
        }
        Ok(out)
    }

    async fn embed_batch(&self, batch: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let o = &self.options;
        let mut delay = o.backoff;
        let mut attempt = 1;
        loop {
            let request = CreateEmbeddingRequest {
                model: o.model.clone(),
                input: EmbeddingInput::StringArray(batch.to_vec()),
                dimensions: u32::try_from(o.dims).ok(),
                ..Default::default()
            };
            let result = tokio::time::timeout(o.timeout, self.client.embeddings().create(request))
                .await
                .map_err(|_| Failure::Retry(format!("no answer within {:?}", o.timeout)))
                .and_then(|r| r.map_err(classify));
            match result {
                Ok(response) => return self.vectors(batch.len(), response.data),
                Err(Failure::Retry(why)) if attempt < o.attempts => {
                    tracing::warn!(attempt, reason = %why, "embedding request failed; retrying");
                    let jitter = rand::rng().random_range(0.5..1.0);
                    tokio::time::sleep(delay.mul_f64(jitter)).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                    attempt += 1;
                }
                Err(Failure::Retry(why)) => return Err(EmbedError::Unavailable(why)),
                Err(Failure::Refused(why)) => return Err(EmbedError::Refused(why)),
            }
        }
    }

    fn vectors(
        &self,
        expected: usize,
        mut data: Vec<async_openai::types::embeddings::Embedding>,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        if data.len() != expected {
            return Err(EmbedError::Refused(format!(
                "asked for {expected} vectors, got {}",
                data.len()
            )));
        }
        data.sort_by_key(|e| e.index);
        data.into_iter()
            .map(|e| {
                let mut v = e.embedding;
                if v.len() != self.options.dims {
                    return Err(EmbedError::Refused(format!(
                        "the model returned {} dimensions, not {}",
                        v.len(),
                        self.options.dims
                    )));
                }
                normalize(&mut v);
                Ok(v)
            })
            .collect()
    }
}

enum Failure {
    Retry(String),
    Refused(String),
}

/// 429, 408, 5xx and network failures are worth another try; anything else is not. Messages
/// keep only the status and error code: a provider's text may quote the request.
fn classify(e: OpenAIError) -> Failure {
    match e {
        OpenAIError::ApiError(resp) => {
            let status = resp.status_code.as_u16();
            let code = resp.api_error.code.clone().unwrap_or_default();
            let what = format!("HTTP {status} {code}").trim().to_owned();
            if status == 429 || status == 408 || status >= 500 {
                Failure::Retry(what)
            } else {
                Failure::Refused(what)
            }
        }
        OpenAIError::Reqwest(e) => Failure::Retry(if e.is_connect() {
            "cannot connect".into()
        } else {
            "connection failed".into()
        }),
        OpenAIError::JSONDeserialize(..) => {
            Failure::Refused("the answer was not valid JSON".into())
        }
        other => Failure::Refused(other.to_string().chars().take(200).collect()),
    }
}

impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.options.model
    }
    fn dims(&self) -> usize {
        self.options.dims
    }
    fn max_tokens(&self) -> usize {
        self.options.max_tokens
    }
    fn count_tokens(&self, text: &str) -> usize {
        // No tokenizer for a remote model: about four characters a token is the usual rule, and
        // erring high keeps chunks inside the window.
        text.chars().count().div_ceil(3)
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(self.embed_all(texts))
    }
}
