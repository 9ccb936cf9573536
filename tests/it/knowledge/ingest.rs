//! Ingestion: each file type, idempotent re-ingestion, replacement of changed files, --prune,
//! and files that must be reported and skipped without writing anything.

use support_agent::knowledge::store;

use super::support::{ingest, pdf, write};
use crate::common::{TestDb, new_tenant};

const GUIDE: &str = "# Refund policy\n\nRefunds are issued within 14 days of purchase.\n\n\
## Card payments\n\nCard refunds reach the card in 5 to 10 business days.\n\n\
### Disputes\n\nA chargeback freezes the refund until the bank decides.\n";

#[tokio::test]
async fn markdown_text_html_and_pdf_are_ingested_with_titles_and_headings() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "guide.md", GUIDE);
    write(
        dir.path(),
        "notes/shipping.txt",
        "Orders ship within two days.\n\nTracking comes by email.",
    );
    write(
        dir.path(),
        "faq.html",
        "<html><head><title>FAQ</title></head><body><h1>Account help</h1>\
         <h2>Passwords</h2><p>Reset your password from the login page.</p></body></html>",
    );
    write(
        dir.path(),
        "manual.pdf",
        pdf("Warranty lasts two years from delivery"),
    );
    let report = ingest(&t.db, &a, &[dir.path()], false).await;
    assert_eq!(report.documents.added, 4, "{report:?}");
    assert_eq!(report.documents.failed, 0, "{report:?}");
    let mut tx = t.db.begin(&a).await.expect("begin");
    let docs = store::list(&mut tx).await.expect("list");
    let kinds: Vec<(&str, &str)> = docs
        .iter()
        .map(|d| (d.kind.as_str(), d.title.as_str()))
        .collect();
    assert!(kinds.contains(&("markdown", "Refund policy")), "{kinds:?}");
    assert!(kinds.contains(&("text", "shipping")), "{kinds:?}");
    assert!(kinds.contains(&("html", "Account help")), "{kinds:?}");
    assert!(kinds.contains(&("pdf", "manual")), "{kinds:?}");
    let texts: Vec<(Vec<String>, String)> =
        sqlx::query_as("SELECT heading_path, text FROM chunks WHERE user_id = $1 ORDER BY text")
            .bind(a.id())
            .fetch_all(tx.conn())
            .await
            .expect("chunks");
    assert!(
        texts
            .iter()
            .any(|(_, t)| t.contains("Warranty lasts two years")),
        "{texts:?}"
    );
    // A chunk's breadcrumb is the headings in force where it starts; headings inside it stay
    // in its text.
    assert!(
        texts
            .iter()
            .any(|(h, t)| t.contains("## Passwords\n\nReset your password")
                && h == &["Account help".to_owned()]),
        "{texts:?}"
    );
    assert_eq!(report.chunks as usize, texts.len());
}

#[tokio::test]
async fn a_long_document_is_cut_into_overlapping_chunks_with_heading_breadcrumbs() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut doc = String::from("# Handbook\n\n");
    for section in 0..6 {
        doc.push_str(&format!("## Section {section}\n\n"));
        for p in 0..4 {
            doc.push_str(&format!(
                "{}\n\n",
                vec![format!("word{section}x{p}"); 60].join(" ")
            ));
        }
    }
    write(dir.path(), "handbook.md", &doc);
    let report = ingest(&t.db, &a, &[dir.path()], false).await;
    assert!(report.chunks >= 6, "{report:?}");
    let rows: Vec<(Vec<String>, String)> =
        sqlx::query_as("SELECT heading_path, text FROM chunks WHERE user_id = $1 ORDER BY ordinal")
            .bind(a.id())
            .fetch_all(&t.owner)
            .await
            .expect("chunks");
    for (path, text) in &rows {
        // The word-hash embedder counts words as tokens: 256 less the breadcrumb's room.
        assert!(text.split_whitespace().count() <= 214, "{}", text.len());
        assert_eq!(
            path.first().map(String::as_str),
            Some("Handbook"),
            "{path:?}"
        );
    }
    let last = &rows.last().expect("chunks").0;
    assert_eq!(last, &["Handbook".to_owned(), "Section 5".to_owned()]);
}

#[tokio::test]
async fn re_ingesting_unchanged_files_writes_nothing_and_a_changed_file_is_replaced() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let guide = write(dir.path(), "guide.md", GUIDE);
    write(dir.path(), "other.txt", "Another document about shipping.");
    let first = ingest(&t.db, &a, &[dir.path()], false).await;
    assert_eq!(first.documents.added, 2);
    let ids_before: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM chunks ORDER BY id")
        .fetch_all(&t.owner)
        .await
        .expect("ids");

    let again = ingest(&t.db, &a, &[dir.path()], false).await;
    assert_eq!(
        (
            again.documents.unchanged,
            again.documents.added,
            again.chunks
        ),
        (2, 0, 0)
    );
    let ids_after: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM chunks ORDER BY id")
        .fetch_all(&t.owner)
        .await
        .expect("ids");
    assert_eq!(ids_before, ids_after, "unchanged files keep their chunks");

    std::fs::write(&guide, "# Refund policy\n\nRefunds now take 30 days.\n").expect("edit");
    let changed = ingest(&t.db, &a, &[dir.path()], false).await;
    assert_eq!(
        (changed.documents.updated, changed.documents.unchanged),
        (1, 1)
    );
    assert_eq!(t.count("documents").await, 2);
    let texts: Vec<String> = sqlx::query_scalar(
        "SELECT c.text FROM chunks c JOIN documents d ON d.user_id = c.user_id \
         AND d.id = c.document_id WHERE d.source LIKE '%guide.md'",
    )
    .fetch_all(&t.owner)
    .await
    .expect("texts");
    assert!(
        texts.iter().all(|t| !t.contains("14 days")),
        "old chunks are gone: {texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("30 days")));
}

#[tokio::test]
async fn prune_removes_documents_whose_files_are_gone_and_only_below_the_given_paths() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let kept = write(elsewhere.path(), "kept.md", "# Kept\n\nStays.");
    let doomed = write(dir.path(), "old.md", "# Old\n\nGoes away.");
    write(dir.path(), "new.md", "# New\n\nStays too.");
    ingest(&t.db, &a, &[dir.path(), kept.as_path()], false).await;
    assert_eq!(t.count("documents").await, 3);
    std::fs::remove_file(&doomed).expect("rm");
    std::fs::remove_file(&kept).expect("rm");

    let without = ingest(&t.db, &a, &[dir.path()], false).await;
    assert_eq!(without.documents.pruned, 0);
    assert_eq!(
        t.count("documents").await,
        3,
        "nothing removed without --prune"
    );

    let pruned = ingest(&t.db, &a, &[dir.path()], true).await;
    assert_eq!(pruned.documents.pruned, 1, "{pruned:?}");
    let sources: Vec<String> = sqlx::query_scalar("SELECT source FROM documents ORDER BY source")
        .fetch_all(&t.owner)
        .await
        .expect("sources");
    assert!(
        sources.iter().any(|s| s.ends_with("kept.md")),
        "outside the given path: {sources:?}"
    );
    assert!(
        !sources.iter().any(|s| s.ends_with("old.md")),
        "{sources:?}"
    );
    assert_eq!(t.count("chunks").await, 2);
}

#[tokio::test]
async fn broken_binary_and_unsupported_files_are_reported_and_nothing_of_them_is_written() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broken = pdf("Half a file");
    broken.truncate(broken.len() / 2);
    broken.extend_from_slice(b"\x00\xff garbage");
    write(dir.path(), "broken.pdf", broken);
    write(dir.path(), "fake.pdf", b"not a pdf at all");
    write(
        dir.path(),
        "binary.txt",
        (0u8..=255).cycle().take(4096).collect::<Vec<u8>>(),
    );
    write(
        dir.path(),
        "image.png",
        [0x89, b'P', b'N', b'G', 0, 0, 0, 0],
    );
    write(dir.path(), "empty.md", "   \n");
    write(dir.path(), "good.md", "# Good\n\nThe one readable file.");
    let report = ingest(
        &t.db,
        &a,
        &[dir.path(), &dir.path().join("missing.md")],
        false,
    )
    .await;
    assert_eq!(report.documents.added, 1, "{report:?}");
    assert_eq!(report.documents.failed, 6, "{report:?}");
    let reasons: Vec<String> = report
        .failures
        .iter()
        .map(|f| format!("{} {}", f.path, f.reason))
        .collect();
    for (file, reason) in [
        ("broken.pdf", "PDF"),
        ("fake.pdf", "PDF"),
        ("binary.txt", "binary"),
        ("image.png", "unsupported"),
        ("empty.md", "no text"),
        ("missing.md", "cannot read"),
    ] {
        assert!(
            reasons
                .iter()
                .any(|r| r.contains(file) && r.contains(reason)),
            "{file}: {reasons:?}"
        );
    }
    assert_eq!(t.count("documents").await, 1);
}

#[tokio::test]
async fn a_chunks_vector_is_stored_in_its_row_not_in_the_toast_table() {
    // pgvector stores its type out of line by default; the exact search path would then fetch
    // every vector from the TOAST table (migration 20261217000010_chunk_vectors_inline.sql).
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "guide.md", GUIDE);
    ingest(&t.db, &a, &[dir.path()], false).await;
    let (chunks, storage, toast_bytes): (i64, String, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM chunks), \
                (SELECT attstorage::text FROM pg_attribute \
                 WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'), \
                pg_relation_size(reltoastrelid) \
         FROM pg_class WHERE oid = 'chunks'::regclass",
    )
    .fetch_one(&t.owner)
    .await
    .expect("catalog");
    assert!(chunks >= 1, "{chunks} chunks");
    assert_eq!(storage, "m", "the embedding column's storage is MAIN");
    assert_eq!(toast_bytes, 0, "no chunk's vector went to the TOAST table");
}
