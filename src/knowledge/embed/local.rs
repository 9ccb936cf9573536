//! The built-in embedder: a BERT sentence encoder (all-MiniLM-L6-v2 by default) run in-process
//! with candle. Mean pooling over the attention mask, then L2 normalisation, as
//! sentence-transformers does for this model.

use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{EmbedError, EmbedFuture, Embedder};

/// Texts per forward pass: larger batches pad more, smaller ones pay more per call.
const BATCH: usize = 32;
/// The window the model was trained with; longer texts are truncated.
pub const MAX_TOKENS: usize = 256;

/// A BERT model loaded from `config.json`, `tokenizer.json` and `model.safetensors`.
#[derive(Clone)]
pub struct LocalEmbedder {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    model: BertModel,
    /// Truncates to the window and pads each batch to its longest text.
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
        let model = BertModel::load(vb, &config).map_err(|e| load_err(e.to_string()))?;
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

    /// Embeds `texts` on the calling thread: similar lengths are batched together (less padding),
    /// and the vectors come back in the order of `texts`.
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(BATCH) {
            let items: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self.inner.embed_batch(&items)?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
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
    batch.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        ..Default::default()
    }));
    Ok((batch, counter))
}

impl Inner {
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let fail = |e: &dyn std::fmt::Display| EmbedError::Inference(e.to_string());
        let encodings = self
            .batch_tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| fail(&e))?;
        let n = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let ids: Vec<u32> = encodings
            .iter()
            .flat_map(|e| e.get_ids().to_vec())
            .collect();
        let mask: Vec<u32> = encodings
            .iter()
            .flat_map(|e| e.get_attention_mask().to_vec())
            .collect();
        let device = Device::Cpu;
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (n, len), &device)?;
            let mask = Tensor::from_vec(mask, (n, len), &device)?;
            let type_ids = ids.zeros_like()?;
            let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?;
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
