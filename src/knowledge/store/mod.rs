//! The one place that reads and writes `documents` and `chunks` (and, in `terms`, the
//! statistics of the chunks' words).

mod chunks;
pub mod indexes;
mod search;
mod terms;

use std::collections::HashMap;

use uuid::Uuid;

pub use chunks::{StaleChunk, chunk_count, set_embeddings, stale_chunks};
pub use search::{Aggregate, Fusion, Ranking, SearchQuery, TextRanking, explain, passages, search};
pub use terms::{Posting, recount as recount_terms, stored as stored_terms, stored_postings};

use super::Document;
use crate::{StoreError, TenantTx};

/// A document about to be written, with its chunks and their vectors.
#[derive(Debug)]
pub struct NewDocument<'a> {
    pub source: &'a str,
    pub title: &'a str,
    pub kind: &'a str,
    pub content_sha256: &'a [u8],
    pub chunks: &'a [NewChunk],
    /// The model that embedded the chunks, and its dimension.
    pub embed_model: &'a str,
    pub embed_dims: i32,
}

/// A chunk about to be written.
#[derive(Debug, Clone)]
pub struct NewChunk {
    pub heading_path: Vec<String>,
    pub text: String,
    pub embedding: Vec<f32>,
}

/// What writing a document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Added,
    Updated,
}

/// The stored documents' content hashes, by source.
pub async fn hashes(tx: &mut TenantTx) -> Result<HashMap<String, Vec<u8>>, StoreError> {
    let user_id = tx.user_id();
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT source, content_sha256 FROM documents WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().collect())
}

/// Inserts the document, or replaces an existing one with the same source and all its chunks.
/// Call it inside the transaction that commits the whole document: nothing is half-written.
pub async fn put_document(tx: &mut TenantTx, doc: &NewDocument<'_>) -> Result<Written, StoreError> {
    let user_id = tx.user_id();
    let chunk_count = i32::try_from(doc.chunks.len())
        .map_err(|_| StoreError::invalid("chunks", "too many chunks"))?;
    let (id, inserted): (Uuid, bool) = sqlx::query_as(
        // language=PostgreSQL
        "INSERT INTO documents (user_id, id, source, title, kind, content_sha256, chunk_count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (user_id, source) DO UPDATE SET title = EXCLUDED.title, \
             kind = EXCLUDED.kind, content_sha256 = EXCLUDED.content_sha256, \
             chunk_count = EXCLUDED.chunk_count \
         RETURNING id, (xmax = 0)",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(doc.source)
    .bind(doc.title)
    .bind(doc.kind)
    .bind(doc.content_sha256)
    .bind(chunk_count)
    .fetch_one(tx.conn())
    .await?;
    // BM25's statistics: the replaced chunks' figures out, the new ones' in, in one change.
    let mut replaced = terms::Counts::default();
    if !inserted {
        replaced = terms::count(tx, terms::Of::Documents(&[id])).await?;
        terms::remove_postings(tx, terms::Of::Documents(&[id])).await?;
        sqlx::query("DELETE FROM chunks WHERE user_id = $1 AND document_id = $2")
            .bind(user_id)
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    chunks::insert(tx, id, doc).await?;
    let written = terms::count(tx, terms::Of::Documents(&[id])).await?;
    terms::apply(tx, &written, &replaced).await?;
    terms::add_postings(tx, terms::Of::Documents(&[id])).await?;
    Ok(if inserted {
        Written::Added
    } else {
        Written::Updated
    })
}

/// The tenant's documents, by source.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<Document>, StoreError> {
    let user_id = tx.user_id();
    let docs = sqlx::query_as::<_, Document>(
        // language=PostgreSQL
        "SELECT id, source, title, kind, chunk_count, created_at, updated_at \
         FROM documents WHERE user_id = $1 ORDER BY source",
    )
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(docs)
}

/// Deletes a document and its chunks. Another tenant's document is "not found".
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let gone = terms::lock_and_count(tx, terms::Of::Documents(&[id])).await?;
    terms::apply(tx, &terms::Counts::default(), &gone).await?;
    terms::remove_postings(tx, terms::Of::Documents(&[id])).await?;
    let done = sqlx::query("DELETE FROM documents WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("document"));
    }
    Ok(())
}

/// Deletes the documents with these sources (and their chunks); returns how many.
///
/// The documents are found once, then locked, counted, unindexed and deleted by id: a document
/// with one of these sources that another transaction writes meanwhile is not among them (a
/// delete by source would take it, its figures and postings left behind).
pub async fn delete_sources(tx: &mut TenantTx, sources: &[String]) -> Result<u64, StoreError> {
    let user_id = tx.user_id();
    let ids: Vec<Uuid> = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT id FROM documents WHERE user_id = $1 AND source = ANY($2)",
    )
    .bind(user_id)
    .bind(sources)
    .fetch_all(tx.conn())
    .await?;
    let gone = terms::lock_and_count(tx, terms::Of::Documents(&ids)).await?;
    terms::apply(tx, &terms::Counts::default(), &gone).await?;
    terms::remove_postings(tx, terms::Of::Documents(&ids)).await?;
    let done = sqlx::query("DELETE FROM documents WHERE user_id = $1 AND id = ANY($2)")
        .bind(user_id)
        .bind(&ids)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected())
}
