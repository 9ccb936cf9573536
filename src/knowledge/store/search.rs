//! Hybrid search in one statement: the nearest chunks by cosine distance and the best full-text
//! matches, fused by reciprocal rank, always within one tenant and one embedding model.

use sqlx::AssertSqlSafe;

use super::vector::PgVector;
use crate::knowledge::SearchHit;
use crate::{StoreError, TenantTx};

/// What to search for and how to weigh the two rankings.
#[derive(Debug, Clone)]
pub struct SearchQuery<'a> {
    pub text: &'a str,
    pub embedding: &'a [f32],
    /// Only chunks this model embedded are compared with `embedding`.
    pub model: &'a str,
    pub limit: i64,
    /// Candidates taken from each ranking before fusion.
    pub candidates: i64,
    pub vector_weight: f64,
    pub text_weight: f64,
    /// The `k` of reciprocal rank fusion: score = Σ weight / (k + rank).
    pub rrf_k: f64,
    /// HNSW candidate list size (`hnsw.ef_search`).
    pub ef_search: u32,
    /// At most this many chunks: compare with every one of them exactly instead of using the
    /// HNSW index, so a small tenant among millions of chunks still gets `limit` results (R8).
    pub exact_max_chunks: i64,
}

/// The statement, with the vector ranking's ORDER BY as its one variable part: `embedding <=> $3`
/// is what the HNSW index (vector_cosine_ops) serves; `(embedding <=> $3) + 0` is the same
/// distance that no index can serve, i.e. an exact scan of the tenant's rows found through
/// `chunks_user_id_embed_model_idx`.
macro_rules! hybrid_sql {
    ($order:literal) => {
        concat!(
            "WITH vec AS MATERIALIZED ( \
                SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM ( \
                    SELECT id, embedding <=> $3 AS distance FROM chunks \
                    WHERE user_id = $1 AND embed_model = $2 \
                    ORDER BY ", $order, " LIMIT $5) AS nearest), \
             query AS (SELECT nullif(replace(plainto_tsquery('english', $4)::text, ' & ', ' | '), '') \
                       ::tsquery AS q), \
             fts AS MATERIALIZED ( \
                SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank FROM ( \
                    SELECT c.id, ts_rank(c.tsv, query.q, 1) AS score FROM chunks c, query \
                    WHERE c.user_id = $1 AND c.embed_model = $2 AND c.tsv @@ query.q \
                    ORDER BY score DESC LIMIT $5) AS matched), \
             fused AS ( \
                SELECT id, coalesce($6 / ($8 + vec.rank), 0) \
                         + coalesce($7 / ($8 + fts.rank), 0) AS score \
                FROM vec FULL JOIN fts USING (id)) \
             SELECT c.id AS chunk_id, c.document_id, d.title, d.source, c.heading_path, c.text, \
                    f.score \
             FROM fused f \
             JOIN chunks c ON c.user_id = $1 AND c.id = f.id \
             JOIN documents d ON d.user_id = $1 AND d.id = c.document_id \
             ORDER BY f.score DESC, c.id LIMIT $9"
        )
    };
}

const HNSW_SQL: &str = hybrid_sql!("embedding <=> $3");
const EXACT_SQL: &str = hybrid_sql!("(embedding <=> $3) + 0");

/// Runs the hybrid search for the transaction's tenant.
pub async fn search(tx: &mut TenantTx, q: &SearchQuery<'_>) -> Result<Vec<SearchHit>, StoreError> {
    let user_id = tx.user_id();
    let size: i64 = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT coalesce(sum(chunk_count), 0)::bigint FROM documents WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(tx.conn())
    .await?;
    let sql = if size <= q.exact_max_chunks {
        EXACT_SQL
    } else {
        // Iterative scans keep reading the graph until enough rows pass the tenant filter; the
        // values are numbers formatted here, never input text.
        let settings = format!(
            "SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = {}; \
             SET LOCAL hnsw.max_scan_tuples = {}",
            q.ef_search.clamp(10, 1000),
            20_000.max(q.candidates * 500),
        );
        sqlx::raw_sql(AssertSqlSafe(settings))
            .execute(tx.conn())
            .await?;
        HNSW_SQL
    };
    let hits = sqlx::query_as::<_, SearchHit>(sql)
        .bind(user_id)
        .bind(q.model)
        .bind(PgVector(q.embedding))
        .bind(q.text)
        .bind(q.candidates.max(q.limit))
        .bind(q.vector_weight)
        .bind(q.text_weight)
        .bind(q.rrf_k)
        .bind(q.limit)
        .fetch_all(tx.conn())
        .await?;
    Ok(hits)
}
