//! Knowledge search at scale: N tenants sharing M chunks (synthetic clustered vectors), search
//! latency p50/p99 for a large and a tiny tenant, and recall@10 of the HNSW path against exact
//! search. Builds its own database (`--db`, default support_agent_kb_scale) once and reuses it.
//!
//!     cargo run --release --example kb_scale -- --tenants 1000 --chunks 1000000

#[path = "support/bench_db.rs"]
mod bench_db;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::time::Instant;

use clap::Parser;
use rand::SeedableRng;
use rand::rngs::StdRng;
use support_agent::knowledge::search::DEFAULT_RANKING;
use support_agent::knowledge::store::{self, Ranking, SearchQuery};
use support_agent::{Db, Tenant};

const MODEL: &str = "synthetic-384";

#[derive(Parser)]
pub struct Args {
    #[arg(long, default_value_t = 1000)]
    pub tenants: usize,
    #[arg(long, default_value_t = 1_000_000)]
    pub chunks: usize,
    /// Chunks of the large tenant.
    #[arg(long, default_value_t = 100_000)]
    pub large: usize,
    /// Chunks of the tiny tenant.
    #[arg(long, default_value_t = 20)]
    pub tiny: usize,
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    #[arg(long, default_value = "support_agent_kb_scale")]
    pub db: String,
    /// hnsw.ef_search for the approximate path.
    #[arg(long, default_value_t = 200)]
    pub ef_search: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (owner, db) = bench_db::bench_db(&args.db).await?;
    let mut rng = StdRng::seed_from_u64(42);
    let space = synthetic::Space::new(&mut rng);
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM chunks")
        .fetch_one(&owner)
        .await?;
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&owner)
        .await?;
    if have != args.chunks as i64 || tenants != args.tenants as i64 {
        synthetic::load(&args, &owner, &db, &space).await?;
    }
    println!("| tenant | chunks | path | p50 ms | p99 ms | recall@10 vs exact |");
    println!("|---|---|---|---|---|---|");
    for (name, size) in [("bench-large", args.large), ("bench-tiny", args.tiny)] {
        let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_one(&owner)
            .await?;
        let tenant = Tenant::from_trusted_operator_input(id);
        explain(&db, &tenant, &space, &args).await?;
        measure(&db, &tenant, name, size, &args, &space, &mut rng).await?;
    }
    Ok(())
}

async fn measure(
    db: &Db,
    tenant: &Tenant,
    name: &str,
    size: usize,
    args: &Args,
    space: &synthetic::Space,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let (mut ann, mut hybrid, mut exact) = (Vec::new(), Vec::new(), Vec::new());
    let mut recall = 0.0;
    for _ in 0..args.queries {
        let v = space.sample(rng);
        let text = synthetic::words(rng, 3);
        let q = |text_weight: f64, exact_max_chunks: i64| SearchQuery {
            text: &text,
            embedding: &v,
            model: MODEL,
            limit: 10,
            candidates: 40,
            ranking: Ranking {
                text_weight,
                ..DEFAULT_RANKING
            },
            ef_search: args.ef_search,
            exact_max_chunks,
        };
        let default_threshold =
            support_agent::knowledge::SearchSettings::default().kb_exact_max_chunks;
        let (a, t_ann) = timed(db, tenant, &q(0.0, default_threshold)).await?;
        let (_, t_hybrid) = timed(db, tenant, &q(0.1, default_threshold)).await?;
        let (e, t_exact) = timed(db, tenant, &q(0.0, i64::MAX)).await?;
        let truth: std::collections::HashSet<_> = e.iter().take(10).collect();
        let denom = truth.len().max(1) as f64;
        recall += a.iter().take(10).filter(|id| truth.contains(id)).count() as f64 / denom;
        ann.push(t_ann);
        hybrid.push(t_hybrid);
        exact.push(t_exact);
    }
    let path =
        if size as i64 > support_agent::knowledge::SearchSettings::default().kb_exact_max_chunks {
            "HNSW"
        } else {
            "exact"
        };
    for (what, mut times) in [
        (format!("vectors ({path})"), ann),
        (format!("hybrid ({path})"), hybrid),
        ("vectors (forced exact)".to_owned(), exact),
    ] {
        times.sort_by(f64::total_cmp);
        let r = if what.starts_with("vectors (H") || what.starts_with("vectors (e") {
            format!("{:.3}", recall / args.queries as f64)
        } else {
            "—".into()
        };
        println!(
            "| {name} | {size} | {what} | {:.1} | {:.1} | {r} |",
            bench_db::percentile(&times, 50.0),
            bench_db::percentile(&times, 99.0)
        );
    }
    Ok(())
}

async fn timed(
    db: &Db,
    tenant: &Tenant,
    q: &SearchQuery<'_>,
) -> anyhow::Result<(Vec<uuid::Uuid>, f64)> {
    let started = Instant::now();
    let mut tx = db.begin(tenant).await?;
    let hits = store::search(&mut tx, q).await?;
    tx.commit().await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok((hits.into_iter().map(|h| h.chunk_id).collect(), ms))
}

/// Prints the plan of one hybrid search, to show which index serves the vector ranking.
async fn explain(
    db: &Db,
    tenant: &Tenant,
    space: &synthetic::Space,
    args: &Args,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(9);
    let v = space.sample(&mut rng);
    let q = SearchQuery {
        text: "w1 w2 w3",
        embedding: &v,
        model: MODEL,
        limit: 10,
        candidates: 40,
        ranking: DEFAULT_RANKING,
        ef_search: args.ef_search,
        exact_max_chunks: support_agent::knowledge::SearchSettings::default().kb_exact_max_chunks,
    };
    let mut tx = db.begin(tenant).await?;
    for line in store::explain(&mut tx, &q).await? {
        eprintln!("  {line}");
    }
    tx.commit().await?;
    Ok(())
}
