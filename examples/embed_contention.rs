//! EMBED_CONCURRENCY (SECURITY.md D5): how long `search_knowledge` takes — the query embedding
//! included — while another tenant's large ingestion runs in the same process, with the embedder
//! unlimited and with it limited to 1 and 2 slices at once; and what the limit costs the
//! ingestion.
//!
//!     bash scripts/fetch-model.sh
//!     cargo run --release --example embed_contention -- --data ../shared/data/stackfaq
//!
//! Each scenario ingests the StackFAQ corpus (125 threads) into a fresh tenant while a second
//! tenant, whose small knowledge base is already in, searches every 100 ms with StackFAQ's
//! queries. Figures are per search, from the call to the answer.

#[path = "support/bench_db.rs"]
mod bench_db;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::ProgressBar;
use serde::Deserialize;
use support_agent::audit::Transport;
use support_agent::knowledge::embed::LocalEmbedder;
use support_agent::knowledge::{IngestOptions, SearchSettings, SharedEmbedder, ingest};
use support_agent::limits::LimitedEmbedder;
use support_agent::tools::{self, Caller, Ctx, SearchKnowledgeArgs};
use support_agent::users::{self, NewUser};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "../shared/data/stackfaq")]
    data: PathBuf,
    #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
    model_dir: PathBuf,
    #[arg(long, default_value = "support_agent_embed_contention")]
    db: String,
    /// Searches while no ingestion runs, for the baseline.
    #[arg(long, default_value_t = 40)]
    idle_searches: usize,
}

#[derive(Deserialize)]
struct Doc {
    title: String,
    text: String,
}

#[derive(Deserialize)]
struct Query {
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

/// Writes `docs` as Markdown files into a new temporary folder.
fn corpus_dir(docs: &[Doc]) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for (i, d) in docs.iter().enumerate() {
        let body = format!("# {}\n\n{}\n", d.title, d.text);
        std::fs::write(dir.path().join(format!("{i:04}.md")), body)?;
    }
    Ok(dir)
}

async fn tenant(db: &support_agent::Db, name: &str) -> anyhow::Result<support_agent::Tenant> {
    let email = format!("{}-{}@bench.test", name, uuid::Uuid::now_v7().simple());
    let new = NewUser {
        name,
        email: &email,
        password: None,
    };
    Ok(users::store::create(db, &new).await?.0)
}

struct Figures {
    label: String,
    searches: usize,
    p50: f64,
    p99: f64,
    max: f64,
    ingest_chunks_per_s: Option<f64>,
}

fn figures(label: &str, mut ms: Vec<f64>, ingest: Option<f64>) -> Figures {
    ms.sort_by(f64::total_cmp);
    Figures {
        label: label.to_owned(),
        searches: ms.len(),
        p50: bench_db::percentile(&ms, 50.0),
        p99: bench_db::percentile(&ms, 99.0),
        max: ms.last().copied().unwrap_or(f64::NAN),
        ingest_chunks_per_s: ingest,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (owner, db) = bench_db::bench_db(&args.db).await?;
    sqlx::query("TRUNCATE users CASCADE")
        .execute(&owner)
        .await?;
    let model: SharedEmbedder = Arc::new(LocalEmbedder::load(&args.model_dir)?);
    let docs: Vec<Doc> = jsonl(args.data.join("corpus.jsonl"))?;
    let queries: Vec<Query> = jsonl(args.data.join("queries.jsonl"))?;
    let all = corpus_dir(&docs)?;
    let small = corpus_dir(&docs[..10])?;

    // The searching tenant's own small knowledge base.
    let searcher = tenant(&db, "searcher").await?;
    let quiet = ProgressBar::hidden();
    let options = IngestOptions::default();
    let small_paths = vec![small.path().to_path_buf()];
    ingest(
        &db,
        model.as_ref(),
        &searcher,
        &small_paths,
        &options,
        &quiet,
    )
    .await?;

    let mut rows = Vec::new();
    for (label, concurrency) in [
        ("no ingestion (baseline)", None),
        ("ingestion, embedder unlimited", Some(u32::MAX)),
        ("ingestion, EMBED_CONCURRENCY=2 (default)", Some(2)),
        ("ingestion, EMBED_CONCURRENCY=1", Some(1)),
    ] {
        let embedder = match concurrency {
            Some(n) if n < u32::MAX => LimitedEmbedder::wrap(model.clone(), n),
            _ => model.clone(),
        };
        let ctx = Ctx::new(db.clone()).with_knowledge(embedder.clone(), SearchSettings::default());
        let caller = Caller::staff(searcher, Transport::Http);
        let search = |i: usize| {
            let (ctx, q) = (ctx.clone(), queries[i % queries.len()].text.clone());
            async move {
                let started = Instant::now();
                let args = SearchKnowledgeArgs {
                    query: q,
                    limit: Some(5),
                };
                tools::search_knowledge(&ctx, &caller, args).await?;
                anyhow::Ok(started.elapsed().as_secs_f64() * 1000.0)
            }
        };
        let mut ms = Vec::new();
        let mut ingest_rate = None;
        match concurrency {
            None => {
                for i in 0..args.idle_searches {
                    ms.push(search(i).await?);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            Some(_) => {
                let ingester = tenant(&db, "ingester").await?;
                let (db2, e2) = (db.clone(), embedder.clone());
                let paths = vec![all.path().to_path_buf()];
                let job = tokio::spawn(async move {
                    let quiet = ProgressBar::hidden();
                    let opts = IngestOptions::default();
                    ingest(&db2, e2.as_ref(), &ingester, &paths, &opts, &quiet).await
                });
                let mut i = 0;
                while !job.is_finished() {
                    ms.push(search(i).await?);
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                let report = job.await??;
                ingest_rate = Some(report.chunks as f64 / report.seconds);
            }
        }
        rows.push(figures(label, ms, ingest_rate));
    }

    println!("| scenario | searches | search p50 ms | p99 ms | max ms | ingestion chunks/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let rate = r
            .ingest_chunks_per_s
            .map_or("—".to_owned(), |c| format!("{c:.1}"));
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {rate} |",
            r.label, r.searches, r.p50, r.p99, r.max
        );
    }
    Ok(())
}
