//! The built-in embedder: a BERT sentence encoder (all-MiniLM-L6-v2 by default) run in-process
//! with candle. Mean pooling over the attention mask, then L2 normalisation, as
//! sentence-transformers does for this model.

use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use super::bert::Encoder;
use super::{EmbedError, EmbedFuture, Embedder};

/// Most texts per forward pass.
const BATCH: usize = 32;
/// Most token positions per forward pass (texts × the longest of them, padding included): a batch
/// of long texts holds fewer of them, so that no activation grows past what the allocator reuses
/// (the attention scores of 32 × 256 tokens are 100 MB, paid in page faults on every layer).
const BATCH_TOKENS: usize = 2_048;
/// The window the model was trained with; longer texts are truncated.
pub const MAX_TOKENS: usize = 256;

/// A BERT model loaded from `config.json`, `tokenizer.json` and `model.safetensors`.
#[derive(Clone)]
pub struct LocalEmbedder {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    model: Encoder,
    /// Truncates to the window (batches are padded by `embed_encoded`).
    batch_tokenizer: Tokenizer,
    /// Neither truncates nor pads: counts the tokens a chunk would have.
    counter: Tokenizer,
    dims: usize,
    max_tokens: usize,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalEmbedder({})", self.inner.name)
    }
}

impl LocalEmbedder {
    /// Loads the model in `dir`; the recorded model name is the folder's name.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let shown = dir.display().to_string();
        let files = ["config.json", "tokenizer.json", "model.safetensors"].map(|f| dir.join(f));
        if files.iter().any(|f| !f.is_file()) {
            return Err(EmbedError::ModelMissing { dir: shown });
        }
        let load_err = |reason: String| EmbedError::Load {
            dir: shown.clone(),
            reason,
        };
        let config: Config = std::fs::read(&files[0])
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|e| load_err(format!("config.json: {e}")))?;
        let counter = Tokenizer::from_file(&files[1])
            .map_err(|e| load_err(format!("tokenizer.json: {e}")))?;
        let device = Device::Cpu;
        // safetensors files are read into memory (no mmap: this crate forbids unsafe code).
        let bytes = std::fs::read(&files[2]).map_err(|e| load_err(e.to_string()))?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &device)
            .map_err(|e| load_err(format!("model.safetensors: {e}")))?;
        let model = Encoder::load(vb, &config).map_err(|e| load_err(e.to_string()))?;
        let max_tokens = MAX_TOKENS.min(config.max_position_embeddings);
        let (batch_tokenizer, counter) =
            tokenizers_for(counter, max_tokens).map_err(|e| load_err(e.to_string()))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local".into());
        Ok(Self {
            inner: Arc::new(Inner {
                name,
                model,
                batch_tokenizer,
                counter,
                dims: config.hidden_size,
                max_tokens,
            }),
        })
    }

    /// Embeds `texts` on the calling thread: they are tokenized once, sorted by their number of
    /// tokens and cut into batches of similar lengths (so little is padded), and the vectors come
    /// back in the order of `texts`.
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_blocking_with(texts, BatchLimits::default())
    }

    /// [`Self::embed_blocking`] with other batch limits (for benchmarks).
    pub fn embed_blocking_with(
        &self,
        texts: &[String],
        limits: BatchLimits,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .inner
            .batch_tokenizer
            .encode_batch(texts.iter().map(String::as_str).collect(), true)
            .map_err(|e| EmbedError::Inference(e.to_string()))?;
        let lengths: Vec<usize> = encodings.iter().map(|e| e.get_ids().len()).collect();
        let mut out = vec![Vec::new(); texts.len()];
        for batch in length_batches(&lengths, limits.texts, limits.tokens) {
            let items: Vec<&Encoding> = batch.iter().map(|&i| &encodings[i]).collect();
            let vectors = self.inner.embed_encoded(&items)?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

/// How large one forward pass may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most texts.
    pub texts: usize,
    /// Most token positions: texts × the longest of them, padding included.
    pub tokens: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            texts: BATCH,
            tokens: BATCH_TOKENS,
        }
    }
}

/// The indices of texts of `lengths` tokens, sorted by length (ties in input order) and cut into
/// batches of at most `max_texts` texts and `max_tokens` padded positions (a text longer than
/// `max_tokens` has a batch of its own).
pub fn length_batches(lengths: &[usize], max_texts: usize, max_tokens: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Sorted ascending, so the newest text is the batch's longest.
        let padded = (current.len() + 1) * lengths[i];
        if !current.is_empty() && (current.len() >= max_texts.max(1) || padded > max_tokens) {
            batches.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

fn tokenizers_for(
    mut counter: Tokenizer,
    max_tokens: usize,
) -> tokenizers::Result<(Tokenizer, Tokenizer)> {
    counter.with_truncation(None)?;
    counter.with_padding(None);
    let mut batch = counter.clone();
    batch.with_truncation(Some(TruncationParams {
        max_length: max_tokens,
        ..Default::default()
    }))?;
    batch.with_padding(None);
    Ok((batch, counter))
}

impl Inner {
    /// Runs the model on `encodings`, padded with zeros (masked out) to the longest of them.
    fn embed_encoded(&self, encodings: &[&Encoding]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let fail = |e: &dyn std::fmt::Display| EmbedError::Inference(e.to_string());
        let n = encodings.len();
        let len = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0);
        let mut ids: Vec<u32> = vec![0; n * len];
        let mut mask: Vec<u32> = vec![0; n * len];
        let mut lengths = Vec::with_capacity(n);
        for (row, e) in encodings.iter().enumerate() {
            let at = row * len;
            let ids_row = e.get_ids();
            ids[at..at + ids_row.len()].copy_from_slice(ids_row);
            mask[at..at + ids_row.len()].fill(1);
            lengths.push(ids_row.len());
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let hidden = self.model.forward(ids, &lengths)?;
            let mask = Tensor::from_vec(mask, (n, len), &Device::Cpu)?;
            mean_pool_normalized(&hidden, &mask)?.to_vec2::<f32>()
        };
        run().map_err(|e| fail(&e))
    }
}

/// Averages the token vectors `hidden` (n, len, dims) over the tokens whose `mask` (n, len) is 1,
/// then scales each row to unit length.
pub fn mean_pool_normalized(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
    let mean = summed.broadcast_div(&counts)?;
    let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    mean.broadcast_div(&norms)
}

impl Embedder for LocalEmbedder {
    fn model(&self) -> &str {
        &self.inner.name
    }
    fn dims(&self) -> usize {
        self.inner.dims
    }
    fn max_tokens(&self) -> usize {
        self.inner.max_tokens
    }
    fn count_tokens(&self, text: &str) -> usize {
        self.inner
            .counter
            .encode(text, false)
            .map_or(text.len(), |e| e.get_ids().len())
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        let this = self.clone();
        let texts = texts.to_vec();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || this.embed_blocking(&texts))
                .await
                .map_err(|e| EmbedError::Inference(e.to_string()))?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::length_batches;

    #[test]
    fn batches_hold_similar_lengths_within_both_limits_and_cover_every_text_once() {
        let lengths = [5, 200, 7, 5, 190, 60, 61, 3, 250, 6];
        let batches = length_batches(&lengths, 3, 400);
        // Sorted by length (ties in input order), then cut at 3 texts or 400 padded positions.
        assert_eq!(
            batches,
            vec![vec![7, 0, 3], vec![9, 2, 5], vec![6, 4], vec![1], vec![8]]
        );
        for b in &batches {
            let longest = b.iter().map(|&i| lengths[i]).max().unwrap_or(0);
            assert!(b.len() <= 3 && (b.len() * longest <= 400 || b.len() == 1));
        }
        let mut all: Vec<usize> = batches.concat();
        all.sort_unstable();
        assert_eq!(all, (0..lengths.len()).collect::<Vec<_>>());
    }

    #[test]
    fn a_text_longer_than_the_token_limit_gets_a_batch_of_its_own() {
        assert_eq!(
            length_batches(&[300, 2, 2], 32, 256),
            vec![vec![1, 2], vec![0]]
        );
        assert!(length_batches(&[], 32, 256).is_empty());
    }
}
