//! Which embedder to use, read from flags or the environment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{DIMS, EmbedError, LocalEmbedder, OpenAiEmbedder, OpenAiOptions, SharedEmbedder};
use crate::config::{Secret, parse_duration};

/// The embedding provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbedderKind {
    /// all-MiniLM-L6-v2 in-process (no network).
    Local,
    /// An OpenAI-compatible HTTP endpoint.
    Openai,
}

/// Embedding settings: `EMBEDDER=local|openai`, `EMBED_MODEL_DIR`, `EMBED_BASE_URL`,
/// `EMBED_API_KEY`, `EMBED_MODEL`.
#[derive(Debug, Clone, Args)]
pub struct EmbedSettings {
    /// Embedding provider: the built-in model, or an OpenAI-compatible endpoint.
    #[arg(
        long,
        env = "EMBEDDER",
        global = true,
        value_enum,
        default_value = "local"
    )]
    pub embedder: EmbedderKind,
    /// Folder of the built-in model (scripts/fetch-model.sh fills it).
    #[arg(
        long,
        env = "EMBED_MODEL_DIR",
        global = true,
        default_value = "models/all-MiniLM-L6-v2"
    )]
    pub embed_model_dir: PathBuf,
    /// Base URL of the OpenAI-compatible endpoint (EMBEDDER=openai).
    #[arg(
        long,
        env = "EMBED_BASE_URL",
        global = true,
        default_value = "https://api.openai.com/v1"
    )]
    pub embed_base_url: String,
    /// API key for the endpoint, sent as a bearer token.
    #[arg(long, env = "EMBED_API_KEY", global = true, hide_env_values = true)]
    pub embed_api_key: Option<Secret>,
    /// Model name at the endpoint (EMBEDDER=openai); it is asked for 384 dimensions.
    #[arg(
        long,
        env = "EMBED_MODEL",
        global = true,
        default_value = "text-embedding-3-small"
    )]
    pub embed_model: String,
    /// Time allowed for one embeddings request (EMBEDDER=openai).
    #[arg(long, env = "EMBED_TIMEOUT", global = true, default_value = "30s", value_parser = parse_duration)]
    pub embed_timeout: Duration,
    /// Texts per embeddings request (EMBEDDER=openai).
    #[arg(long, env = "EMBED_BATCH", global = true, default_value_t = 64)]
    pub embed_batch: usize,
}

impl EmbedSettings {
    /// Loads the configured embedder. The built-in model takes a second or two to load.
    pub fn build(&self) -> Result<SharedEmbedder, EmbedError> {
        let embedder: SharedEmbedder = match self.embedder {
            EmbedderKind::Local => Arc::new(LocalEmbedder::load(&self.embed_model_dir)?),
            EmbedderKind::Openai => Arc::new(OpenAiEmbedder::new(OpenAiOptions {
                base_url: self.embed_base_url.clone(),
                api_key: self.embed_api_key.clone(),
                model: self.embed_model.clone(),
                dims: DIMS,
                batch: self.embed_batch.max(1),
                timeout: self.embed_timeout,
                attempts: 5,
                backoff: Duration::from_millis(500),
                max_tokens: 512,
            })),
        };
        if embedder.dims() != DIMS {
            return Err(EmbedError::Config(format!(
                "the model {} makes {}-dimensional vectors; the knowledge base stores {DIMS}",
                embedder.model(),
                embedder.dims()
            )));
        }
        Ok(embedder)
    }
}
