//! Searching a tenant's knowledge base: embed the query, then one hybrid statement.

use clap::Args;

use super::embed::Embedder;
use super::store::{self, SearchQuery};
use super::{KnowledgeError, SearchHit};
use crate::{Db, Tenant};

/// Most results a search returns.
pub const MAX_LIMIT: i64 = 20;
/// Longest query accepted, in characters.
pub const MAX_QUERY: usize = 2_000;

/// How the two rankings are fused. Defaults come from the StackFAQ measurements in
/// BENCHMARKS-knowledge.md: plain fusion (1 : 1, k = 60) lost to vectors alone (nDCG@10 0.931
/// against 0.979); with text at 0.1 and k = 5 the full-text ranking breaks near-ties of the
/// vector ranking and the fused search is the best measured (0.9789).
#[derive(Debug, Clone, Args)]
pub struct SearchSettings {
    /// Weight of the vector ranking in reciprocal rank fusion.
    #[arg(long, env = "KB_VECTOR_WEIGHT", global = true, default_value_t = 1.0)]
    pub kb_vector_weight: f64,
    /// Weight of the full-text ranking in reciprocal rank fusion.
    #[arg(long, env = "KB_TEXT_WEIGHT", global = true, default_value_t = 0.1)]
    pub kb_text_weight: f64,
    /// The k of reciprocal rank fusion (score = Σ weight / (k + rank)).
    #[arg(long, env = "KB_RRF_K", global = true, default_value_t = 5.0)]
    pub kb_rrf_k: f64,
    /// Candidates each ranking contributes before fusion.
    #[arg(long, env = "KB_CANDIDATES", global = true, default_value_t = 40)]
    pub kb_candidates: i64,
    /// HNSW search breadth (hnsw.ef_search).
    #[arg(long, env = "KB_EF_SEARCH", global = true, default_value_t = 200)]
    pub kb_ef_search: u32,
    /// Tenants with at most this many chunks are searched exactly, without the HNSW index.
    #[arg(
        long,
        env = "KB_EXACT_MAX_CHUNKS",
        global = true,
        default_value_t = 10_000
    )]
    pub kb_exact_max_chunks: i64,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            kb_vector_weight: 1.0,
            kb_text_weight: 0.1,
            kb_rrf_k: 5.0,
            kb_candidates: 40,
            kb_ef_search: 200,
            kb_exact_max_chunks: 10_000,
        }
    }
}

/// The `limit` best chunks of `tenant`'s knowledge base for `query`.
pub async fn search(
    db: &Db,
    embedder: &dyn Embedder,
    settings: &SearchSettings,
    tenant: &Tenant,
    query: &str,
    limit: i64,
) -> Result<Vec<SearchHit>, KnowledgeError> {
    let query = query.trim();
    if query.is_empty() {
        return Err(KnowledgeError::Invalid {
            field: "query",
            reason: "must not be empty".into(),
        });
    }
    if query.contains('\0') {
        return Err(KnowledgeError::Invalid {
            field: "query",
            reason: "must not contain NUL bytes".into(),
        });
    }
    if query.chars().count() > MAX_QUERY {
        return Err(KnowledgeError::Invalid {
            field: "query",
            reason: format!("longer than {MAX_QUERY} characters"),
        });
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(KnowledgeError::Invalid {
            field: "limit",
            reason: format!("{limit} is out of range: use 1 to {MAX_LIMIT}"),
        });
    }
    let vectors = embedder.embed(&[query.to_owned()]).await?;
    let embedding = vectors.into_iter().next().unwrap_or_default();
    let q = SearchQuery {
        text: query,
        embedding: &embedding,
        model: embedder.model(),
        limit,
        candidates: settings.kb_candidates.max(limit),
        vector_weight: settings.kb_vector_weight,
        text_weight: settings.kb_text_weight,
        rrf_k: settings.kb_rrf_k,
        ef_search: settings.kb_ef_search,
        exact_max_chunks: settings.kb_exact_max_chunks,
    };
    let mut tx = db.begin(tenant).await?;
    let hits = store::search(&mut tx, &q).await?;
    tx.commit().await?;
    Ok(hits)
}
