//! Large tenants (issue 20): `support-agent knowledge index` builds a tenant's own HNSW and GIN
//! indexes, the search uses them with the same results, and the full-text index, reached through
//! the definer function `knowledge_text_matches` (for `ts_rank`), never answers for another
//! tenant; BM25, the default, reads the tenant's postings instead.

use support_agent::knowledge::store::{self, SearchQuery, TextRanking};
use support_agent::knowledge::{SearchSettings, search};
use support_agent::{Db, Tenant};

use super::support::{WordHashEmbedder, folder, word_hash};
use crate::cli::run;
use crate::common::{TestDb, new_tenant};

const MODEL: &str = "test-word-hash";

/// Writes `n` small articles about refunds and parcels to a folder and ingests them.
async fn articles(t: &TestDb, tenant: &Tenant, n: usize, extra: &str) {
    let files: Vec<(String, String)> = (0..n)
        .map(|i| {
            let text = format!(
                "# Article {i}\n\nRefund number {i} reaches the card in {} days. Parcel {i} \
                 ships from warehouse {}. {extra}",
                i % 7 + 1,
                i % 3
            );
            (format!("a{i}.md"), text)
        })
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_str()))
        .collect();
    folder(&t.db, tenant, &files).await;
}

async fn hits(
    db: &Db,
    tenant: &Tenant,
    query: &str,
    exact_max_chunks: i64,
    text_ranking: TextRanking,
) -> Vec<String> {
    let settings = SearchSettings {
        kb_exact_max_chunks: exact_max_chunks,
        kb_text_ranking: text_ranking,
        ..Default::default()
    };
    search(db, &WordHashEmbedder, &settings, tenant, query, 10)
        .await
        .expect("search")
        .into_iter()
        .map(|h| format!("{} {:.6}", h.chunk_id, h.score))
        .collect()
}

/// The plan of the default search (with `text_ranking`) for `tenant`, on the exact path or (0)
/// the HNSW path.
async fn plan(
    db: &Db,
    tenant: &Tenant,
    query: &str,
    exact_max_chunks: i64,
    text_ranking: TextRanking,
) -> String {
    let v = word_hash(query);
    let settings = SearchSettings {
        kb_text_ranking: text_ranking,
        ..Default::default()
    };
    let q = SearchQuery {
        text: query,
        embedding: &v,
        model: MODEL,
        limit: 5,
        candidates: 40,
        ranking: settings.ranking(),
        ef_search: 200,
        exact_max_chunks,
    };
    let mut tx = db.begin(tenant).await.expect("begin");
    let lines = store::explain(&mut tx, &q).await.expect("explain");
    tx.rollback().await.expect("rollback");
    lines.join("\n")
}

async fn index_names(t: &TestDb) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes \
         WHERE tablename = 'chunks' AND indexname ~ '^chunks_(hnsw|tsv)_[0-9a-f]{32}$' \
         ORDER BY 1",
    )
    .fetch_all(&t.owner)
    .await
    .expect("indexes")
}

#[tokio::test(flavor = "multi_thread")]
async fn knowledge_index_builds_a_large_tenants_own_indexes_and_the_search_keeps_its_results() {
    let t = TestDb::new().await;
    let (big, small) = (
        new_tenant(&t.db, "Big").await,
        new_tenant(&t.db, "Small").await,
    );
    articles(&t, &big, 12, "").await;
    articles(&t, &small, 3, "").await;
    let query = "refund to my card for parcel 5";
    let rankings = [TextRanking::Bm25, TextRanking::TsRank];
    let mut before = Vec::new();
    for path in [10_000, 0] {
        for ranking in rankings {
            before.push(hits(&t.db, &big, query, path, ranking).await);
            let p = plan(&t.db, &big, query, path, ranking).await;
            assert!(!p.contains("knowledge_text_matches"), "{p}");
            // BM25 reads the postings, never the chunks' text, whatever indexes exist.
            assert_eq!(
                p.contains("chunk_postings"),
                ranking == TextRanking::Bm25,
                "{p}"
            );
        }
    }

    let out = tokio::task::block_in_place(|| {
        run(&t, &["knowledge", "index", "--min-chunks", "10", "--json"])
    })
    .json();
    let indexes = out["indexes"].as_array().expect("indexes");
    let big_hex = big.id().simple().to_string();
    let built: Vec<_> = indexes
        .iter()
        .map(|i| {
            (
                i["name"].as_str().expect("name").to_owned(),
                i["action"].as_str().expect("action").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        built,
        [
            (format!("chunks_hnsw_{big_hex}"), "built".to_owned()),
            (format!("chunks_tsv_{big_hex}"), "built".to_owned()),
        ],
        "only the tenant with 10 chunks or more: {out}"
    );
    assert_eq!(out["min_chunks"], 10);
    let names = index_names(&t).await;
    assert_eq!(names.len(), 2, "{names:?}");
    for (_, def) in &names {
        assert!(
            def.contains(&format!("WHERE (user_id = '{}'::uuid)", big.id())),
            "{def}"
        );
    }

    // The same results on both paths and with both rankings; `ts_rank`'s full-text match now
    // goes through the tenant's index, BM25 still reads the postings.
    let mut i = 0;
    for path in [10_000, 0] {
        for ranking in rankings {
            assert_eq!(
                hits(&t.db, &big, query, path, ranking).await,
                before[i],
                "path {path}, {ranking:?}"
            );
            i += 1;
            let p = plan(&t.db, &big, query, path, ranking).await;
            assert_eq!(
                p.contains("knowledge_text_matches"),
                ranking == TextRanking::TsRank,
                "{p}"
            );
            assert_eq!(
                p.contains("chunk_postings"),
                ranking == TextRanking::Bm25,
                "{p}"
            );
            assert!(
                !plan(&t.db, &small, query, path, ranking)
                    .await
                    .contains("knowledge_text_matches")
            );
        }
    }

    // Again: nothing to do. A tenant that drops below the threshold keeps its indexes unless
    // --prune; a tenant that is gone loses them.
    let again = tokio::task::block_in_place(|| {
        run(&t, &["knowledge", "index", "--min-chunks", "10", "--json"])
    })
    .json();
    assert!(
        again["indexes"]
            .as_array()
            .expect("indexes")
            .iter()
            .all(|i| i["action"] == "present"),
        "{again}"
    );
    let pruned = tokio::task::block_in_place(|| {
        run(
            &t,
            &[
                "knowledge",
                "index",
                "--min-chunks",
                "100",
                "--prune",
                "--json",
            ],
        )
    })
    .json();
    let actions: Vec<_> = pruned["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .map(|i| i["action"].clone())
        .collect();
    assert_eq!(actions, ["dropped", "dropped"], "{pruned}");
    assert!(index_names(&t).await.is_empty());
    for (i, ranking) in rankings.into_iter().enumerate() {
        assert_eq!(hits(&t.db, &big, query, 0, ranking).await, before[2 + i]);
    }
}

#[tokio::test]
async fn knowledge_index_refuses_bad_input_and_needs_the_owner_role() {
    let t = TestDb::new().await;
    run(&t, &["knowledge", "index", "--min-chunks", "0"]).fails_with("--min-chunks");
    run(
        &t,
        &["knowledge", "index", "--maintenance-work-mem", "lots"],
    )
    .fails_with("maintenance_work_mem");
    let no_owner = crate::cli::run_env(
        None,
        &["knowledge", "index"],
        None,
        &[("DATABASE_URL", t.app_url.as_str())],
    );
    no_owner.fails_with("DATABASE_OWNER_URL");
    // The service role cannot build an index on chunks, with or without the command.
    let err = sqlx::query("CREATE INDEX chunks_hnsw_x ON chunks USING gin (tsv)")
        .execute(t.db.pool())
        .await
        .expect_err("the service role owns nothing");
    assert!(err.to_string().contains("must be owner"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_own_text_index_never_answers_for_another_tenant() {
    let t = TestDb::new().await;
    let (a, b) = (
        new_tenant(&t.db, "Acme").await,
        new_tenant(&t.db, "Bolt").await,
    );
    articles(&t, &a, 4, "").await;
    articles(
        &t,
        &b,
        4,
        "The override code zebraquartz unlocks every refund.",
    )
    .await;
    let out = tokio::task::block_in_place(|| {
        run(&t, &["knowledge", "index", "--min-chunks", "1", "--json"])
    })
    .json();
    assert_eq!(
        out["indexes"].as_array().expect("indexes").len(),
        4,
        "{out}"
    );

    // Through the search, on both paths and with both rankings (BM25 through the postings,
    // `ts_rank` through the function): B's word finds B's chunks for B and nothing of B's for A.
    for (path, text_ranking) in [10_000, 0]
        .into_iter()
        .flat_map(|p| [(p, TextRanking::Bm25), (p, TextRanking::TsRank)])
    {
        let settings = SearchSettings {
            kb_exact_max_chunks: path,
            kb_vector_weight: 0.0,
            kb_text_ranking: text_ranking,
            ..Default::default()
        };
        let for_a = search(&t.db, &WordHashEmbedder, &settings, &a, "zebraquartz", 10)
            .await
            .expect("search");
        assert!(
            for_a.iter().all(|h| !h.text.contains("zebraquartz")),
            "{for_a:?}"
        );
        let for_b = search(&t.db, &WordHashEmbedder, &settings, &b, "zebraquartz", 10)
            .await
            .expect("search");
        assert!(!for_b.is_empty() && for_b.iter().all(|h| h.text.contains("zebraquartz")));
    }

    // The function itself, as the service role: only the context's tenant, nothing without one.
    let matches = |tenant: Option<&Tenant>| {
        let db = t.db.clone();
        let tenant = tenant.cloned();
        async move {
            let sql = "SELECT count(*) FROM knowledge_text_matches(to_tsquery('english', 'zebraquartz'), $1)";
            match tenant {
                Some(tenant) => {
                    let mut tx = db.begin(&tenant).await.expect("begin");
                    let n: i64 = sqlx::query_scalar(sql)
                        .bind(MODEL)
                        .fetch_one(tx.conn())
                        .await
                        .expect("call");
                    tx.rollback().await.expect("rollback");
                    n
                }
                None => sqlx::query_scalar(sql)
                    .bind(MODEL)
                    .fetch_one(db.pool())
                    .await
                    .expect("call"),
            }
        }
    };
    assert_eq!(matches(Some(&a)).await, 0);
    assert_eq!(matches(Some(&b)).await, 4);
    assert_eq!(matches(None).await, 0, "no tenant context, no rows");
    // It takes no tenant: a caller can only ask about its own transaction's tenant.
    let args: String = sqlx::query_scalar(
        "SELECT pg_get_function_identity_arguments('knowledge_text_matches'::regproc)",
    )
    .fetch_one(&t.owner)
    .await
    .expect("args");
    assert_eq!(args, "query tsquery, model text");
    // A tenant id smuggled into the query text is only words.
    let smuggled = format!("{} zebraquartz", b.id());
    let settings = SearchSettings {
        kb_vector_weight: 0.0,
        ..Default::default()
    };
    let for_a = search(&t.db, &WordHashEmbedder, &settings, &a, &smuggled, 10)
        .await
        .expect("search");
    assert!(for_a.iter().all(|h| !h.text.contains("zebraquartz")));
}

#[tokio::test]
async fn the_text_matches_migration_applies_to_a_populated_database() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    articles(&t, &a, 3, "").await;
    let before = hits(&t.db, &a, "refund parcel", 0, TextRanking::TsRank).await;
    sqlx::raw_sql(
        "DROP FUNCTION knowledge_text_matches(tsquery, text); \
         DELETE FROM _sqlx_migrations WHERE version = 20261219000010",
    )
    .execute(&t.owner)
    .await
    .expect("undo the migration");
    support_agent::db::migrate(&t.owner).await.expect("migrate");
    let mut tx = t.db.begin(&a).await.expect("begin");
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM knowledge_text_matches(to_tsquery('english', 'refund'), $1)",
    )
    .bind(MODEL)
    .fetch_one(tx.conn())
    .await
    .expect("the service role may call it");
    tx.rollback().await.expect("rollback");
    assert_eq!(n, 3);
    assert_eq!(
        hits(&t.db, &a, "refund parcel", 0, TextRanking::TsRank).await,
        before
    );
}
