//! Knowledge search at scale: N tenants sharing M chunks (synthetic clustered vectors), search
//! latency p50/p99 for a large and a tiny tenant, and recall@10 of the HNSW path against exact
//! search. Builds its own database (`--db`, default support_agent_bench) once and reuses it.
//!
//!     cargo run --release --example kb_scale -- --tenants 1000 --chunks 1000000

#[path = "support/bench_db.rs"]
mod bench_db;

use std::time::Instant;

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support_agent::knowledge::embed::normalize;
use support_agent::knowledge::store::{self, NewChunk, NewDocument, SearchQuery};
use support_agent::users::{self, NewUser};
use support_agent::{Db, Tenant};

const MODEL: &str = "synthetic-384";

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1000)]
    tenants: usize,
    #[arg(long, default_value_t = 1_000_000)]
    chunks: usize,
    /// Chunks of the large tenant.
    #[arg(long, default_value_t = 100_000)]
    large: usize,
    /// Chunks of the tiny tenant.
    #[arg(long, default_value_t = 20)]
    tiny: usize,
    #[arg(long, default_value_t = 200)]
    queries: usize,
    #[arg(long, default_value = "support_agent_bench")]
    db: String,
    /// hnsw.ef_search for the approximate path.
    #[arg(long, default_value_t = 100)]
    ef_search: u32,
}

struct Space {
    centroids: Vec<Vec<f32>>,
}

impl Space {
    fn new(rng: &mut StdRng) -> Self {
        let centroids = (0..256).map(|_| unit(rng, None, 1.0)).collect();
        Self { centroids }
    }
    fn sample(&self, rng: &mut StdRng) -> Vec<f32> {
        let c = &self.centroids[rng.random_range(0..self.centroids.len())];
        unit(rng, Some(c), 0.06)
    }
}

fn unit(rng: &mut StdRng, around: Option<&Vec<f32>>, spread: f32) -> Vec<f32> {
    let mut v: Vec<f32> = (0..384)
        .map(|i| around.map_or(0.0, |c| c[i]) + spread * gauss(rng))
        .collect();
    normalize(&mut v);
    v
}

fn gauss(rng: &mut StdRng) -> f32 {
    // Box–Muller.
    let (u, v): (f32, f32) = (rng.random_range(1e-7..1.0), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| format!("w{}", rng.random_range(0..2000)))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn load(args: &Args, owner: &sqlx::PgPool, db: &Db, space: &Space) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(1);
    sqlx::query("TRUNCATE users CASCADE").execute(owner).await?;
    sqlx::query("DROP INDEX IF EXISTS chunks_embedding_hnsw_idx")
        .execute(owner)
        .await?;
    let others = args.chunks - args.large - args.tiny;
    let started = Instant::now();
    let mut written = 0usize;
    for t in 0..args.tenants {
        let (name, size) = match t {
            0 => ("bench-large".to_owned(), args.large),
            1 => ("bench-tiny".to_owned(), args.tiny),
            n => {
                let (n, slots) = (n - 2, args.tenants - 2);
                (
                    format!("bench-{n}"),
                    others / slots + usize::from(n < others % slots),
                )
            }
        };
        let email = format!("{name}@bench.example.com");
        let (tenant, _) = users::store::create(
            db,
            &NewUser {
                name: &name,
                email: &email,
                password: None,
            },
        )
        .await?;
        for (d, start) in (0..size).step_by(1000).enumerate() {
            let chunks: Vec<NewChunk> = (start..size.min(start + 1000))
                .map(|_| NewChunk {
                    heading_path: vec![],
                    text: words(&mut rng, 12),
                    embedding: space.sample(&mut rng),
                })
                .collect();
            let source = format!("doc-{d}");
            let mut tx = db.begin(&tenant).await?;
            store::put_document(
                &mut tx,
                &NewDocument {
                    source: &source,
                    title: &source,
                    kind: "text",
                    content_sha256: &[0; 32],
                    chunks: &chunks,
                    embed_model: MODEL,
                    embed_dims: 384,
                },
            )
            .await?;
            tx.commit().await?;
            written += chunks.len();
        }
        if t % 50 == 0 {
            eprintln!(
                "loaded {written} chunks, {t} tenants, {:.0}s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let load_secs = started.elapsed().as_secs_f64();
    println!(
        "loaded {written} chunks in {load_secs:.0}s ({:.0} chunks/s, without the HNSW index)",
        written as f64 / load_secs
    );
    let started = Instant::now();
    let mut conn = owner.acquire().await?;
    sqlx::raw_sql(
        "SET maintenance_work_mem = '6GB'; SET max_parallel_maintenance_workers = 1; \
        CREATE INDEX chunks_embedding_hnsw_idx ON chunks USING hnsw (embedding vector_cosine_ops)",
    )
    .execute(&mut *conn)
    .await?;
    println!(
        "HNSW index built in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    sqlx::query("VACUUM ANALYZE chunks")
        .execute(&mut *conn)
        .await?;
    sqlx::query("VACUUM ANALYZE documents")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (owner, db) = bench_db::bench_db(&args.db).await?;
    let mut rng = StdRng::seed_from_u64(42);
    let space = Space::new(&mut rng);
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM chunks")
        .fetch_one(&owner)
        .await?;
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&owner)
        .await?;
    if have != args.chunks as i64 || tenants != args.tenants as i64 {
        load(&args, &owner, &db, &space).await?;
    }
    println!("| tenant | chunks | path | p50 ms | p99 ms | recall@10 vs exact |");
    println!("|---|---|---|---|---|---|");
    for (name, size) in [("bench-large", args.large), ("bench-tiny", args.tiny)] {
        let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_one(&owner)
            .await?;
        let tenant = Tenant::from_trusted_operator_input(id);
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
    space: &Space,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let (mut ann, mut hybrid, mut exact) = (Vec::new(), Vec::new(), Vec::new());
    let mut recall = 0.0;
    for _ in 0..args.queries {
        let v = space.sample(rng);
        let text = words(rng, 3);
        let q = |text_weight: f64, exact_max_chunks: i64| SearchQuery {
            text: &text,
            embedding: &v,
            model: MODEL,
            limit: 10,
            candidates: 40,
            vector_weight: 1.0,
            text_weight,
            rrf_k: 60.0,
            ef_search: args.ef_search,
            exact_max_chunks,
        };
        let default_threshold =
            support_agent::knowledge::SearchSettings::default().kb_exact_max_chunks;
        let (a, t_ann) = timed(db, tenant, &q(0.0, default_threshold)).await?;
        let (_, t_hybrid) = timed(db, tenant, &q(0.5, default_threshold)).await?;
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
