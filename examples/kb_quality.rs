//! Retrieval quality on any BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels.tsv) with the
//! built-in model, through the real ingestion and search path: recall@1/5/10 and nDCG@10 for
//! each candidate ranking (vectors only, full text only, fused several ways), ingestion
//! throughput, and the search statement's latency for a tenant of `--latency-chunks` chunks.
//!
//!     bash scripts/fetch-model.sh
//!     cargo run --release --example kb_quality -- --data ../shared/data/stackfaq
//!     cargo run --release --example kb_quality -- --data ../shared/data/scifact-train
//!
//! Each dataset is ingested once into its own scratch database (`support_agent_kb_<folder>`)
//! and reused by later runs (unchanged files are skipped by their hashes).

#[path = "support/bench_db.rs"]
#[allow(dead_code)]
mod bench_db;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use serde::Deserialize;
use support_agent::Tenant;
use support_agent::knowledge::embed::{Embedder, LocalEmbedder};
use support_agent::knowledge::eval::{self, Judgements, Scores};
use support_agent::knowledge::search::{DEFAULT_RANKING, SearchSettings};
use support_agent::knowledge::store::{self, Aggregate, Fusion, Ranking, TextRanking};
use support_agent::knowledge::{IngestOptions, ingest};
use support_agent::users::{self, NewUser};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "../shared/data/stackfaq")]
    data: PathBuf,
    #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
    model_dir: PathBuf,
    /// Scratch database; by default `support_agent_kb_<folder name>`, one per dataset.
    #[arg(long)]
    db: Option<String>,
    /// Only the first this many judged queries.
    #[arg(long)]
    max_queries: Option<usize>,
    /// Print the plan of the default search for the first query.
    #[arg(long)]
    explain: bool,
    /// Search what an earlier run ingested, without ingesting (e.g. while one still runs).
    #[arg(long)]
    skip_ingest: bool,
    /// Ingest only (the corpus is then reused by later runs).
    #[arg(long)]
    ingest_only: bool,
    /// Ingest only this many documents: every judged document first, then the others in a
    /// fixed pseudo-random order (so a larger value later adds to the same scratch database).
    /// The figures are then for that part of the corpus, not the whole.
    #[arg(long)]
    max_docs: Option<usize>,
    /// Only the rankings whose label contains this text (or one of several, `a|b`).
    #[arg(long)]
    only: Option<String>,
    /// Also time the default search statement for a tenant holding this many of the corpus's
    /// chunks (copied, with their vectors, from the first documents); 0 skips it.
    #[arg(long, default_value_t = 1000)]
    latency_chunks: i64,
    /// Start from an empty database, to measure ingestion (otherwise the corpus, unchanged since
    /// the last run, is skipped by its content hashes).
    #[arg(long)]
    fresh: bool,
    /// Cut chunks of at most this many tokens (default: the model's window less the
    /// breadcrumb). A chunking other than the one a database was ingested with needs a
    /// database of its own (`--db`): unchanged files are not cut again.
    #[arg(long)]
    chunk_tokens: Option<usize>,
    /// Time what a reranking stage would add for this many queries: a cross-encoder of the
    /// built-in model's size (6 layers, 384 wide, like ms-marco-MiniLM-L-6) reads each of the
    /// 20 results with the query as one sequence, which costs what embedding those 20
    /// concatenations costs (the score head is negligible); 0 skips it.
    #[arg(long, default_value_t = 0)]
    rerank_cost: usize,
    /// Share of a chunk repeated at the start of the next, in percent.
    #[arg(long, default_value_t = support_agent::knowledge::chunk::Sizes::default().overlap_percent)]
    chunk_overlap: usize,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "_id")]
    id: String,
    title: String,
    text: String,
}

#[derive(Deserialize)]
struct Query {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

/// The dataset folder's name, lower-cased, with anything but letters and digits as `_`.
fn dataset_name(data: &std::path::Path) -> String {
    let name = std::fs::canonicalize(data)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "data".into());
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn jsonl<T: for<'de> Deserialize<'de>>(path: PathBuf) -> anyhow::Result<Vec<T>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let name = dataset_name(&args.data);
    let db_name = args
        .db
        .clone()
        .unwrap_or_else(|| format!("support_agent_kb_{name}"));
    let (owner, db) = bench_db::bench_db(&db_name).await?;
    if args.fresh {
        sqlx::query("TRUNCATE users CASCADE")
            .execute(&owner)
            .await?;
    }
    let embedder = LocalEmbedder::load(&args.model_dir)?;
    let mut corpus: Vec<Doc> = jsonl(args.data.join("corpus.jsonl"))?;
    let queries: Vec<Query> = jsonl(args.data.join("queries.jsonl"))?;
    let qrels: HashMap<String, Judgements> =
        eval::parse_qrels(&std::fs::read_to_string(args.data.join("qrels.tsv"))?);
    let queries: Vec<Query> = queries
        .into_iter()
        .filter(|q| qrels.contains_key(&q.id))
        .take(args.max_queries.unwrap_or(usize::MAX))
        .collect();

    if let Some(max) = args.max_docs {
        let judged: std::collections::HashSet<&String> =
            qrels.values().flat_map(|j| j.keys()).collect();
        let key = |d: &Doc| {
            use sha2::Digest;
            let h = sha2::Sha256::digest(d.id.as_bytes());
            (
                !judged.contains(&d.id),
                u64::from_le_bytes(h[..8].try_into().unwrap_or_default()),
            )
        };
        corpus.sort_by_key(|d| key(d));
        corpus.truncate(max);
        println!(
            "using {} documents of the corpus (every judged one first)",
            corpus.len()
        );
    }
    // Ingest the corpus as Markdown files through the real ingestion path.
    // Rewritten every run (byte for byte the same, so unchanged files are skipped by hash);
    // with `--db`, a folder of that database's own, so that runs on two databases never share one.
    let dir = std::env::temp_dir().join(match &args.db {
        None => format!("support-agent-kb-{name}"),
        Some(db) => format!("support-agent-kb-{name}-{db}"),
    });
    if !args.skip_ingest {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        for d in &corpus {
            let text = format!("# {}\n\n{}\n", d.title, d.text);
            std::fs::write(dir.join(format!("{}.md", d.id)), text)?;
        }
    }
    let email = "quality@bench.example.com";
    let existing: Option<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&owner)
        .await?;
    let tenant = match existing {
        Some(id) => Tenant::from_trusted_operator_input(id),
        None => {
            let new = NewUser {
                name: "quality",
                email,
                password: None,
            };
            users::store::create(&db, &new).await?.0
        }
    };
    let report = if args.skip_ingest {
        Default::default()
    } else {
        ingest(
            &db,
            &embedder,
            &tenant,
            &[dir],
            &IngestOptions {
                chunking: support_agent::knowledge::chunk::Sizes {
                    max_tokens: args.chunk_tokens,
                    overlap_percent: args.chunk_overlap,
                },
                ..IngestOptions::default()
            },
            &indicatif::ProgressBar::hidden(),
        )
        .await?
    };
    println!(
        "ingested {} documents ({} unchanged), {} chunks in {:.1}s: {:.1} chunks/s overall; embedding {:.1}s \
        ({:.1} chunks/s), database {:.2}s ({:.0} chunks/s)",
        report.documents.added,
        report.documents.unchanged,
        report.chunks,
        report.seconds,
        report.chunks as f64 / report.seconds,
        report.embed_seconds,
        report.chunks as f64 / report.embed_seconds,
        report.db_seconds,
        report.chunks as f64 / report.db_seconds
    );

    let (chunk_count, chunk_chars): (i64, Option<f64>) =
        sqlx::query_as("SELECT count(*), avg(length(text))::float8 FROM chunks WHERE user_id = $1")
            .bind(tenant.id())
            .fetch_one(&owner)
            .await?;
    println!(
        "the knowledge base holds {chunk_count} chunks of {:.0} characters on average",
        chunk_chars.unwrap_or(0.0)
    );
    if args.ingest_only {
        return Ok(());
    }
    // Only the queries whose judged documents are all in the tenant's knowledge base (all of
    // them once the whole corpus is in).
    let present: std::collections::HashSet<String> = {
        let mut tx = db.begin(&tenant).await?;
        let docs = store::list(&mut tx).await?;
        tx.commit().await?;
        docs.iter()
            .filter_map(|d| std::path::Path::new(&d.source).file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    };
    let total = queries.len();
    let queries: Vec<Query> = queries
        .into_iter()
        .filter(|q| qrels[&q.id].keys().all(|d| present.contains(d)))
        .collect();
    println!(
        "{} documents in the knowledge base; {} of {total} queries have every judged document there",
        present.len(),
        queries.len()
    );
    let texts: Vec<String> = queries.iter().map(|q| q.text.clone()).collect();
    let started = Instant::now();
    let vectors = embedder.embed_blocking(&texts)?;
    println!(
        "embedded {} queries in {:.1}s",
        texts.len(),
        started.elapsed().as_secs_f64()
    );

    let settings = SearchSettings::default();
    if args.explain {
        let mut tx = db.begin(&tenant).await?;
        let query = settings.query(&queries[0].text, &vectors[0], embedder.model(), 5);
        for line in store::explain(&mut tx, &query).await? {
            println!("  {line}");
        }
        tx.commit().await?;
    }
    println!("| ranking | recall@1 | recall@5 | recall@10 | nDCG@10 |");
    println!("|---|---|---|---|---|");
    for (name, ranking) in rankings() {
        if args
            .only
            .as_deref()
            .is_some_and(|o| !o.split('|').any(|part| name.contains(part)))
        {
            continue;
        }
        let mut scores = Scores::default();
        for (q, v) in queries.iter().zip(&vectors) {
            let docs =
                ranked_docs(&db, &tenant, &settings, embedder.model(), q, v, ranking).await?;
            scores.add(&docs, &qrels[&q.id]);
        }
        let m = scores.means();
        println!(
            "| {name} | {:.4} | {:.4} | {:.4} | {:.4} |",
            m.recall_1, m.recall_5, m.recall_10, m.ndcg_10
        );
    }
    if args.rerank_cost > 0 {
        rerank_cost(
            &db,
            &tenant,
            &settings,
            &embedder,
            &queries[..args.rerank_cost.min(queries.len())],
            &vectors,
        )
        .await?;
    }
    if args.latency_chunks > 0 {
        latency(
            &owner,
            &db,
            &tenant,
            &settings,
            embedder.model(),
            &queries,
            &vectors,
            args.latency_chunks,
        )
        .await?;
    }
    Ok(())
}

/// The rankings compared, each with the label its table row gets.
fn rankings() -> Vec<(String, Ranking)> {
    let base = DEFAULT_RANKING;
    let r = |text_ranking, fusion, aggregate, vw, tw, k| Ranking {
        text_ranking,
        fusion,
        aggregate,
        vector_weight: vw,
        text_weight: tw,
        rrf_k: k,
        title_weight: 1.0,
        agreement: false,
    };
    use Aggregate::{Chunks, DocumentMax, DocumentSum2};
    use Fusion::{MinMax, Rrf, ZScore};
    use TextRanking::{Bm25, TsRank};
    let mut out: Vec<(String, Ranking)> = vec![
        (
            "vectors only, chunks".into(),
            r(Bm25, Rrf, Chunks, 1.0, 0.0, 60.0),
        ),
        (
            "vectors only, documents (max)".into(),
            r(Bm25, Rrf, DocumentMax, 1.0, 0.0, 60.0),
        ),
        (
            "ts_rank only, chunks".into(),
            r(TsRank, Rrf, Chunks, 0.0, 1.0, 60.0),
        ),
        (
            "BM25 only, chunks".into(),
            r(Bm25, Rrf, Chunks, 0.0, 1.0, 60.0),
        ),
        (
            "BM25 only, documents (max)".into(),
            r(Bm25, Rrf, DocumentMax, 0.0, 1.0, 60.0),
        ),
        (
            "BM25 only, documents (sum of 2)".into(),
            r(Bm25, Rrf, DocumentSum2, 0.0, 1.0, 60.0),
        ),
        (
            "old default: ts_rank, RRF 1 : 0.1 k=5, chunks".into(),
            r(TsRank, Rrf, Chunks, 1.0, 0.1, 5.0),
        ),
        (
            "ts_rank, RRF 1 : 1 k=60, chunks".into(),
            r(TsRank, Rrf, Chunks, 1.0, 1.0, 60.0),
        ),
        (
            "ts_rank, RRF 1 : 1 k=60, documents (max)".into(),
            r(TsRank, Rrf, DocumentMax, 1.0, 1.0, 60.0),
        ),
        (
            "BM25, RRF 1 : 1 k=60, chunks".into(),
            r(Bm25, Rrf, Chunks, 1.0, 1.0, 60.0),
        ),
        (
            "BM25, RRF 1 : 1 k=60, documents (max)".into(),
            r(Bm25, Rrf, DocumentMax, 1.0, 1.0, 60.0),
        ),
        (
            "BM25, RRF 1 : 1 k=60, documents (sum of 2)".into(),
            r(Bm25, Rrf, DocumentSum2, 1.0, 1.0, 60.0),
        ),
        (
            "BM25, RRF 1 : 0.5 k=60, documents (max)".into(),
            r(Bm25, Rrf, DocumentMax, 1.0, 0.5, 60.0),
        ),
        (
            "BM25, RRF 1 : 0.25 k=60, documents (max)".into(),
            r(Bm25, Rrf, DocumentMax, 1.0, 0.25, 60.0),
        ),
        (
            "BM25, RRF 1 : 0.5 k=10, documents (max)".into(),
            r(Bm25, Rrf, DocumentMax, 1.0, 0.5, 10.0),
        ),
        (
            "BM25, min-max 0.5 : 0.5, documents (max)".into(),
            r(Bm25, MinMax, DocumentMax, 0.5, 0.5, 60.0),
        ),
        (
            "BM25, min-max 0.7 : 0.3, documents (max)".into(),
            r(Bm25, MinMax, DocumentMax, 0.7, 0.3, 60.0),
        ),
        (
            "BM25, z-score 1 : 1, documents (max)".into(),
            r(Bm25, ZScore, DocumentMax, 1.0, 1.0, 60.0),
        ),
        (
            "BM25, z-score 1 : 0.5, documents (max)".into(),
            r(Bm25, ZScore, DocumentMax, 1.0, 0.5, 60.0),
        ),
        (
            "BM25, z-score 1 : 0.5, chunks".into(),
            r(Bm25, ZScore, Chunks, 1.0, 0.5, 60.0),
        ),
        (
            "BM25, z-score 1 : 0.3, chunks".into(),
            r(Bm25, ZScore, Chunks, 1.0, 0.3, 60.0),
        ),
        (
            "BM25, z-score 1 : 0.7, chunks".into(),
            r(Bm25, ZScore, Chunks, 1.0, 0.7, 60.0),
        ),
        (
            "BM25, z-score 1 : 0.3, documents (max)".into(),
            r(Bm25, ZScore, DocumentMax, 1.0, 0.3, 60.0),
        ),
        (
            "BM25, z-score 1 : 0.7, documents (max)".into(),
            r(Bm25, ZScore, DocumentMax, 1.0, 0.7, 60.0),
        ),
        (
            "BM25, min-max 0.8 : 0.2, documents (max)".into(),
            r(Bm25, MinMax, DocumentMax, 0.8, 0.2, 60.0),
        ),
        (
            "BM25, min-max 0.7 : 0.3, chunks".into(),
            r(Bm25, MinMax, Chunks, 0.7, 0.3, 60.0),
        ),
        (
            "BM25, RRF 1 : 0.5 k=60, chunks".into(),
            r(Bm25, Rrf, Chunks, 1.0, 0.5, 60.0),
        ),
        (
            "ts_rank, z-score 1 : 0.5, chunks".into(),
            r(TsRank, ZScore, Chunks, 1.0, 0.5, 60.0),
        ),
    ];
    let mut agree = r(Bm25, Rrf, DocumentMax, 1.0, 1.0, 60.0);
    agree.agreement = true;
    out.push((
        "BM25, RRF 1 : 1 × agreement k=60, documents (max)".into(),
        agree,
    ));
    let mut agree = r(Bm25, ZScore, DocumentMax, 1.0, 0.5, 60.0);
    agree.agreement = true;
    out.push((
        "BM25, z-score 1 : 0.5 × agreement, documents (max)".into(),
        agree,
    ));
    for w in [2.0, 3.0] {
        let mut t = r(Bm25, Rrf, DocumentMax, 0.0, 1.0, 60.0);
        t.title_weight = w;
        out.push((format!("BM25 only, title × {w}, documents (max)"), t));
        let mut t = r(Bm25, Rrf, DocumentMax, 1.0, 1.0, 60.0);
        t.title_weight = w;
        out.push((
            format!("BM25, RRF 1 : 1 k=60, title × {w}, documents (max)"),
            t,
        ));
    }
    out.push(("**default**".into(), base));
    out
}

/// The first ten distinct corpus ids among the top chunks.
async fn ranked_docs(
    db: &support_agent::Db,
    tenant: &Tenant,
    settings: &SearchSettings,
    model: &str,
    q: &Query,
    v: &[f32],
    ranking: Ranking,
) -> anyhow::Result<Vec<String>> {
    let hits = top_20(db, tenant, settings, model, q, v, ranking).await?;
    let ids = hits.into_iter().map(|h| {
        std::path::Path::new(&h.source)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    Ok(eval::distinct(ids, 10))
}

/// The 20 best chunks for `q` (embedded as `v`) under `ranking`.
async fn top_20(
    db: &support_agent::Db,
    tenant: &Tenant,
    settings: &SearchSettings,
    model: &str,
    q: &Query,
    v: &[f32],
    ranking: Ranking,
) -> anyhow::Result<Vec<support_agent::knowledge::SearchHit>> {
    let mut query = settings.query(&q.text, v, model, 20);
    query.ranking = ranking;
    let mut tx = db.begin(tenant).await?;
    let hits = store::search(&mut tx, &query).await?;
    tx.commit().await?;
    Ok(hits)
}

/// Times reading the default search's 20 results with each query, as a cross-encoder would.
async fn rerank_cost(
    db: &support_agent::Db,
    tenant: &Tenant,
    settings: &SearchSettings,
    embedder: &LocalEmbedder,
    queries: &[Query],
    vectors: &[Vec<f32>],
) -> anyhow::Result<()> {
    let mut times = Vec::new();
    let (mut tokens, mut read) = (0usize, 0usize);
    for (q, v) in queries.iter().zip(vectors) {
        let hits = top_20(
            db,
            tenant,
            settings,
            embedder.model(),
            q,
            v,
            DEFAULT_RANKING,
        )
        .await?;
        let pairs: Vec<String> = hits
            .iter()
            .map(|h| format!("{}\n{}\n{}", q.text, h.title, h.text))
            .collect();
        tokens += pairs
            .iter()
            .map(|p| embedder.count_tokens(p).min(254) + 2)
            .sum::<usize>();
        read += pairs.len();
        let started = Instant::now();
        embedder.embed_blocking(&pairs)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "reranking cost, {} queries × 20 (query, result) pairs, {:.0} tokens a pair: p50 {:.1} ms, p99 {:.1} ms a query",
        times.len(),
        tokens as f64 / read.max(1) as f64,
        bench_db::percentile(&times, 50.0),
        bench_db::percentile(&times, 99.0)
    );
    Ok(())
}

/// Times the default search statement (BEGIN with the tenant context, the size check, the
/// statement, COMMIT) for a tenant holding `chunks` of the corpus's chunks, over the queries.
#[allow(clippy::too_many_arguments)]
async fn latency(
    owner: &sqlx::PgPool,
    db: &support_agent::Db,
    tenant: &Tenant,
    settings: &SearchSettings,
    model: &str,
    queries: &[Query],
    vectors: &[Vec<f32>],
    chunks: i64,
) -> anyhow::Result<()> {
    let email = format!("latency-{chunks}@bench.example.com");
    let existing: Option<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(owner)
        .await?;
    let small = match existing {
        Some(id) => Tenant::from_trusted_operator_input(id),
        None => {
            let new = NewUser {
                name: "latency",
                email: &email,
                password: None,
            };
            let small = users::store::create(db, &new).await?.0;
            // The first documents whose chunks add up to `chunks`, copied with their vectors.
            // The owner reads every tenant (operator_read) and writes as the new one.
            let mut tx = owner.begin().await?;
            sqlx::query("SELECT set_config('app.current_user_id', $1, true)")
                .bind(small.id().to_string())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO documents (user_id, id, source, title, kind, content_sha256, chunk_count) \
                 SELECT $2, d.id, d.source, d.title, d.kind, d.content_sha256, d.chunk_count \
                 FROM (SELECT *, sum(chunk_count) OVER (ORDER BY source) AS running \
                       FROM documents WHERE user_id = $1) d WHERE d.running <= $3",
            )
            .bind(tenant.id())
            .bind(small.id())
            .bind(chunks)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO chunks (user_id, id, document_id, ordinal, heading_path, text, tsv, \
                                     embed_model, embed_dims, embedding) \
                 SELECT $2, c.id, c.document_id, c.ordinal, c.heading_path, c.text, c.tsv, \
                        c.embed_model, c.embed_dims, c.embedding \
                 FROM chunks c JOIN documents d ON d.user_id = $2 AND d.id = c.document_id \
                 WHERE c.user_id = $1",
            )
            .bind(tenant.id())
            .bind(small.id())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            // The copy went round the store: its BM25 statistics are counted once, here.
            let mut tx = db.begin(&small).await?;
            store::recount_terms(&mut tx).await?;
            tx.commit().await?;
            sqlx::query("ANALYZE chunks").execute(owner).await?;
            small
        }
    };
    let size: i64 = sqlx::query_scalar("SELECT count(*) FROM chunks WHERE user_id = $1")
        .bind(small.id())
        .fetch_one(owner)
        .await?;
    for (name, ranking) in [
        (
            "old default",
            Ranking {
                text_ranking: TextRanking::TsRank,
                fusion: Fusion::Rrf,
                aggregate: Aggregate::Chunks,
                vector_weight: 1.0,
                text_weight: 0.1,
                rrf_k: 5.0,
                title_weight: 1.0,
                agreement: false,
            },
        ),
        ("default", DEFAULT_RANKING),
    ] {
        // Whole: BEGIN with the tenant context … COMMIT. Statement: `store::search` alone, the
        // size check that picks the path and the search statement.
        let (mut whole, mut statement) = (Vec::new(), Vec::new());
        for round in 0..2 {
            for (q, v) in queries.iter().zip(vectors) {
                let mut query = settings.query(&q.text, v, model, 5);
                query.ranking = ranking;
                let started = Instant::now();
                let mut tx = db.begin(&small).await?;
                let searched = Instant::now();
                let _ = store::search(&mut tx, &query).await?;
                let searched = searched.elapsed();
                tx.commit().await?;
                if round == 1 {
                    whole.push(started.elapsed().as_secs_f64() * 1000.0);
                    statement.push(searched.as_secs_f64() * 1000.0);
                }
            }
        }
        whole.sort_by(f64::total_cmp);
        statement.sort_by(f64::total_cmp);
        println!(
            "latency, {name}, tenant of {size} chunks, {} queries, limit 5: p50 {:.2} ms, p99 {:.2} ms \
             (the statement and its size check: p50 {:.2} ms, p99 {:.2} ms)",
            whole.len(),
            bench_db::percentile(&whole, 50.0),
            bench_db::percentile(&whole, 99.0),
            bench_db::percentile(&statement, 50.0),
            bench_db::percentile(&statement, 99.0)
        );
    }
    Ok(())
}
