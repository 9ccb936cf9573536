//! Hybrid search in one statement: the nearest chunks by cosine distance and the best full-text
//! matches, fused by reciprocal rank, always within one tenant and one embedding model.

use sqlx::AssertSqlSafe;

use crate::knowledge::SearchHit;
use crate::{StoreError, TenantTx};
use pgvector::Vector;
use uuid::Uuid;

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

/// The full-text ranking cannot use the GIN index on `tsv` for the service role: under forced
/// row-level security `@@` (ts_match_vq, not LEAKPROOF) may not run before the policy's check, so
/// the planner reads the tenant's rows through `chunks_user_id_embed_model_idx` instead (see
/// BENCHMARKS-knowledge.md).
///
/// A ranking whose weight is 0 is not computed (`$6 > 0`, `$7 > 0` fold to a constant false).
///
/// The statement, with the vector ranking's ORDER BY as its one variable part: `embedding <=> $3`
/// is what the HNSW index (vector_cosine_ops) serves; `(embedding <=> $3) + 0` is the same
/// distance that no index can serve, i.e. an exact scan of the tenant's rows found through
/// `chunks_user_id_embed_model_idx`.
/// The full-text query: the words of `$4` (stemmed, stop words dropped) joined by OR, so that a
/// question matches passages with some of its words; NULL (no match) when none is left. Written
/// out rather than computed in a CTE so that the planner sees the constant when it plans.
macro_rules! tsquery {
    () => {
        "nullif(replace(plainto_tsquery('english', $4)::text, ' & ', ' | '), '')::tsquery"
    };
}

macro_rules! hybrid_sql {
    ($order:literal) => {
        concat!(
            "WITH vec AS MATERIALIZED ( \
                SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM ( \
                    SELECT id, embedding <=> $3 AS distance FROM chunks \
                    WHERE user_id = $1 AND embed_model = $2 AND $6 > 0 \
                    ORDER BY ", $order, " LIMIT $5) AS nearest), \
             fts AS MATERIALIZED ( \
                SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank FROM ( \
                    SELECT c.id, ts_rank(c.tsv, ", tsquery!(), ", 1) AS score FROM chunks c \
                    WHERE c.user_id = $1 AND c.embed_model = $2 AND $7 > 0 \
                      AND c.tsv @@ ", tsquery!(), " \
                    ORDER BY score DESC LIMIT $5) AS matched), \
             top AS MATERIALIZED ( \
                SELECT id, coalesce($6 / ($8 + vec.rank), 0) \
                         + coalesce($7 / ($8 + fts.rank), 0) AS score \
                FROM vec FULL JOIN fts USING (id) \
                ORDER BY score DESC, id LIMIT $9) \
             SELECT c.id AS chunk_id, c.document_id, d.title, d.source, c.heading_path, c.text, \
                    t.score \
             FROM top t \
             JOIN chunks c ON c.user_id = $1 AND c.id = t.id \
             JOIN documents d ON d.user_id = $1 AND d.id = c.document_id \
             ORDER BY t.score DESC, c.id"
        )
    };
}

/// Binds the statement's nine parameters, in order.
macro_rules! bind {
    ($query:expr, $tx:expr, $q:expr) => {
        $query
            .bind($tx.user_id())
            .bind($q.model)
            .bind(Vector::from($q.embedding.to_vec()))
            .bind($q.text)
            .bind($q.candidates.max($q.limit))
            .bind($q.vector_weight)
            .bind($q.text_weight)
            .bind($q.rrf_k)
            .bind($q.limit)
    };
}

const HNSW_SQL: &str = hybrid_sql!("embedding <=> $3");
const EXACT_SQL: &str = hybrid_sql!("(embedding <=> $3) + 0");
const EXPLAIN_HNSW_SQL: &str = concat!(
    "EXPLAIN (ANALYZE, COSTS OFF) ",
    hybrid_sql!("embedding <=> $3")
);
const EXPLAIN_EXACT_SQL: &str = concat!(
    "EXPLAIN (ANALYZE, COSTS OFF) ",
    hybrid_sql!("(embedding <=> $3) + 0")
);

/// Runs the hybrid search for the transaction's tenant.
pub async fn search(tx: &mut TenantTx, q: &SearchQuery<'_>) -> Result<Vec<SearchHit>, StoreError> {
    let exact = prepare(tx, q).await?;
    let sql = if exact { EXACT_SQL } else { HNSW_SQL };
    let hits = sqlx::query_as::<_, SearchHit>(sql);
    let hits = bind!(hits, tx, q).fetch_all(tx.conn()).await?;
    Ok(hits)
}

/// The plan the search runs with, as `EXPLAIN ANALYZE` prints it (for benchmarks and operators).
pub async fn explain(tx: &mut TenantTx, q: &SearchQuery<'_>) -> Result<Vec<String>, StoreError> {
    let exact = prepare(tx, q).await?;
    let sql = if exact {
        EXPLAIN_EXACT_SQL
    } else {
        EXPLAIN_HNSW_SQL
    };
    let plan = sqlx::query_scalar::<_, String>(sql);
    Ok(bind!(plan, tx, q).fetch_all(tx.conn()).await?)
}

/// Picks the path for the tenant's size and, for the HNSW path, turns iterative scans on.
/// Returns true for the exact path.
async fn prepare(tx: &mut TenantTx, q: &SearchQuery<'_>) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let size: i64 = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT coalesce(sum(chunk_count), 0)::bigint FROM documents WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(tx.conn())
    .await?;
    if size <= q.exact_max_chunks {
        return Ok(true);
    }
    // Iterative scans keep reading the graph until enough rows pass the tenant filter. Custom
    // plans: a generic plan, planned for an average tenant, would pick the exact path here. The
    // values are numbers formatted here, never input text.
    let settings = format!(
        "SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = {}; \
         SET LOCAL hnsw.max_scan_tuples = {}; SET LOCAL plan_cache_mode = force_custom_plan",
        q.ef_search.clamp(10, 1000),
        20_000.max(q.candidates * 500),
    );
    sqlx::raw_sql(AssertSqlSafe(settings))
        .execute(tx.conn())
        .await?;
    Ok(false)
}

/// The passages `chunk_ids` name (a draft's citations), with their documents; ids of another
/// tenant, or of chunks deleted since, find nothing. `score` is 0.
pub async fn passages(tx: &mut TenantTx, chunk_ids: &[Uuid]) -> Result<Vec<SearchHit>, StoreError> {
    let user_id = tx.user_id();
    let hits = sqlx::query_as::<_, SearchHit>(
        // language=PostgreSQL
        "SELECT c.id AS chunk_id, c.document_id, d.title, d.source, c.heading_path, c.text, \
                0::float8 AS score \
         FROM chunks c JOIN documents d ON d.user_id = c.user_id AND d.id = c.document_id \
         WHERE c.user_id = $1 AND c.id = ANY($2)",
    )
    .bind(user_id)
    .bind(chunk_ids)
    .fetch_all(tx.conn())
    .await?;
    Ok(hits)
}
