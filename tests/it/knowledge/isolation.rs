//! documents and chunks, two tenants, through the service role: A can neither see, change,
//! delete, insert as, nor point at B's rows (R2, R5, R7), by raw SQL and through the store.

use support_agent::knowledge::store;
use support_agent::{Db, StoreError, Tenant};
use uuid::Uuid;

use super::support::folder;
use crate::common::{TestDb, new_tenant};

async fn exec_as(db: &Db, tenant: &Tenant, sql: String) -> Result<u64, String> {
    let mut tx = db.begin(tenant).await.expect("begin");
    match sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(tx.conn())
        .await
    {
        Ok(r) => {
            tx.commit().await.expect("commit");
            Ok(r.rows_affected())
        }
        Err(sqlx::Error::Database(e)) => Err(e.code().map(|c| c.to_string()).unwrap_or_default()),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[tokio::test]
async fn documents_and_chunks_of_another_tenant_cannot_be_read_changed_or_referenced() {
    let t = TestDb::new().await;
    let (a, b) = (
        new_tenant(&t.db, "Acme").await,
        new_tenant(&t.db, "Bolt").await,
    );
    let _da = folder(&t.db, &a, &[("a.md", "# A\n\nA's document.")]).await;
    let _db = folder(&t.db, &b, &[("b.md", "# B\n\nB's secret document.")]).await;
    let b_doc: Uuid = sqlx::query_scalar("SELECT id FROM documents WHERE user_id = $1")
        .bind(b.id())
        .fetch_one(&t.owner)
        .await
        .expect("b's document");
    let b_id = b.id();

    for table in [
        "documents",
        "chunks",
        "chunk_stats",
        "chunk_terms",
        "chunk_postings",
    ] {
        let sql = format!("SELECT count(*) FROM {table} WHERE user_id = '{b_id}'");
        let mut tx = t.db.begin(&a).await.expect("begin");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(tx.conn())
            .await
            .expect("count");
        tx.commit().await.expect("commit");
        assert_eq!(n, 0, "{table}: A sees none of B's rows");
        let update = format!("UPDATE {table} SET user_id = user_id WHERE user_id = '{b_id}'");
        assert_eq!(exec_as(&t.db, &a, update).await, Ok(0), "{table} update");
        let delete = format!("DELETE FROM {table} WHERE user_id = '{b_id}'");
        assert_eq!(exec_as(&t.db, &a, delete).await, Ok(0), "{table} delete");
    }
    let insert_as_b = format!(
        "INSERT INTO documents (user_id, id, source, title, kind, content_sha256, chunk_count) \
         VALUES ('{b_id}', gen_random_uuid(), 'x', 'x', 'text', decode(repeat('00', 32), 'hex'), 0)"
    );
    assert_eq!(exec_as(&t.db, &a, insert_as_b).await, Err("42501".into()));
    let a_id = a.id();
    let point_at_b = format!(
        "INSERT INTO chunks (user_id, id, document_id, ordinal, text, tsv, embed_model, \
         embed_dims, embedding) VALUES ('{a_id}', gen_random_uuid(), '{b_doc}', 0, 'x', \
         to_tsvector('x'), 'm', 384, array_fill(0.1, ARRAY[384])::vector)"
    );
    assert_eq!(exec_as(&t.db, &a, point_at_b).await, Err("23503".into()));

    let mut tx = t.db.begin(&a).await.expect("begin");
    let err = store::delete(&mut tx, b_doc).await.expect_err("not A's");
    assert!(matches!(err, StoreError::NotFound("document")));
    assert_eq!(store::list(&mut tx).await.expect("list").len(), 1);
    tx.commit().await.expect("commit");
    assert_eq!(t.count("documents").await, 2);
    assert_eq!(t.count("chunks").await, 2);
}
