//! Retrieval quality on StackFAQ (BEIR layout) with the built-in model: recall@1/5/10 and
//! nDCG@10 for vectors only, full text only, and fused with several weights; and ingestion
//! throughput (chunks/s, embedding vs database time).
//!
//!     bash scripts/fetch-model.sh
//!     cargo run --release --example kb_quality -- --data ../shared/data/stackfaq

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
use support_agent::knowledge::store::{self, SearchQuery};
use support_agent::knowledge::{IngestOptions, ingest};
use support_agent::users::{self, NewUser};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "../shared/data/stackfaq")]
    data: PathBuf,
    #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
    model_dir: PathBuf,
    #[arg(long, default_value = "support_agent_bench_quality")]
    db: String,
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
    let (_owner, db) = bench_db::bench_db(&args.db).await?;
    let embedder = LocalEmbedder::load(&args.model_dir)?;
    let corpus: Vec<Doc> = jsonl(args.data.join("corpus.jsonl"))?;
    let queries: Vec<Query> = jsonl(args.data.join("queries.jsonl"))?;
    let qrels: HashMap<String, String> = std::fs::read_to_string(args.data.join("qrels.tsv"))?
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (q, d) = (f.next()?, f.next()?);
            (q != "query-id").then(|| (q.to_owned(), d.to_owned()))
        })
        .collect();

    // Ingest the corpus as Markdown files through the real ingestion path.
    let dir = tempfile::tempdir()?;
    for d in &corpus {
        std::fs::write(
            dir.path().join(format!("{}.md", d.id)),
            format!("# {}\n\n{}\n", d.title, d.text),
        )?;
    }
    let email = format!(
        "quality-{}@bench.example.com",
        uuid::Uuid::new_v4().simple()
    );
    let (tenant, _) = users::store::create(
        &db,
        &NewUser {
            name: "quality",
            email: &email,
            password: None,
        },
    )
    .await?;
    let report = ingest(
        &db,
        &embedder,
        &tenant,
        &[dir.path().to_path_buf()],
        &IngestOptions::default(),
        &indicatif::ProgressBar::hidden(),
    )
    .await?;
    println!(
        "ingested {} documents, {} chunks in {:.1}s: {:.1} chunks/s overall; embedding {:.1}s \
        ({:.1} chunks/s), database {:.2}s ({:.0} chunks/s)",
        report.documents.added,
        report.chunks,
        report.seconds,
        report.chunks as f64 / report.seconds,
        report.embed_seconds,
        report.chunks as f64 / report.embed_seconds,
        report.db_seconds,
        report.chunks as f64 / report.db_seconds
    );

    let texts: Vec<String> = queries.iter().map(|q| q.text.clone()).collect();
    let started = Instant::now();
    let vectors = embedder.embed_blocking(&texts)?;
    println!(
        "embedded {} queries in {:.1}s",
        texts.len(),
        started.elapsed().as_secs_f64()
    );

    let configs: [(&str, f64, f64, f64); 8] = [
        ("vectors only", 1.0, 0.0, 60.0),
        ("full text only", 0.0, 1.0, 60.0),
        ("fused 1 : 1, k=60", 1.0, 1.0, 60.0),
        ("fused 1 : 0.75, k=60", 1.0, 0.75, 60.0),
        ("fused 1 : 0.5, k=60", 1.0, 0.5, 60.0),
        ("fused 1 : 0.25, k=60", 1.0, 0.25, 60.0),
        ("fused 1 : 0.5, k=20", 1.0, 0.5, 20.0),
        ("fused 1 : 1, k=20", 1.0, 1.0, 20.0),
    ];
    println!("| ranking | recall@1 | recall@5 | recall@10 | nDCG@10 |");
    println!("|---|---|---|---|---|");
    for (name, vw, tw, k) in configs {
        let (mut r1, mut r5, mut r10, mut ndcg) = (0.0, 0.0, 0.0, 0.0);
        for (q, v) in queries.iter().zip(&vectors) {
            let Some(relevant) = qrels.get(&q.id) else {
                continue;
            };
            let docs = ranked_docs(&db, &tenant, &embedder, q, v, vw, tw, k).await?;
            if let Some(rank) = docs.iter().position(|d| d == relevant) {
                r1 += f64::from(u8::from(rank < 1));
                r5 += f64::from(u8::from(rank < 5));
                r10 += f64::from(u8::from(rank < 10));
                if rank < 10 {
                    ndcg += 1.0 / ((rank + 2) as f64).log2();
                }
            }
        }
        let n = queries.iter().filter(|q| qrels.contains_key(&q.id)).count() as f64;
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} |",
            r1 / n,
            r5 / n,
            r10 / n,
            ndcg / n
        );
    }
    Ok(())
}

/// The first ten distinct corpus ids among the top chunks.
#[allow(clippy::too_many_arguments)]
async fn ranked_docs(
    db: &support_agent::Db,
    tenant: &Tenant,
    embedder: &LocalEmbedder,
    q: &Query,
    v: &[f32],
    vector_weight: f64,
    text_weight: f64,
    rrf_k: f64,
) -> anyhow::Result<Vec<String>> {
    let mut tx = db.begin(tenant).await?;
    let hits = store::search(
        &mut tx,
        &SearchQuery {
            text: &q.text,
            embedding: v,
            model: embedder.model(),
            limit: 20,
            candidates: 40,
            vector_weight,
            text_weight,
            rrf_k,
            ef_search: 100,
            exact_max_chunks: 10_000,
        },
    )
    .await?;
    tx.commit().await?;
    let mut docs: Vec<String> = Vec::new();
    for h in hits.into_iter().filter(|h| h.score > 0.0) {
        let id = std::path::Path::new(&h.source)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !docs.contains(&id) {
            docs.push(id);
        }
    }
    docs.truncate(10);
    Ok(docs)
}
