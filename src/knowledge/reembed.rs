//! Moving a tenant's chunks to the configured embedding model.

use std::time::Instant;

use serde::Serialize;

use super::chunk::Chunk;
use super::embed::Embedder;
use super::{KnowledgeError, store};
use crate::{Db, Tenant};

/// Chunks re-embedded per transaction.
const BATCH: i64 = 256;

/// What a re-embedding did.
#[derive(Debug, Clone, Serialize)]
pub struct ReembedReport {
    /// The model the tenant's chunks are now embedded with.
    pub model: String,
    /// Chunks re-embedded.
    pub chunks: u64,
    pub seconds: f64,
}

/// Re-embeds every chunk of `tenant` that another model embedded, in batches that each commit
/// on their own: until it finishes, searches (which compare only vectors of the configured model)
/// see the chunks already moved.
pub async fn reembed(
    db: &Db,
    embedder: &dyn Embedder,
    tenant: &Tenant,
) -> Result<ReembedReport, KnowledgeError> {
    let started = Instant::now();
    let model = embedder.model().to_owned();
    let dims = i32::try_from(embedder.dims()).unwrap_or(i32::MAX);
    let mut moved = 0;
    loop {
        let mut tx = db.begin(tenant).await?;
        let stale = store::stale_chunks(&mut tx, &model, BATCH).await?;
        if stale.is_empty() {
            tx.commit().await?;
            break;
        }
        let inputs: Vec<String> = stale
            .iter()
            .map(|c| {
                Chunk {
                    heading_path: c.heading_path.clone(),
                    text: c.text.clone(),
                }
                .embedding_input(&c.title)
            })
            .collect();
        let vectors = embedder.embed(&inputs).await?;
        let ids: Vec<_> = stale.iter().map(|c| c.id).collect();
        moved += store::set_embeddings(&mut tx, &ids, &vectors, &model, dims).await?;
        tx.commit().await?;
    }
    Ok(ReembedReport {
        model,
        chunks: moved,
        seconds: started.elapsed().as_secs_f64(),
    })
}
