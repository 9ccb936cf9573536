//! Searching a tenant's knowledge base: embed the query, then one hybrid statement.

use clap::Args;

use super::QueryCache;
use super::embed::Embedder;
use super::store::{self, Aggregate, Fusion, Ranking, SearchQuery, TextRanking};
use super::{KnowledgeError, SearchHit};
use crate::{Db, Tenant};

/// Most results a search returns.
pub const MAX_LIMIT: i64 = 20;
/// Longest query accepted, in characters.
pub const MAX_QUERY: usize = 2_000;

/// The default ranking, the one place it is set: the CLI's and the server's flags and
/// environment variables default to it, and `search_knowledge` (MCP), the REST search and the
/// offline engine all search with the settings built from them. Chosen by measurement on two
/// kinds of corpus (BENCHMARKS-knowledge.md).
///
/// BM25 for the words (IDF and average length from the tenant's own chunks), z-score fusion
/// with the vector ranking at 1 : 0.3, documents ranked by their best chunk: nDCG@10 0.979 on
/// StackFAQ (vectors alone 0.979) and the best mean over StackFAQ and SciFact of every candidate
/// measured; reciprocal rank fusion cost StackFAQ 0.01–0.05 at any text weight that helped
/// SciFact, because ranks throw away how decisive a match is.
pub const DEFAULT_RANKING: Ranking = Ranking {
    text_ranking: TextRanking::Bm25,
    fusion: Fusion::ZScore,
    aggregate: Aggregate::DocumentMax,
    vector_weight: 1.0,
    text_weight: 0.3,
    rrf_k: 60.0,
    title_weight: 1.0,
    agreement: false,
};

/// How the two rankings are fused; the defaults are [`DEFAULT_RANKING`].
#[derive(Debug, Clone, Args)]
pub struct SearchSettings {
    /// How the full-text ranking scores a chunk.
    #[arg(long, env = "KB_TEXT_RANKING", global = true, value_enum,
          default_value_t = DEFAULT_RANKING.text_ranking)]
    pub kb_text_ranking: TextRanking,
    /// How the vector and full-text rankings are combined.
    #[arg(long, env = "KB_FUSION", global = true, value_enum,
          default_value_t = DEFAULT_RANKING.fusion)]
    pub kb_fusion: Fusion,
    /// Whether chunks or documents are ranked and fused.
    #[arg(long, env = "KB_AGGREGATE", global = true, value_enum,
          default_value_t = DEFAULT_RANKING.aggregate)]
    pub kb_aggregate: Aggregate,
    /// Weight of the vector ranking in the fusion.
    #[arg(long, env = "KB_VECTOR_WEIGHT", global = true,
          default_value_t = DEFAULT_RANKING.vector_weight)]
    pub kb_vector_weight: f64,
    /// Weight of the full-text ranking in the fusion.
    #[arg(long, env = "KB_TEXT_WEIGHT", global = true,
          default_value_t = DEFAULT_RANKING.text_weight)]
    pub kb_text_weight: f64,
    /// The k of reciprocal rank fusion (score = Σ weight / (k + rank)).
    #[arg(long, env = "KB_RRF_K", global = true, default_value_t = DEFAULT_RANKING.rrf_k)]
    pub kb_rrf_k: f64,
    /// BM25: how many times a word of a title or heading counts.
    #[arg(long, env = "KB_TITLE_WEIGHT", global = true,
          default_value_t = DEFAULT_RANKING.title_weight)]
    pub kb_title_weight: f64,
    /// Candidates each ranking contributes before fusion.
    #[arg(long, env = "KB_CANDIDATES", global = true, default_value_t = DEFAULT_CANDIDATES)]
    pub kb_candidates: i64,
    /// HNSW search breadth (hnsw.ef_search).
    #[arg(long, env = "KB_EF_SEARCH", global = true, default_value_t = DEFAULT_EF_SEARCH)]
    pub kb_ef_search: u32,
    /// Tenants with at most this many chunks are searched exactly, without the HNSW index.
    #[arg(
        long,
        env = "KB_EXACT_MAX_CHUNKS",
        global = true,
        default_value_t = DEFAULT_EXACT_MAX_CHUNKS
    )]
    pub kb_exact_max_chunks: i64,
    /// Query vectors kept for repeated searches, per tenant (`serve` and `worker`); 0 keeps
    /// none.
    #[arg(
        long,
        env = "KB_QUERY_CACHE",
        global = true,
        default_value_t = DEFAULT_QUERY_CACHE
    )]
    pub kb_query_cache: usize,
}

/// Candidates each ranking contributes by default.
pub const DEFAULT_CANDIDATES: i64 = 40;
/// `hnsw.ef_search` by default.
pub const DEFAULT_EF_SEARCH: u32 = 200;
/// Largest tenant searched exactly by default.
pub const DEFAULT_EXACT_MAX_CHUNKS: i64 = 10_000;
/// Query vectors kept by default (about 1.6 kB each with its key).
pub const DEFAULT_QUERY_CACHE: usize = 2_048;

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            kb_text_ranking: DEFAULT_RANKING.text_ranking,
            kb_fusion: DEFAULT_RANKING.fusion,
            kb_aggregate: DEFAULT_RANKING.aggregate,
            kb_vector_weight: DEFAULT_RANKING.vector_weight,
            kb_text_weight: DEFAULT_RANKING.text_weight,
            kb_rrf_k: DEFAULT_RANKING.rrf_k,
            kb_title_weight: DEFAULT_RANKING.title_weight,
            kb_candidates: DEFAULT_CANDIDATES,
            kb_ef_search: DEFAULT_EF_SEARCH,
            kb_exact_max_chunks: DEFAULT_EXACT_MAX_CHUNKS,
            kb_query_cache: DEFAULT_QUERY_CACHE,
        }
    }
}

impl SearchSettings {
    /// The ranking these settings ask for.
    pub fn ranking(&self) -> Ranking {
        Ranking {
            text_ranking: self.kb_text_ranking,
            fusion: self.kb_fusion,
            aggregate: self.kb_aggregate,
            vector_weight: self.kb_vector_weight,
            text_weight: self.kb_text_weight,
            rrf_k: self.kb_rrf_k,
            title_weight: self.kb_title_weight,
            agreement: DEFAULT_RANKING.agreement,
        }
    }

    /// The store's query for `query` (already embedded as `embedding` by `model`).
    pub fn query<'a>(
        &self,
        query: &'a str,
        embedding: &'a [f32],
        model: &'a str,
        limit: i64,
    ) -> SearchQuery<'a> {
        SearchQuery {
            text: query,
            embedding,
            model,
            limit,
            candidates: self.kb_candidates.max(limit),
            ranking: self.ranking(),
            ef_search: self.kb_ef_search,
            exact_max_chunks: self.kb_exact_max_chunks,
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
    search_cached(db, embedder, None, settings, tenant, query, limit).await
}

/// [`search`], with the query's vector taken from `cache` when this tenant asked the same
/// before (and kept there otherwise).
pub async fn search_cached(
    db: &Db,
    embedder: &dyn Embedder,
    cache: Option<&QueryCache>,
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
    let embedding = match cache {
        Some(cache) => cache.embed(tenant.id(), embedder, query).await?,
        None => {
            let vectors = embedder.embed(&[query.to_owned()]).await?;
            vectors.into_iter().next().unwrap_or_default().into()
        }
    };
    let q = settings.query(query, &embedding, embedder.model(), limit);
    let mut tx = db.begin(tenant).await?;
    let hits = store::search(&mut tx, &q).await?;
    tx.commit().await?;
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        search: SearchSettings,
    }

    #[test]
    fn knowledge_search_defaults_live_in_one_place() {
        // The flags' defaults (what `serve`, `mcp`, `worker` and the CLI read when no variable
        // is set) and `SearchSettings::default()` (what tests and benchmarks use) are the same
        // ranking: `DEFAULT_RANKING`.
        let parsed = Cli::try_parse_from(["support-agent"])
            .expect("parse")
            .search;
        for settings in [&parsed, &SearchSettings::default()] {
            assert_eq!(settings.ranking(), DEFAULT_RANKING);
            assert_eq!(
                (
                    settings.kb_candidates,
                    settings.kb_ef_search,
                    settings.kb_exact_max_chunks
                ),
                (
                    DEFAULT_CANDIDATES,
                    DEFAULT_EF_SEARCH,
                    DEFAULT_EXACT_MAX_CHUNKS
                )
            );
        }
        let q = parsed.query("refunds", &[0.0; 3], "m", 5);
        assert_eq!(q.ranking, DEFAULT_RANKING);
        assert_eq!(q.candidates, DEFAULT_CANDIDATES);
        // A flag still overrides one knob and keeps the rest.
        let tuned = Cli::try_parse_from(["support-agent", "--kb-fusion", "rrf", "--kb-rrf-k", "5"])
            .expect("parse")
            .search;
        assert_eq!(tuned.ranking().fusion, Fusion::Rrf);
        assert_eq!(tuned.ranking().rrf_k, 5.0);
        assert_eq!(tuned.ranking().text_ranking, DEFAULT_RANKING.text_ranking);
    }
}
