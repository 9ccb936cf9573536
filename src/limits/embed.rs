//! `EMBED_CONCURRENCY`: an embedder that computes at most N slices of texts at once, first come
//! first served. A large call (an ingestion batch) is cut into slices of at most [`SLICE`] texts,
//! each taking its turn, so that a search waits for at most one slice per permit ahead of it,
//! never for a whole batch or a whole ingestion.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::knowledge::embed::EmbedFuture;
use crate::knowledge::{EmbedError, Embedder, SharedEmbedder};

/// Most texts embedded in one turn.
pub const SLICE: usize = 8;

/// Wraps an embedder with a fair semaphore.
pub struct LimitedEmbedder {
    inner: SharedEmbedder,
    permits: Arc<Semaphore>,
}

impl LimitedEmbedder {
    /// At most `concurrency` (at least 1) calls of `inner` at once.
    pub fn wrap(inner: SharedEmbedder, concurrency: u32) -> SharedEmbedder {
        let permits = usize::try_from(concurrency.max(1)).unwrap_or(1);
        Arc::new(Self {
            inner,
            permits: Arc::new(Semaphore::new(permits)),
        })
    }
}

impl Embedder for LimitedEmbedder {
    fn model(&self) -> &str {
        self.inner.model()
    }

    fn dims(&self) -> usize {
        self.inner.dims()
    }

    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(texts.len());
            for slice in texts.chunks(SLICE) {
                let _permit =
                    self.permits.acquire().await.map_err(|_| {
                        EmbedError::Inference("the embedder is shutting down".into())
                    })?;
                out.extend(self.inner.embed(slice).await?);
            }
            Ok(out)
        })
    }
}
