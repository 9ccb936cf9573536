//! Ticket embeddings and the labelled neighbours the offline classifier votes with. The SQL of
//! the `tickets` table beyond [`super::store`]'s; the same owner.

use pgvector::Vector;
use uuid::Uuid;

use crate::{StoreError, TenantTx};

/// Records a person's category for a ticket: a labelled example for the classifier.
pub async fn set_human_category(
    tx: &mut TenantTx,
    id: Uuid,
    category: &str,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE tickets SET category = $3, category_source = 'human' WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .bind(category)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("ticket"));
    }
    Ok(())
}

/// Stores a ticket's embedding and the model that made it.
pub async fn set_embedding(
    tx: &mut TenantTx,
    id: Uuid,
    model: &str,
    embedding: &[f32],
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "UPDATE tickets SET embedding = $3, embed_model = $4 WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .bind(Vector::from(embedding.to_vec()))
    .bind(model)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The `k` tickets with a person's category nearest to `embedding` (same model), other than
/// `exclude`, as (category, cosine similarity), nearest first.
pub async fn nearest_labelled(
    tx: &mut TenantTx,
    embedding: &[f32],
    model: &str,
    exclude: Option<Uuid>,
    k: i64,
) -> Result<Vec<(String, f32)>, StoreError> {
    // Iterative scans keep the HNSW index useful under the tenant filter (SECURITY.md R8).
    sqlx::raw_sql("SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = 100")
        .execute(tx.conn())
        .await?;
    let user_id = tx.user_id();
    let rows: Vec<(String, f64)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT category, 1 - (embedding <=> $2) FROM tickets \
         WHERE user_id = $1 AND category_source = 'human' AND embed_model = $3 \
           AND ($4::uuid IS NULL OR id <> $4) \
         ORDER BY embedding <=> $2 LIMIT $5",
    )
    .bind(user_id)
    .bind(Vector::from(embedding.to_vec()))
    .bind(model)
    .bind(exclude)
    .bind(k.clamp(1, 100))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(|(c, s)| (c, s as f32)).collect())
}

/// A customer's ticket with exactly this subject, if any: lets imports run twice safely.
pub async fn find_by_subject(
    tx: &mut TenantTx,
    customer_id: Uuid,
    subject: &str,
) -> Result<Option<Uuid>, StoreError> {
    let user_id = tx.user_id();
    let id = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT id FROM tickets WHERE user_id = $1 AND customer_id = $2 AND subject = $3 \
         ORDER BY created_at LIMIT 1",
    )
    .bind(user_id)
    .bind(customer_id)
    .bind(subject)
    .fetch_optional(tx.conn())
    .await?;
    Ok(id)
}
