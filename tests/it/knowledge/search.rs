//! Hybrid search: tenant isolation, k results for a tiny tenant among many chunks (R8) on both
//! the exact and the HNSW path, model filtering, re-embedding, and the `search_knowledge` tool.

use rand::{Rng, SeedableRng};
use support_agent::audit::Transport;
use support_agent::knowledge::embed::normalize;
use support_agent::knowledge::store::{self, NewChunk, NewDocument};
use support_agent::knowledge::{SearchSettings, reembed, search};
use support_agent::tools::{Caller, Ctx, SearchKnowledgeArgs, ToolError, search_knowledge};
use support_agent::{Db, Tenant};

use super::support::{WordHashEmbedder, folder, hash_embedder, ingest, word_hash, write};
use crate::common::{TestDb, new_tenant};

/// Writes one document of `vectors.len()` chunks for `tenant`, embedded by `model`.
async fn put(db: &Db, tenant: &Tenant, source: &str, model: &str, vectors: Vec<Vec<f32>>) {
    let chunks: Vec<NewChunk> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, embedding)| NewChunk {
            heading_path: vec![],
            text: format!("{source} chunk {i}"),
            embedding,
        })
        .collect();
    let mut tx = db.begin(tenant).await.expect("begin");
    store::put_document(
        &mut tx,
        &NewDocument {
            source,
            title: source,
            kind: "text",
            content_sha256: &[7; 32],
            chunks: &chunks,
            embed_model: model,
            embed_dims: 384,
        },
    )
    .await
    .expect("put");
    tx.commit().await.expect("commit");
}

fn random_unit(rng: &mut impl Rng, around: &[f32], spread: f32) -> Vec<f32> {
    let mut v: Vec<f32> = around
        .iter()
        .map(|x| x + spread * (rng.random::<f32>() - 0.5))
        .collect();
    normalize(&mut v);
    v
}

#[tokio::test]
async fn a_tenant_never_finds_another_tenants_chunks_even_an_exact_match() {
    let t = TestDb::new().await;
    let (a, b) = (
        new_tenant(&t.db, "Acme").await,
        new_tenant(&t.db, "Bolt").await,
    );
    let _da = folder(
        &t.db,
        &a,
        &[("a.md", "# Shipping\n\nWe ship worldwide within two days.")],
    )
    .await;
    let _db = folder(
        &t.db,
        &b,
        &[(
            "b.md",
            "# Secret\n\nThe secret refund override code is ZX-99.",
        )],
    )
    .await;
    let query = "The secret refund override code is ZX-99.";
    for exact_max_chunks in [10_000, 0] {
        let settings = SearchSettings {
            kb_exact_max_chunks: exact_max_chunks,
            ..Default::default()
        };
        let hits = search(&t.db, &WordHashEmbedder, &settings, &a, query, 20)
            .await
            .expect("search");
        assert!(!hits.is_empty());
        assert!(hits.iter().all(|h| !h.text.contains("ZX-99")), "{hits:?}");
        let b_hits = search(&t.db, &WordHashEmbedder, &settings, &b, query, 20)
            .await
            .expect("search");
        assert!(
            b_hits[0].text.contains("ZX-99"),
            "B finds its own: {b_hits:?}"
        );
    }
}

#[tokio::test]
async fn a_tiny_tenant_among_many_chunks_still_gets_k_results_on_both_paths() {
    let t = TestDb::new().await;
    let (big, tiny) = (
        new_tenant(&t.db, "Big").await,
        new_tenant(&t.db, "Tiny").await,
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let query_vec = word_hash("where is my parcel");
    // The big tenant's 4,000 chunks all sit near the query; the tiny tenant's 20 far from it.
    for d in 0..4 {
        let vectors = (0..1000)
            .map(|_| random_unit(&mut rng, &query_vec, 0.05))
            .collect();
        put(&t.db, &big, &format!("big-{d}"), "test-word-hash", vectors).await;
    }
    let far: Vec<f32> = query_vec.iter().map(|x| -x).collect();
    let vectors = (0..20).map(|_| random_unit(&mut rng, &far, 0.5)).collect();
    put(&t.db, &tiny, "tiny", "test-word-hash", vectors).await;
    sqlx::query("ANALYZE chunks")
        .execute(&t.owner)
        .await
        .expect("analyze");
    for exact_max_chunks in [10_000, 0] {
        let settings = SearchSettings {
            kb_exact_max_chunks: exact_max_chunks,
            kb_text_weight: 0.0,
            ..Default::default()
        };
        let hits = search(
            &t.db,
            &WordHashEmbedder,
            &settings,
            &tiny,
            "where is my parcel",
            10,
        )
        .await
        .expect("search");
        assert_eq!(hits.len(), 10, "exact_max_chunks={exact_max_chunks}");
        assert!(hits.iter().all(|h| h.source == "tiny"));
    }
}

#[tokio::test]
async fn only_chunks_of_the_configured_model_are_searched_until_reembedded() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    put(
        &t.db,
        &a,
        "old",
        "an-older-model",
        vec![word_hash("old chunk 0")],
    )
    .await;
    let settings = SearchSettings::default();
    let hits = search(&t.db, &WordHashEmbedder, &settings, &a, "old chunk", 5)
        .await
        .expect("search");
    assert!(
        hits.is_empty(),
        "another model's vectors are not compared: {hits:?}"
    );
    let report = reembed(&t.db, &WordHashEmbedder, &a)
        .await
        .expect("reembed");
    assert_eq!(
        (report.chunks, report.model.as_str()),
        (1, "test-word-hash")
    );
    let hits = search(&t.db, &WordHashEmbedder, &settings, &a, "old chunk", 5)
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
    let model: String = sqlx::query_scalar("SELECT embed_model FROM chunks")
        .fetch_one(&t.owner)
        .await
        .expect("model");
    assert_eq!(model, "test-word-hash");
}

#[tokio::test]
async fn the_tool_returns_results_with_citation_ids_and_checks_its_limit() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("dir");
    for i in 0..8 {
        write(
            dir.path(),
            &format!("{i}.md"),
            format!("# Refunds {i}\n\nRefund rule number {i}."),
        );
    }
    ingest(&t.db, &a, &[dir.path()], false).await;
    let ctx = Ctx::new(t.db.clone()).with_knowledge(hash_embedder(), SearchSettings::default());
    let staff = Caller::staff(a, Transport::Http);
    let args = |limit| SearchKnowledgeArgs {
        query: "refund rule".into(),
        limit,
    };
    let out = search_knowledge(&ctx, &staff, args(None))
        .await
        .expect("search");
    assert_eq!(out.results.len(), 5, "default limit");
    let json = serde_json::to_value(&out).expect("json");
    let first = &json["results"][0];
    for field in [
        "citation_id",
        "chunk_id",
        "document_id",
        "title",
        "source",
        "heading_path",
        "text",
        "score",
    ] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
    assert_eq!(first["citation_id"], first["chunk_id"]);
    for bad in [0, 21] {
        let err = search_knowledge(&ctx, &staff, args(Some(bad)))
            .await
            .expect_err("limit");
        assert!(
            matches!(
                err,
                ToolError::InvalidArgument { ref field, .. } if field == "limit"
            ),
            "{err:?}"
        );
    }
    let out = search_knowledge(&ctx, &staff, args(Some(20)))
        .await
        .expect("search");
    assert_eq!(out.results.len(), 8);
    let empty = SearchKnowledgeArgs {
        query: "  ".into(),
        limit: None,
    };
    let err = search_knowledge(&ctx, &staff, empty)
        .await
        .expect_err("empty");
    assert!(matches!(
        err,
        ToolError::InvalidArgument { ref field, .. } if field == "query"
    ));
    // No tenant in the arguments: unknown fields are refused.
    let with_user = serde_json::json!({"query": "x", "user_id": a.id()});
    assert!(serde_json::from_value::<SearchKnowledgeArgs>(with_user).is_err());
    let schema = serde_json::to_value(schemars::schema_for!(SearchKnowledgeArgs)).expect("schema");
    let props = schema["properties"].as_object().expect("properties");
    assert_eq!(props.keys().collect::<Vec<_>>(), ["limit", "query"]);
}

/// The text-only default ranking (BM25) for `tenant`: the documents' sources, best first.
async fn text_only(db: &Db, tenant: &Tenant, query: &str, limit: i64) -> Vec<(String, f64)> {
    let settings = SearchSettings {
        kb_vector_weight: 0.0,
        ..Default::default()
    };
    search(db, &WordHashEmbedder, &settings, tenant, query, limit)
        .await
        .expect("search")
        .into_iter()
        .map(|h| {
            let name = std::path::Path::new(&h.source)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, h.score)
        })
        .collect()
}

#[tokio::test]
async fn bm25_weighs_words_by_their_rarity_among_the_tenants_own_chunks_only() {
    let t = TestDb::new().await;
    let (a, b) = (
        new_tenant(&t.db, "Acme").await,
        new_tenant(&t.db, "Bolt").await,
    );
    let dir = tempfile::tempdir().expect("dir");
    // "refund" is in every document of A, "ZX-99" in one: the rare word decides.
    write(
        dir.path(),
        "common.md",
        "# Refunds\n\nA refund, a refund, a refund: refunds take five days.",
    );
    write(
        dir.path(),
        "rare.md",
        "# Codes\n\nThe override code ZX-99 unlocks a refund.",
    );
    for i in 0..6 {
        write(
            dir.path(),
            &format!("other{i}.md"),
            format!("# Refund policy {i}\n\nAsk for a refund within {i} weeks."),
        );
    }
    ingest(&t.db, &a, &[dir.path()], false).await;
    let query = "refund code ZX-99";
    let before = text_only(&t.db, &a, query, 10).await;
    assert_eq!(before[0].0, "rare", "{before:?}");
    // Another tenant full of "ZX-99" changes neither A's ranking nor its scores: the
    // statistics are A's own.
    let other = tempfile::tempdir().expect("dir");
    for i in 0..20 {
        write(
            other.path(),
            &format!("zx{i}.md"),
            format!("# ZX-99 {i}\n\nZX-99 ZX-99 code ZX-99."),
        );
    }
    ingest(&t.db, &b, &[other.path()], false).await;
    let after = text_only(&t.db, &a, query, 10).await;
    assert_eq!(before, after);
    // B's own ranking sees its statistics: every document has every query word but one.
    let b_hits = text_only(&t.db, &b, query, 10).await;
    assert!(
        b_hits.iter().all(|(name, _)| name.starts_with("zx")),
        "{b_hits:?}"
    );
}

#[tokio::test]
async fn one_long_document_does_not_fill_the_results() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("dir");
    // One document of many sections about refunds, and four short ones that mention them.
    let long: String = (0..12)
        .map(|i| {
            format!(
                "## Refund rule {i}\n\n{}\n\n",
                "Refunds are paid back to the card used for the order. ".repeat(30)
            )
        })
        .collect();
    write(dir.path(), "long.md", format!("# Refunds\n\n{long}"));
    for i in 0..4 {
        write(
            dir.path(),
            &format!("short{i}.md"),
            format!("# Note {i}\n\nRefunds for order {i} are paid to the card."),
        );
    }
    let report = ingest(&t.db, &a, &[dir.path()], false).await;
    assert!(
        report.chunks >= 10,
        "the long document has many chunks: {report:?}"
    );
    let hits = search(
        &t.db,
        &WordHashEmbedder,
        &SearchSettings::default(),
        &a,
        "refunds paid to the card",
        5,
    )
    .await
    .expect("search");
    let docs: std::collections::HashSet<_> = hits.iter().map(|h| h.document_id).collect();
    assert_eq!((hits.len(), docs.len()), (5, 5), "five documents: {hits:?}");
    // With more room than documents, a document's further chunks follow.
    let hits = search(
        &t.db,
        &WordHashEmbedder,
        &SearchSettings::default(),
        &a,
        "refunds paid to the card",
        12,
    )
    .await
    .expect("search");
    assert_eq!(hits.len(), 12);
    let first: std::collections::HashSet<_> = hits[..5].iter().map(|h| h.document_id).collect();
    assert_eq!(first.len(), 5, "every document's best chunk comes first");
}

#[tokio::test]
async fn every_ranking_variant_runs_on_both_paths() {
    use support_agent::knowledge::store::{Aggregate, Fusion, TextRanking};
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let dir = tempfile::tempdir().expect("dir");
    for i in 0..6 {
        write(
            dir.path(),
            &format!("{i}.md"),
            format!("# Shipping {i}\n\nParcels ship in {i} days; it's tracked (O'Brien \\ co)."),
        );
    }
    ingest(&t.db, &a, &[dir.path()], false).await;
    for text in [TextRanking::TsRank, TextRanking::Bm25] {
        for fusion in [Fusion::Rrf, Fusion::MinMax, Fusion::ZScore] {
            for aggregate in [
                Aggregate::Chunks,
                Aggregate::DocumentMax,
                Aggregate::DocumentSum2,
            ] {
                for exact_max_chunks in [10_000, 0] {
                    let settings = SearchSettings {
                        kb_text_ranking: text,
                        kb_fusion: fusion,
                        kb_aggregate: aggregate,
                        kb_exact_max_chunks: exact_max_chunks,
                        ..Default::default()
                    };
                    // Quotes and backslashes in the query reach the statement only as data.
                    for query in ["parcels ship tracked", "O'Brien \\ it's", "the of and"] {
                        let hits = search(&t.db, &WordHashEmbedder, &settings, &a, query, 3)
                            .await
                            .unwrap_or_else(|e| panic!("{text:?} {fusion:?} {aggregate:?}: {e}"));
                        assert!(hits.len() <= 3);
                        assert!(
                            !hits.is_empty(),
                            "{text:?} {fusion:?} {aggregate:?} {query}"
                        );
                    }
                }
            }
        }
    }
}

/// The tenant's BM25 statistics and postings.
type Figures = (Vec<(String, Option<String>, i64, i64)>, Vec<store::Posting>);

/// The tenant's BM25 statistics and postings as stored, and as a recount from its chunks finds
/// them (the recount rolled back).
async fn stored_and_recounted(db: &Db, tenant: &Tenant) -> (Figures, Figures) {
    let mut tx = db.begin(tenant).await.expect("begin");
    let stored = (
        store::stored_terms(&mut tx).await.expect("stored"),
        store::stored_postings(&mut tx)
            .await
            .expect("stored postings"),
    );
    store::recount_terms(&mut tx).await.expect("recount");
    let recounted = (
        store::stored_terms(&mut tx).await.expect("recounted"),
        store::stored_postings(&mut tx)
            .await
            .expect("recounted postings"),
    );
    tx.rollback().await.expect("rollback");
    (stored, recounted)
}

#[tokio::test]
async fn bm25_statistics_kept_at_every_write_equal_a_recount_of_the_chunks() {
    let t = TestDb::new().await;
    let (a, b) = (
        new_tenant(&t.db, "Acme").await,
        new_tenant(&t.db, "Bolt").await,
    );
    let da = folder(
        &t.db,
        &a,
        &[
            (
                "refunds.md",
                "# Refunds\n\nA refund takes five days. Refunds of refunds.",
            ),
            (
                "codes.md",
                "# Codes\n\nThe override code ZX-99 unlocks a refund.",
            ),
            (
                "plans.md",
                "# Plans\n\n## Pro\n\nThe Pro plan.\n\n## Team\n\nThe Team plan.",
            ),
        ],
    )
    .await;
    let _db = folder(&t.db, &b, &[("b.md", "# Bolt\n\nBolt's own refund words.")]).await;
    let b_before = stored_and_recounted(&t.db, &b).await;
    assert_eq!(b_before.0, b_before.1);

    let check = |what: &'static str| {
        let db = t.db.clone();
        async move {
            let (stored, recounted) = stored_and_recounted(&db, &a).await;
            assert!(!recounted.0.is_empty(), "{what}: nothing counted");
            assert!(!recounted.1.is_empty(), "{what}: no postings");
            assert_eq!(stored.0, recounted.0, "{what}: statistics");
            assert_eq!(stored.1, recounted.1, "{what}: postings");
            stored.0
        }
    };
    let first = check("first ingestion").await;
    let refund_df = |rows: &[(String, Option<String>, i64, i64)]| {
        rows.iter()
            .find(|r| r.1.as_deref() == Some("refund"))
            .map(|r| r.2)
    };
    assert_eq!(refund_df(&first), Some(2), "{first:?}");
    // A document replaced, one removed (prune), one added.
    write(
        da.path(),
        "refunds.md",
        "# Refunds\n\nNo refund after thirty days.",
    );
    std::fs::remove_file(da.path().join("codes.md")).expect("rm");
    write(
        da.path(),
        "refund-codes.md",
        "# Refund codes\n\nRefund code RF-1.",
    );
    ingest(&t.db, &a, &[da.path()], true).await;
    let rewritten = check("replace, prune and add").await;
    assert_eq!(refund_df(&rewritten), Some(2), "{rewritten:?}");
    // A document deleted on its own.
    let mut tx = t.db.begin(&a).await.expect("begin");
    let plans = store::list(&mut tx)
        .await
        .expect("list")
        .into_iter()
        .find(|d| d.source.ends_with("plans.md"))
        .expect("plans");
    store::delete(&mut tx, plans.id).await.expect("delete");
    tx.commit().await.expect("commit");
    check("delete").await;
    // A second model's chunks, then re-embedding them into the configured one.
    put(
        &t.db,
        &a,
        "old",
        "an-older-model",
        vec![word_hash("old refund 0"), word_hash("old refund 1")],
    )
    .await;
    let two_models = check("a second model").await;
    assert!(
        two_models
            .iter()
            .any(|r| r.0 == "an-older-model" && r.1.is_none() && r.2 == 2),
        "{two_models:?}"
    );
    reembed(&t.db, &WordHashEmbedder, &a)
        .await
        .expect("reembed");
    let moved = check("re-embedded").await;
    assert!(moved.iter().all(|r| r.0 == "test-word-hash"), "{moved:?}");
    // None of it touched the other tenant's figures.
    assert_eq!(stored_and_recounted(&t.db, &b).await, b_before);
}

#[tokio::test]
async fn the_statistics_migration_counts_the_chunks_already_written() {
    let t = TestDb::new().await;
    let (a, b) = (
        new_tenant(&t.db, "Acme").await,
        new_tenant(&t.db, "Bolt").await,
    );
    let da = folder(
        &t.db,
        &a,
        &[
            ("refunds.md", "# Refunds\n\nA refund takes five days."),
            (
                "codes.md",
                "# Codes\n\nThe override code ZX-99 unlocks a refund.",
            ),
        ],
    )
    .await;
    let _db = folder(
        &t.db,
        &b,
        &[("b.md", "# Bolt\n\nBolt's own refund words, refund again.")],
    )
    .await;
    let kept = (
        stored_and_recounted(&t.db, &a).await.0,
        stored_and_recounted(&t.db, &b).await.0,
    );
    // The database as it was before the migrations of the statistics and the postings, chunks
    // and all; then the migrations again.
    sqlx::raw_sql(
        "DROP TABLE chunk_postings, chunk_terms, chunk_stats; \
         DELETE FROM _sqlx_migrations WHERE version IN (20261218000010, 20261220000010)",
    )
    .execute(&t.owner)
    .await
    .expect("undo the migration");
    support_agent::db::migrate(&t.owner).await.expect("migrate");
    for (tenant, kept) in [(&a, &kept.0), (&b, &kept.1)] {
        let (stored, recounted) = stored_and_recounted(&t.db, tenant).await;
        assert!(!stored.0.is_empty() && !stored.1.is_empty());
        assert_eq!(
            &stored, kept,
            "the migration counted what ingestion had kept"
        );
        assert_eq!(stored, recounted);
    }
    // The service role reads and writes them as before.
    let hits = text_only(&t.db, &a, "override code ZX-99", 5).await;
    assert_eq!(hits[0].0, "codes", "{hits:?}");
    write(da.path(), "more.md", "# More\n\nAnother refund.");
    ingest(&t.db, &a, &[da.path()], false).await;
    let (stored, recounted) = stored_and_recounted(&t.db, &a).await;
    assert_eq!(stored, recounted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_of_one_tenant_keep_its_statistics_without_deadlocking() {
    let t = TestDb::with_max_connections(8).await;
    let a = new_tenant(&t.db, "Acme").await;
    // Four writers, each writing and rewriting its own documents whose words overlap the
    // others' in different orders: every write locks rows of chunk_terms that the others lock.
    // Writer 0's documents are deleted as they are rewritten (below).
    let words = [
        "refund", "invoice", "plan", "seat", "coupon", "trial", "tax", "card",
    ];
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let db = t.db.clone();
            tokio::spawn(async move {
                for round in 0..6 {
                    for d in 0..3 {
                        let text: Vec<&str> = (0..words.len())
                            .map(|i| words[(i * (w + 1) + round + d) % words.len()])
                            .collect();
                        let text = text.join(" ");
                        let chunks = [NewChunk {
                            heading_path: vec![],
                            text: text.clone(),
                            embedding: word_hash(&text),
                        }];
                        let mut tx = db.begin(&a).await.expect("begin");
                        store::put_document(
                            &mut tx,
                            &NewDocument {
                                source: &format!("w{w}-d{d}"),
                                title: "Billing",
                                kind: "text",
                                content_sha256: &[round as u8; 32],
                                chunks: &chunks,
                                embed_model: "test-word-hash",
                                embed_dims: 384,
                            },
                        )
                        .await
                        .expect("put");
                        tx.commit().await.expect("commit");
                    }
                }
            })
        })
        .collect();
    // And one deleter of writer 0's documents, racing their replacement.
    let deleter = {
        let db = t.db.clone();
        tokio::spawn(async move {
            for _ in 0..30 {
                let mut tx = db.begin(&a).await.expect("begin");
                let docs = store::list(&mut tx).await.expect("list");
                tx.commit().await.expect("commit");
                // One deletion a transaction, as the CLI, the API and the pages delete.
                for d in docs.iter().filter(|d| d.source.starts_with("w0-")) {
                    let mut tx = db.begin(&a).await.expect("begin");
                    match store::delete(&mut tx, d.id).await {
                        Ok(()) => tx.commit().await.expect("commit"),
                        Err(support_agent::StoreError::NotFound(_)) => {}
                        Err(e) => panic!("delete: {e}"),
                    }
                }
            }
        })
    };
    for w in writers {
        w.await
            .expect("a writer failed (a deadlock would fail its transaction)");
    }
    deleter.await.expect("the deleter failed");
    let (stored, recounted) = stored_and_recounted(&t.db, &a).await;
    assert_eq!(stored, recounted);
    assert!(
        stored.0.iter().any(|r| r.1.is_none() && r.2 >= 9),
        "the other writers' 9 documents at least: {:?}",
        stored.0
    );
}

#[tokio::test]
async fn a_title_weight_counts_the_words_of_titles_and_headings_that_many_times() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let _dir = folder(
        &t.db,
        &a,
        &[
            // "zephyr" in the title (weight A: the document's title and the chunk's heading),
            // in a long chunk...
            (
                "titled.md",
                "# Zephyr gusts\n\nWind reports for sailors cover gusts, fronts, tides, swell, \
                 harbours, moorings, charts and the weather at sea.",
            ),
            // ...and as often in the text of a short one.
            (
                "texted.md",
                "# Winds\n\nA zephyr is mild; a zephyr is warm.",
            ),
        ],
    )
    .await;
    let first = |title_weight: f64| {
        let db = t.db.clone();
        async move {
            let settings = SearchSettings {
                kb_vector_weight: 0.0,
                kb_aggregate: support_agent::knowledge::store::Aggregate::Chunks,
                kb_title_weight: title_weight,
                ..Default::default()
            };
            let hits = search(&db, &WordHashEmbedder, &settings, &a, "zephyr", 2)
                .await
                .expect("search");
            assert_eq!(hits.len(), 2, "{hits:?}");
            hits[0].source.clone()
        }
    };
    // Counted as often, the word weighs more in the shorter chunk; counted five times as often
    // in the title, the title wins.
    assert!(first(1.0).await.ends_with("texted.md"));
    assert!(first(5.0).await.ends_with("titled.md"));
}
