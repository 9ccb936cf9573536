//! Writing chunks, and re-embedding them with another model.

use pgvector::Vector;
use uuid::Uuid;

use super::NewDocument;
use crate::{StoreError, TenantTx};

/// Inserts the chunks of document `id` in one statement.
pub(super) async fn insert(
    tx: &mut TenantTx,
    id: Uuid,
    doc: &NewDocument<'_>,
) -> Result<(), StoreError> {
    if doc.chunks.is_empty() {
        return Ok(());
    }
    let user_id = tx.user_id();
    let ids: Vec<Uuid> = doc.chunks.iter().map(|_| Uuid::now_v7()).collect();
    let ordinals: Vec<i32> = (0..doc.chunks.len())
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    // PostgreSQL has no arrays of arrays of different lengths: headings travel as one string.
    let headings: Vec<String> = doc
        .chunks
        .iter()
        .map(|c| serde_json::to_string(&c.heading_path).unwrap_or_else(|_| "[]".into()))
        .collect();
    let texts: Vec<&str> = doc.chunks.iter().map(|c| c.text.as_str()).collect();
    let vectors: Vec<Vector> = doc
        .chunks
        .iter()
        .map(|c| Vector::from(c.embedding.clone()))
        .collect();
    sqlx::query(
        // language=PostgreSQL
        // Weights: A for title and headings (BM25 counts them `title_weight` times: the
        // postings' tf_title, terms.rs), B for text.
        // RETURNING: on Citus an INSERT … SELECT without it is COPYed into the shard, which
        // row-level security refuses (src/audit/store.rs says more).
        "INSERT INTO chunks (user_id, id, document_id, ordinal, heading_path, text, tsv, \
                             embed_model, embed_dims, embedding) \
         SELECT $1, c.id, $2, c.ordinal, h.path, c.text, \
                setweight(to_tsvector('english', $3 || ' ' || array_to_string(h.path, ' ')), 'A') \
                || setweight(to_tsvector('english', c.text), 'B'), \
                $4, $5, c.embedding \
         FROM unnest($6::uuid[], $7::int[], $8::text[], $9::text[], $10::vector[]) \
              AS c (id, ordinal, headings, text, embedding), \
              LATERAL (SELECT coalesce(array_agg(value ORDER BY n), '{}') AS path \
                       FROM jsonb_array_elements_text(c.headings::jsonb) WITH ORDINALITY \
                       AS e (value, n)) AS h \
         RETURNING id",
    )
    .bind(user_id)
    .bind(id)
    .bind(doc.title)
    .bind(doc.embed_model)
    .bind(doc.embed_dims)
    .bind(&ids)
    .bind(&ordinals)
    .bind(&headings)
    .bind(&texts)
    .bind(&vectors)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A chunk embedded by another model than the configured one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaleChunk {
    pub id: Uuid,
    pub title: String,
    pub heading_path: Vec<String>,
    pub text: String,
}

/// Up to `limit` chunks not embedded by `model`.
pub async fn stale_chunks(
    tx: &mut TenantTx,
    model: &str,
    limit: i64,
) -> Result<Vec<StaleChunk>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as::<_, StaleChunk>(
        // language=PostgreSQL
        "SELECT c.id, d.title, c.heading_path, c.text FROM chunks c \
         JOIN documents d ON d.user_id = c.user_id AND d.id = c.document_id \
         WHERE c.user_id = $1 AND c.embed_model <> $2 ORDER BY c.id LIMIT $3",
    )
    .bind(user_id)
    .bind(model)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// Stores new vectors for chunks `ids`, recording `model` and `dims`.
pub async fn set_embeddings(
    tx: &mut TenantTx,
    ids: &[Uuid],
    vectors: &[Vec<f32>],
    model: &str,
    dims: i32,
) -> Result<u64, StoreError> {
    let user_id = tx.user_id();
    // BM25's statistics move with the chunks from their model to `model`.
    // And so do their postings: out under the old model here, in under the new one below.
    let moved = super::terms::lock_and_count(tx, super::terms::Of::Chunks(ids)).await?;
    super::terms::apply(tx, &moved.moved_to(model), &moved).await?;
    super::terms::remove_postings(tx, super::terms::Of::Chunks(ids)).await?;
    let vectors: Vec<Vector> = vectors.iter().map(|v| Vector::from(v.clone())).collect();
    let done = sqlx::query(
        // language=PostgreSQL
        "UPDATE chunks SET embedding = v.embedding, embed_model = $2, embed_dims = $3 \
         FROM unnest($4::uuid[], $5::vector[]) AS v (id, embedding) \
         WHERE chunks.user_id = $1 AND chunks.id = v.id",
    )
    .bind(user_id)
    .bind(model)
    .bind(dims)
    .bind(ids)
    .bind(&vectors)
    .execute(tx.conn())
    .await?;
    super::terms::add_postings(tx, super::terms::Of::Chunks(ids)).await?;
    Ok(done.rows_affected())
}

/// How many of the tenant's chunks `model` embedded.
pub async fn chunk_count(tx: &mut TenantTx, model: &str) -> Result<i64, StoreError> {
    let user_id = tx.user_id();
    let n = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT count(*) FROM chunks WHERE user_id = $1 AND embed_model = $2",
    )
    .bind(user_id)
    .bind(model)
    .fetch_one(tx.conn())
    .await?;
    Ok(n)
}
