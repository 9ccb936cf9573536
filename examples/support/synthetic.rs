//! Synthetic data for the scale benchmark (included by kb_scale.rs with `#[path]`): clustered
//! unit vectors, random words, and loading N tenants' chunks through the real store.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support_agent::Db;
use support_agent::knowledge::embed::normalize;
use support_agent::knowledge::store::{self, NewChunk, NewDocument};
use support_agent::users::{self, NewUser};

use super::{Args, MODEL};

pub struct Space {
    centroids: Vec<Vec<f32>>,
}

impl Space {
    pub fn new(rng: &mut StdRng) -> Self {
        let centroids = (0..256).map(|_| unit(rng, None, 1.0)).collect();
        Self { centroids }
    }
    pub fn sample(&self, rng: &mut StdRng) -> Vec<f32> {
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

pub fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| format!("w{}", rng.random_range(0..2000)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn load(args: &Args, owner: &sqlx::PgPool, db: &Db, space: &Space) -> anyhow::Result<()> {
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
        "SET maintenance_work_mem = '6GB'; SET max_parallel_maintenance_workers = 2; \
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
