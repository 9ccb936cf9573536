//! Knowledge search at scale: N tenants sharing M chunks (synthetic clustered vectors), search
//! latency p50/p99 for a large and a tiny tenant, and recall@10 of the HNSW path against exact
//! search. Builds its own database (`--db`, default support_agent_kb_scale) once and reuses it.
//!
//!     cargo run --release --example kb_scale -- --tenants 1000 --chunks 1000000
//!
//! `--candidates` measures issue 20's candidate designs side by side for the large tenant
//! instead (kb_scale_candidates.rs).

#[path = "support/bench_db.rs"]
mod bench_db;
#[path = "support/kb_scale_candidates.rs"]
mod candidates;
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
    /// Measure the candidate designs of issue 20 for the large tenant (building and dropping
    /// their indexes, and a partitioned copy of the table) instead of the goal table.
    #[arg(long)]
    pub candidates: bool,
    /// A superuser's URL, for the LEAKPROOF candidate (`ts_match_vq` marked LEAKPROOF for its
    /// measurement, then restored); without it that row is left out.
    #[arg(long, env = "KB_SCALE_SUPERUSER_URL")]
    pub superuser_url: Option<String>,
    /// With --candidates: measure the hash partitions only.
    #[arg(long)]
    pub partitions_only: bool,
}

/// Loads `relations` into shared buffers with pg_prewarm (with --superuser-url, which may
/// create the extension), so that each measurement starts from the same warm cache instead of
/// from whatever the previous one left.
pub async fn prewarm(args: &Args, relations: &[&str]) -> anyhow::Result<()> {
    let Some(url) = &args.superuser_url else {
        return Ok(());
    };
    let su = sqlx::PgPool::connect(&bench_db::with_db(url, &args.db)?).await?;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        .execute(&su)
        .await?;
    for r in relations {
        let pages: i64 = sqlx::query_scalar("SELECT pg_prewarm(to_regclass($1))")
            .bind(format!("public.{r}"))
            .fetch_one(&su)
            .await?;
        eprintln!("  prewarmed {r}: {pages} pages");
    }
    su.close().await;
    Ok(())
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
    if args.candidates {
        let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE name = 'bench-large'")
            .fetch_one(&owner)
            .await?;
        let tenant = Tenant::from_trusted_operator_input(id);
        return candidates::run(&owner, &db, &tenant, &args, &space).await;
    }
    let own: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE tablename = 'chunks' \
         AND indexname ~ '^chunks_(hnsw|tsv)_[0-9a-f]{32}$' ORDER BY 1",
    )
    .fetch_all(&owner)
    .await?;
    println!("per-tenant indexes: {own:?}");
    let mut warm = vec![
        "chunks",
        "chunks_pkey",
        "chunks_user_id_embed_model_idx",
        "chunks_tsv_idx",
        "chunks_embedding_hnsw_idx",
        "documents",
        "documents_pkey",
        "chunk_terms",
        "chunk_terms_pkey",
        "chunk_postings_pkey",
    ];
    warm.extend(own.iter().map(String::as_str));
    prewarm(&args, &warm).await?;
    println!("| tenant | chunks | search | p50 ms | p99 ms | recall@10 vs exact |");
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
    let default_threshold = support_agent::knowledge::SearchSettings::default().kb_exact_max_chunks;
    // vectors alone and the default hybrid search, each on the tenant's own path and forced
    // exact (the reference its recall is measured against).
    let cases = [
        (0.0, default_threshold),
        (0.0, i64::MAX),
        (DEFAULT_RANKING.text_weight, default_threshold),
        (DEFAULT_RANKING.text_weight, i64::MAX),
    ];
    let mut times: [Vec<f64>; 4] = Default::default();
    let mut recall = [0.0; 2];
    for _ in 0..args.queries {
        let v = space.sample(rng);
        let text = synthetic::words(rng, 3);
        let mut found = Vec::new();
        for (i, &(text_weight, exact_max_chunks)) in cases.iter().enumerate() {
            let q = SearchQuery {
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
            let (ids, ms) = timed(db, tenant, &q).await?;
            times[i].push(ms);
            found.push(ids);
        }
        for (r, pair) in recall.iter_mut().zip([(0, 1), (2, 3)]) {
            let truth: std::collections::HashSet<_> = found[pair.1].iter().take(10).collect();
            *r += found[pair.0]
                .iter()
                .take(10)
                .filter(|id| truth.contains(id))
                .count() as f64
                / truth.len().max(1) as f64;
        }
    }
    let path = if size as i64 > default_threshold {
        "HNSW"
    } else {
        "exact"
    };
    let rows = [
        format!("vectors ({path} path)"),
        "vectors (forced exact)".to_owned(),
        format!("hybrid, default ranking ({path} path)"),
        "hybrid, default ranking (forced exact)".to_owned(),
    ];
    for (i, (what, mut times)) in rows.into_iter().zip(times).enumerate() {
        times.sort_by(f64::total_cmp);
        let r = if i % 2 == 0 {
            format!("{:.3}", recall[i / 2] / args.queries as f64)
        } else {
            "(reference)".into()
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
        // The query vector's 384 numbers say nothing here.
        let line: String = line.chars().take(240).collect();
        eprintln!("  {line}");
    }
    tx.commit().await?;
    Ok(())
}
