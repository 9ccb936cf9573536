//! Hybrid search in one statement: the nearest chunks by cosine distance and the best full-text
//! matches, fused, always within one tenant and one embedding model.

use sqlx::AssertSqlSafe;

use crate::knowledge::SearchHit;
use crate::{StoreError, TenantTx};
use pgvector::Vector;
use uuid::Uuid;

/// How the full-text ranking scores a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextRanking {
    /// PostgreSQL's `ts_rank` (normalised by 1 + log of the length), title and headings
    /// weighted A: no inverse document frequency.
    TsRank,
    /// BM25 (k1 = 1.2, b = 0.75): term frequency saturated and normalised by the chunk's length
    /// against the tenant's average, each word weighted by its IDF among the tenant's own
    /// chunks, counted when the statement runs (so always current, and never another tenant's).
    Bm25,
}

/// How the two rankings are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fusion {
    /// Reciprocal rank fusion: Σ weight / (k + rank).
    Rrf,
    /// Each ranking's scores scaled to 0–1 over its candidates (min-max), then weighted and
    /// summed; a candidate missing from a ranking counts 0 there.
    MinMax,
    /// Each ranking's scores as z-scores over its candidates, then weighted and summed; a
    /// candidate missing from a ranking counts as that ranking's lowest candidate.
    ZScore,
}

/// What the rankings rank before they are fused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Aggregate {
    /// Chunks, each on its own (one document may fill the results).
    Chunks,
    /// Documents, each scored by its best chunk in each ranking; results give every
    /// document's best chunk before any document's second one.
    DocumentMax,
    /// Documents, each scored by the sum of its two best chunks in each ranking.
    DocumentSum2,
}

/// How the search ranks: the knobs the benchmarks compare (BENCHMARKS-knowledge.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranking {
    pub text_ranking: TextRanking,
    pub fusion: Fusion,
    pub aggregate: Aggregate,
    /// Weight of the vector ranking; 0 skips it.
    pub vector_weight: f64,
    /// Weight of the full-text ranking; 0 skips it.
    pub text_weight: f64,
    /// The `k` of reciprocal rank fusion: score = Σ weight / (k + rank).
    pub rrf_k: f64,
    /// BM25: how many times a word of the title or headings counts (words of the text count 1).
    pub title_weight: f64,
    /// Scale the text weight by how much the two rankings agree: 2 × (the share of the vector
    /// ranking's first ten also in the text ranking's first ten).
    pub agreement: bool,
}

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
    pub ranking: Ranking,
    /// HNSW candidate list size (`hnsw.ef_search`).
    pub ef_search: u32,
    /// At most this many chunks: compare with every one of them exactly instead of using the
    /// HNSW index, so a small tenant among millions of chunks still gets `limit` results (R8).
    pub exact_max_chunks: i64,
}

// The statement is put together from the fixed pieces below, chosen by the ranking's enums and
// the path; every value (tenant, model, vector, query text, weights, limits) is a parameter:
//
// $1 user_id, $2 model, $3 query vector, $4 query text, $5 candidates per ranking,
// $6 vector weight, $7 text weight, $8 RRF k, $9 limit, $10 title weight, $11 agreement.
//
// BM25 (the default full-text ranking) reads its statistics and postings, kept at ingestion, and
// never the chunks it ranks, but for its best ones' documents. `ts_rank` reads the matching
// chunks themselves. It cannot use the GIN index on `tsv` for the service role: under forced
// row-level security `@@` (ts_match_vq, not LEAKPROOF) may not run before the policy's check, so
// the planner reads the tenant's rows through `chunks_user_id_embed_model_idx` instead (see
// BENCHMARKS-knowledge.md) and matches each. A tenant with a GIN index of its own (`support-agent
// knowledge index`, store/indexes.rs) has its matches answered by that index through
// `knowledge_text_matches` instead (`MATCHES_INDEX`).
//
// A ranking whose weight is 0 is not computed (`$6 > 0`, `$7 > 0` fold to a constant false).
//
// The vector ranking's ORDER BY: `embedding <=> $3` is what the HNSW index (vector_cosine_ops)
// serves; `(embedding <=> $3) + 0` is the same distance that no index can serve, i.e. an exact
// scan of the tenant's rows found through `chunks_user_id_embed_model_idx`.

const HNSW_ORDER: &str = "embedding <=> $3";
const EXACT_ORDER: &str = "(embedding <=> $3) + 0";

/// The vector ranking's candidates: (id, document_id, score = cosine similarity).
const VEC: &str = "vec AS MATERIALIZED ( \
    SELECT id, document_id, 1 - distance AS score FROM ( \
        SELECT id, document_id, embedding <=> $3 AS distance FROM chunks \
        WHERE user_id = $1 AND embed_model = $2 AND $6 > 0 \
        ORDER BY {order} LIMIT $5) AS nearest)";

/// `ts_rank`: the words of `$4` (stemmed, stop words dropped) joined by OR, so that a question
/// matches passages with some of its words; NULL (no match) when none is left. Computed once in
/// `tsq`: a generic plan (the exact path's) would otherwise compute it again for every row.
const FTS_TS_RANK: &str = "tsq AS MATERIALIZED (SELECT {tsq} AS q WHERE $7 > 0), \
 fts AS MATERIALIZED ( \
    SELECT c.id, c.document_id, ts_rank(c.tsv, t.q, 1)::float8 AS score \
    FROM {matches} \
    ORDER BY score DESC, c.id LIMIT $5)";
const TSQUERY: &str =
    "nullif(replace(plainto_tsquery('english', $4)::text, ' & ', ' | '), '')::tsquery";

/// BM25 over the tenant's chunks. `terms`: the query's lexemes (stemmed, stop words dropped).
/// `n`: the tenant's chunk count and average length, and `idf`: each query word's IDF from its
/// document frequency, both kept at ingestion (`chunk_stats`, `chunk_terms`: store/terms.rs).
/// `fts`: the chunks that hold a query word, scored from their postings (`chunk_postings`, kept
/// at ingestion too: one index-only range scan of its primary key per word, never a visit to the
/// chunks), the `$5` best of them then given their documents. IDF = ln(1 + (N − df + 0.5) /
/// (df + 0.5)), with df kept within 1..N (a word without a count, which only a chunk written
/// round the store can have, counts as df 1); tf is the word's occurrences (`{tf}`); the length
/// is the number of distinct lexemes, against the tenant's average.
const FTS_BM25: &str = "terms AS MATERIALIZED ( \
    SELECT array_agg(lexeme) AS lexemes FROM unnest(to_tsvector('english', $4)) WHERE $7 > 0), \
 n AS MATERIALIZED ( \
    SELECT greatest(coalesce(max(chunks), 0), 1)::float8 AS n, \
           greatest(coalesce(max(lexemes)::float8 / greatest(max(chunks), 1), 1), 1) AS avglen \
    FROM chunk_stats WHERE user_id = $1 AND embed_model = $2 AND $7 > 0), \
 idf AS MATERIALIZED ( \
    SELECT d.lexeme, ln(1 + (n.n - w.df + 0.5) / (w.df + 0.5)) AS idf \
    FROM chunk_terms d CROSS JOIN n \
         CROSS JOIN LATERAL (SELECT least(greatest(d.df, 1)::float8, n.n) AS df) w \
    WHERE d.user_id = $1 AND d.embed_model = $2 \
      AND d.lexeme = ANY ((SELECT lexemes FROM terms)::text[])), \
 fts AS MATERIALIZED ( \
    SELECT b.id, c.document_id, b.score FROM ( \
        SELECT p.chunk_id AS id, \
               sum(coalesce(idf.idf, ln(1 + (n.n - 0.5) / 1.5)) * {tf} * 2.2 \
                   / ({tf} + 1.2 * (0.25 + 0.75 * p.len / n.avglen))) AS score \
        FROM chunk_postings p CROSS JOIN n LEFT JOIN idf USING (lexeme) \
        WHERE p.user_id = $1 AND p.embed_model = $2 AND $7 > 0 \
          AND p.lexeme = ANY ((SELECT lexemes FROM terms)::text[]) \
        GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT $5) b \
    JOIN chunks c ON c.user_id = $1 AND c.id = b.id)";
/// A word of the title or headings counts once, as any other...
const TF_FLAT: &str = "p.tf";
/// ...or `$10` times.
const TF_WEIGHTED: &str = "(p.tf + ($10::float8 - 1) * p.tf_title)";
/// `ts_rank`'s matching chunks `c` (id, document_id, tsv) beside the query's CTE `t`: the
/// tenant's rows, each tested with `@@` after the policy's check (see the note above
/// `HNSW_ORDER`)...
const MATCHES_SCAN: &str = "chunks c, tsq t \
    WHERE c.user_id = $1 AND c.embed_model = $2 AND $7 > 0 AND c.tsv @@ t.q";
/// ...or, for a tenant with a GIN index of its own (`knowledge index`), the rows that index
/// answers through `knowledge_text_matches` (migration 20261219000010, which reads the
/// transaction's own tenant), each visited once. The chunks the search returns are read again
/// as the service role, under the policies, by the final SELECT.
const MATCHES_INDEX: &str = "tsq t, knowledge_text_matches(t.q, $2) c WHERE $7 > 0";

/// The two rankings by chunk: (key, score, rank).
const KEYS_CHUNKS: &str = "v AS (SELECT id AS key, score, \
        row_number() OVER (ORDER BY score DESC, id) AS rank FROM vec), \
    t AS (SELECT id AS key, score, row_number() OVER (ORDER BY score DESC, id) AS rank FROM fts)";
/// By document, scored by its best chunk.
const KEYS_DOC_MAX: &str = "v AS (SELECT key, score, \
        row_number() OVER (ORDER BY score DESC, key) AS rank FROM ( \
        SELECT document_id AS key, max(score) AS score FROM vec GROUP BY document_id) g), \
    t AS (SELECT key, score, row_number() OVER (ORDER BY score DESC, key) AS rank FROM ( \
        SELECT document_id AS key, max(score) AS score FROM fts GROUP BY document_id) g)";
/// By document, scored by the sum of its two best chunks.
const KEYS_DOC_SUM2: &str = "v AS (SELECT key, score, \
        row_number() OVER (ORDER BY score DESC, key) AS rank FROM ( \
        SELECT document_id AS key, sum(score) FILTER (WHERE pos <= 2) AS score FROM ( \
            SELECT document_id, score, \
                   row_number() OVER (PARTITION BY document_id ORDER BY score DESC, id) AS pos \
            FROM vec) p GROUP BY document_id) g), \
    t AS (SELECT key, score, row_number() OVER (ORDER BY score DESC, key) AS rank FROM ( \
        SELECT document_id AS key, sum(score) FILTER (WHERE pos <= 2) AS score FROM ( \
            SELECT document_id, score, \
                   row_number() OVER (PARTITION BY document_id ORDER BY score DESC, id) AS pos \
            FROM fts) p GROUP BY document_id) g)";

/// Both rankings side by side, with each one's score statistics and the agreement factor.
const JOINED: &str = "j AS MATERIALIZED ( \
        SELECT key, v.rank AS rv, v.score AS sv, t.rank AS rt, t.score AS st \
        FROM v FULL JOIN t USING (key)), \
    s AS (SELECT min(sv) AS minv, max(sv) AS maxv, avg(sv) AS meanv, stddev_pop(sv) AS sdv, \
                 min(st) AS mint, max(st) AS maxt, avg(st) AS meant, stddev_pop(st) AS sdt, \
                 CASE WHEN $11::bool \
                      THEN 2 * (count(*) FILTER (WHERE rv <= 10 AND rt <= 10))::float8 / 10 \
                      ELSE 1 END AS agree \
          FROM j)";

const FUSE_RRF: &str = "coalesce($6 / ($8 + rv), 0) + coalesce($7 * agree / ($8 + rt), 0)";
const FUSE_MIN_MAX: &str = "$6 * CASE WHEN sv IS NULL THEN 0 WHEN maxv > minv \
        THEN (sv - minv) / (maxv - minv) ELSE 1 END \
    + $7 * agree * CASE WHEN st IS NULL THEN 0 WHEN maxt > mint \
        THEN (st - mint) / (maxt - mint) ELSE 1 END";
const FUSE_Z_SCORE: &str = "$6 * CASE WHEN sdv > 0 THEN (coalesce(sv, minv) - meanv) / sdv ELSE 0 END \
    + $7 * agree * CASE WHEN sdt > 0 THEN (coalesce(st, mint) - meant) / sdt ELSE 0 END";

/// Chunks: the `$9` best fused chunks.
const TOP_CHUNKS: &str = "top AS MATERIALIZED ( \
        SELECT key AS id, score, 1 AS pos FROM fused ORDER BY score DESC, key LIMIT $9)";
/// Documents: the candidate chunks of the best documents, each document's chunks ordered by
/// their own reciprocal-rank score, every document's first chunk before any second one.
const TOP_DOCUMENTS: &str = "cand AS MATERIALIZED ( \
        SELECT id, document_id, sum(part) AS chunk_score FROM ( \
            SELECT id, document_id, \
                   $6 / ($8 + row_number() OVER (ORDER BY score DESC, id)) AS part FROM vec \
            UNION ALL \
            SELECT id, document_id, \
                   $7 / ($8 + row_number() OVER (ORDER BY score DESC, id)) FROM fts) x \
        GROUP BY id, document_id), \
    top AS MATERIALIZED ( \
        SELECT id, score, pos FROM ( \
            SELECT c.id, f.score, \
                   row_number() OVER (PARTITION BY c.document_id \
                                      ORDER BY c.chunk_score DESC, c.id) AS pos \
            FROM cand c JOIN fused f ON f.key = c.document_id) r \
        ORDER BY pos, score DESC, id LIMIT $9)";

const SELECT: &str = "SELECT c.id AS chunk_id, c.document_id, d.title, d.source, c.heading_path, \
        c.text, t.score::float8 AS score \
    FROM top t \
    JOIN chunks c ON c.user_id = $1 AND c.id = t.id \
    JOIN documents d ON d.user_id = $1 AND d.id = c.document_id \
    ORDER BY t.pos, t.score DESC, c.id";

/// The statement for `ranking` on the exact or the HNSW path.
fn statement(ranking: &Ranking, path: Path) -> String {
    let vec = VEC.replace("{order}", if path.exact { EXACT_ORDER } else { HNSW_ORDER });
    let matches = if path.text_index {
        MATCHES_INDEX
    } else {
        MATCHES_SCAN
    };
    let fts = match ranking.text_ranking {
        TextRanking::TsRank => FTS_TS_RANK
            .replace("{tsq}", TSQUERY)
            .replace("{matches}", matches),
        TextRanking::Bm25 if ranking.title_weight == 1.0 => FTS_BM25.replace("{tf}", TF_FLAT),
        TextRanking::Bm25 => FTS_BM25.replace("{tf}", TF_WEIGHTED),
    };
    let keys = match ranking.aggregate {
        Aggregate::Chunks => KEYS_CHUNKS,
        Aggregate::DocumentMax => KEYS_DOC_MAX,
        Aggregate::DocumentSum2 => KEYS_DOC_SUM2,
    };
    let fuse = match ranking.fusion {
        Fusion::Rrf => FUSE_RRF,
        Fusion::MinMax => FUSE_MIN_MAX,
        Fusion::ZScore => FUSE_Z_SCORE,
    };
    let top = match ranking.aggregate {
        Aggregate::Chunks => TOP_CHUNKS,
        Aggregate::DocumentMax | Aggregate::DocumentSum2 => TOP_DOCUMENTS,
    };
    // Every parameter appears in every variant, so that the nine-to-eleven binds always match.
    format!(
        "WITH params AS (SELECT $10::float8 AS title_weight, $11::bool AS agreement), \
         {vec}, {fts}, {keys}, {JOINED}, \
         fused AS MATERIALIZED (SELECT key, ({fuse})::float8 AS score FROM j, s), \
         {top} {SELECT}"
    )
}

/// Binds the statement's eleven parameters, in order.
macro_rules! bind {
    ($query:expr, $tx:expr, $q:expr) => {
        $query
            .bind($tx.user_id())
            .bind($q.model)
            .bind(Vector::from($q.embedding.to_vec()))
            .bind($q.text)
            .bind($q.candidates.max($q.limit))
            .bind($q.ranking.vector_weight)
            .bind($q.ranking.text_weight)
            .bind($q.ranking.rrf_k)
            .bind($q.limit)
            .bind($q.ranking.title_weight)
            .bind($q.ranking.agreement)
    };
}

/// Runs the hybrid search for the transaction's tenant.
pub async fn search(tx: &mut TenantTx, q: &SearchQuery<'_>) -> Result<Vec<SearchHit>, StoreError> {
    let path = prepare(tx, q).await?;
    let sql = statement(&q.ranking, path);
    let hits = sqlx::query_as::<_, SearchHit>(AssertSqlSafe(sql));
    let hits = bind!(hits, tx, q).fetch_all(tx.conn()).await?;
    Ok(hits)
}

/// The plan the search runs with, as `EXPLAIN ANALYZE` prints it (for benchmarks and operators).
pub async fn explain(tx: &mut TenantTx, q: &SearchQuery<'_>) -> Result<Vec<String>, StoreError> {
    let path = prepare(tx, q).await?;
    let sql = format!(
        "EXPLAIN (ANALYZE, COSTS OFF) {}",
        statement(&q.ranking, path)
    );
    let plan = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
    Ok(bind!(plan, tx, q).fetch_all(tx.conn()).await?)
}

/// How one search runs for its tenant.
#[derive(Debug, Clone, Copy)]
struct Path {
    /// The vector ranking compares every chunk of the tenant (it has at most
    /// `exact_max_chunks`); otherwise it walks an HNSW index (the tenant's own, when `knowledge
    /// index` built one, chosen by the planner with the tenant id a constant).
    exact: bool,
    /// The tenant has a valid GIN index of its own: `ts_rank`'s match goes through it.
    text_index: bool,
}

/// Picks the path for the tenant's size and sets the transaction's planner settings for it.
///
/// The settings are transaction-local (`set_config(…, true)`, `SET LOCAL`): run the search in
/// a transaction of its own, as `knowledge::search` does.
///
/// Exact path: a generic plan, made once per connection and statement instead of planning
/// every search (0.8–1 ms of a 1,000-chunk tenant's 4–5 ms, BENCHMARKS-knowledge.md), with
/// sequential scans off so that a plan made for no tenant in particular still reads the
/// tenant's rows through `chunks_user_id_embed_model_idx`, never the whole table. Set in the
/// same round trip as the size check.
async fn prepare(tx: &mut TenantTx, q: &SearchQuery<'_>) -> Result<Path, StoreError> {
    let user_id = tx.user_id();
    // Iterative scans keep reading the graph until enough rows pass the tenant filter; they are
    // set for every search (the exact path reads no HNSW index), in the same round trip.
    let (size, text_index): (i64, bool) = sqlx::query_as(
        // language=PostgreSQL
        "SELECT s.size, \
                EXISTS (SELECT 1 FROM pg_index \
                         WHERE indexrelid = to_regclass($3) AND indisvalid) AS text_index, \
                set_config('plan_cache_mode', \
                    CASE WHEN s.size <= $2 THEN 'force_generic_plan' \
                         ELSE 'force_custom_plan' END, true), \
                set_config('enable_seqscan', \
                    CASE WHEN s.size <= $2 THEN 'off' ELSE 'on' END, true), \
                set_config('hnsw.iterative_scan', 'relaxed_order', true), \
                set_config('hnsw.ef_search', $4::text, true), \
                set_config('hnsw.max_scan_tuples', $5::text, true) \
         FROM (SELECT coalesce(sum(chunk_count), 0)::bigint AS size \
               FROM documents WHERE user_id = $1) s",
    )
    .bind(user_id)
    .bind(q.exact_max_chunks)
    .bind(format!(
        "public.{}",
        super::indexes::text_index_name(user_id)
    ))
    .bind(i64::from(q.ef_search.clamp(10, 1000)))
    .bind(20_000.max(q.candidates * 500))
    .fetch_one(tx.conn())
    .await?;
    // Custom plans on the HNSW path (set above): a generic plan, planned for an average tenant,
    // would pick the exact path, and could not use a tenant's own indexes.
    Ok(Path {
        exact: size <= q.exact_max_chunks,
        text_index,
    })
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
