//! Nothing is half-written: when writing a document fails (here, its vectors have the wrong
//! dimension, so inserting its chunks fails after the document row was written), the whole
//! document is rolled back, and a changed file's previous version stays as it was.

use support_agent::knowledge::embed::{EmbedFuture, Embedder};
use support_agent::knowledge::{IngestOptions, KnowledgeError, ingest};

use super::support::{WordHashEmbedder, write};
use crate::common::{TestDb, new_tenant};

/// Claims 384 dimensions, delivers 3: the chunks' INSERT fails inside the document's transaction.
struct WrongDims;

impl Embedder for WrongDims {
    fn model(&self) -> &str {
        WordHashEmbedder.model()
    }
    fn dims(&self) -> usize {
        384
    }
    fn max_tokens(&self) -> usize {
        256
    }
    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move { Ok(texts.iter().map(|_| vec![0.5, 0.5, 0.5]).collect()) })
    }
}

#[tokio::test]
async fn a_failed_write_leaves_neither_a_new_document_nor_a_damaged_old_one() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let guide = write(
        dir.path(),
        "guide.md",
        "# Guide\n\nVersion one of the guide.",
    );
    let paths = [dir.path().to_path_buf()];
    let hidden = indicatif::ProgressBar::hidden();
    let options = IngestOptions::default();

    let err = ingest(&t.db, &WrongDims, &a, &paths, &options, &hidden)
        .await
        .expect_err("the chunks cannot be stored");
    assert!(matches!(err, KnowledgeError::Store(_)), "{err:?}");
    assert_eq!(
        t.count("documents").await,
        0,
        "no document without its chunks"
    );
    assert_eq!(t.count("chunks").await, 0);

    ingest(&t.db, &WordHashEmbedder, &a, &paths, &options, &hidden)
        .await
        .expect("ingest version one");
    std::fs::write(&guide, "# Guide\n\nVersion two, which fails to store.").expect("edit");
    ingest(&t.db, &WrongDims, &a, &paths, &options, &hidden)
        .await
        .expect_err("the new chunks cannot be stored");
    let texts: Vec<String> = sqlx::query_scalar("SELECT text FROM chunks")
        .fetch_all(&t.owner)
        .await
        .expect("chunks");
    assert_eq!(texts.len(), 1);
    assert!(texts[0].contains("Version one"), "{texts:?}");
    // The failed update did not record the new hash either: the next run retries it.
    let again = ingest(&t.db, &WordHashEmbedder, &a, &paths, &options, &hidden)
        .await
        .expect("ingest version two");
    assert_eq!(again.documents.updated, 1, "{again:?}");
}
