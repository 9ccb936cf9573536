//! Text embeddings behind one trait, with two providers: the built-in all-MiniLM-L6-v2 run
//! in-process with candle ([`LocalEmbedder`]) and any OpenAI-compatible HTTP endpoint
//! ([`OpenAiEmbedder`]).

mod bert;
mod local;
mod openai;
mod settings;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use bert::Encoder;
pub use local::{BatchLimits, LocalEmbedder, MAX_TOKENS, length_batches, mean_pool_normalized};
pub use openai::{OpenAiEmbedder, OpenAiOptions};
pub use settings::{EmbedSettings, EmbedderKind};

/// The dimension every stored vector has (`chunks.embedding vector(384)`).
pub const DIMS: usize = 384;

/// A boxed future, so that embedders can live behind `Arc<dyn Embedder>`.
pub type EmbedFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Vec<f32>>, EmbedError>> + Send + 'a>>;

/// Turns texts into unit-length vectors of [`Embedder::dims`] dimensions.
pub trait Embedder: Send + Sync {
    /// The model's name, recorded with every chunk it embeds (`chunks.embed_model`).
    fn model(&self) -> &str;
    /// The vectors' dimension.
    fn dims(&self) -> usize;
    /// How many tokens of a text the model reads; chunks are cut to fit.
    fn max_tokens(&self) -> usize;
    /// Counts the tokens of `text` as the model would see them (without special tokens).
    fn count_tokens(&self, text: &str) -> usize;
    /// Embeds `texts`, one vector per text, in order.
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a>;
}

/// A shared embedder, as the ingestion, the search and the tools hold it.
pub type SharedEmbedder = Arc<dyn Embedder>;

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The built-in model's files are missing.
    #[error(
        "the embedding model is not in {dir}: run scripts/fetch-model.sh (or set EMBED_MODEL_DIR)"
    )]
    ModelMissing { dir: String },
    /// The model's files are there but could not be loaded.
    #[error("cannot load the embedding model from {dir}: {reason}")]
    Load { dir: String, reason: String },
    /// Inference or tokenisation failed.
    #[error("embedding failed: {0}")]
    Inference(String),
    /// The HTTP provider is unavailable (timeouts, 429, 5xx) after all retries.
    #[error("the embedding service is unavailable: {0}")]
    Unavailable(String),
    /// The HTTP provider refused the request, or answered something unusable.
    #[error("the embedding service refused the request: {0}")]
    Refused(String),
    /// A setting is missing or wrong.
    #[error("{0}")]
    Config(String),
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
