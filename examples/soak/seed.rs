//! The scratch database: dropped if it is there, created, migrated (`support/bench_db.rs`) and
//! filled with the tenants the soak drives, each with customers `c1..cN@example.com`, seeded
//! tickets, and the demo desk's help-centre articles as its knowledge base.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use indicatif::ProgressBar;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use support_agent::knowledge::embed::EmbedFuture;
use support_agent::knowledge::{self, Embedder, IngestOptions, SharedEmbedder};
use support_agent::users;
use support_agent::{Db, Tenant};

use super::bench_db::{bench_db, with_db};

/// Tenants seeded per statement (one transaction each, as scripts/bench-seed.sh does).
const BATCH: u32 = 50;

/// What the soak needs from the database.
pub struct Seeded {
    pub owner: PgPool,
    pub tenants: Vec<Tenant>,
}

/// How much to seed.
pub struct Shape {
    pub tenants: u32,
    pub customers: u32,
    pub tickets: u32,
}

/// Only a name the soak owns: `soak_` and lower-case letters, digits and `_`.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        name.starts_with("soak_")
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "--database must start with soak_ and hold only a-z, 0-9 and _ (it is dropped)"
    );
    Ok(())
}

/// Drops database `name` (a `soak_` one: see [`check_name`]).
pub async fn drop_database(name: &str) -> anyhow::Result<()> {
    check_name(name)?;
    let owner_url = std::env::var("DATABASE_OWNER_URL")?;
    let mut admin = PgConnection::connect(&with_db(&owner_url, "postgres")?).await?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}

/// A fresh database `name`, seeded with `shape`; or, with `reuse`, the one already there when it
/// holds as many tenants.
pub async fn seed(
    name: &str,
    shape: &Shape,
    embedder: SharedEmbedder,
    reuse: bool,
) -> anyhow::Result<Seeded> {
    check_name(name)?;
    if !reuse {
        drop_database(name).await?;
    }
    let (owner, db) = bench_db(name).await?;
    let mut tenants = tenants_of(&owner).await?;
    if reuse && tenants.len() == shape.tenants as usize {
        eprintln!("soak: reusing {name} ({} tenants)", tenants.len());
        return Ok(Seeded { owner, tenants });
    }
    anyhow::ensure!(
        tenants.is_empty(),
        "{name} holds {} tenants, not {}: run without --reuse",
        tenants.len(),
        shape.tenants
    );
    let started = Instant::now();
    for first in (1..=shape.tenants).step_by(BATCH as usize) {
        let last = (first + BATCH - 1).min(shape.tenants);
        sqlx::raw_sql(AssertSqlSafe(desk_sql(first, last, shape)))
            .execute(db.pool())
            .await?;
    }
    tenants = tenants_of(&owner).await?;
    eprintln!(
        "soak: {} tenants, {} customers and {} tickets each, in {:.0} s",
        tenants.len(),
        shape.customers,
        shape.tickets,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let memo = Arc::new(Memo {
        inner: embedder,
        vectors: Mutex::default(),
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/knowledge");
    let mut runs = futures::stream::iter(tenants.clone().into_iter().map(|t| {
        let (db, memo, dir) = (db.clone(), memo.clone(), dir.clone());
        async move { ingest_one(&db, memo.as_ref(), &t, dir).await }
    }))
    .buffer_unordered(4);
    let mut chunks = 0;
    while let Some(n) = runs.next().await {
        chunks += n?;
    }
    drop(runs);
    eprintln!(
        "soak: the demo's articles in every knowledge base ({chunks} chunks) in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    for table in ["users", "customers", "tickets", "documents", "chunks"] {
        sqlx::query(AssertSqlSafe(format!("ANALYZE {table}")))
            .execute(&owner)
            .await?;
    }
    Ok(Seeded { owner, tenants })
}

async fn ingest_one(db: &Db, memo: &Memo, t: &Tenant, dir: PathBuf) -> anyhow::Result<u64> {
    let report = knowledge::ingest(
        db,
        memo,
        t,
        &[dir],
        &IngestOptions::default(),
        &ProgressBar::hidden(),
    )
    .await?;
    anyhow::ensure!(report.failures.is_empty(), "ingest: {:?}", report.failures);
    Ok(report.chunks)
}

async fn tenants_of(owner: &PgPool) -> anyhow::Result<Vec<Tenant>> {
    let mut users = users::store::list_all(owner, i64::MAX).await?;
    users.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(users
        .iter()
        .map(|u| Tenant::from_trusted_operator_input(u.id))
        .collect())
}

/// Tenants `first..=last`, as the service role under row-level security: each tenant's rows are
/// written with its own tenant context (one transaction, like scripts/bench-seed.sh).
fn desk_sql(first: u32, last: u32, s: &Shape) -> String {
    let (customers, tickets) = (s.customers, s.tickets);
    format!(
        r#"DO $$
DECLARE
  u uuid;
  customers uuid[];
BEGIN
  FOR i IN {first}..{last} LOOP
    u := gen_random_uuid();
    PERFORM set_config('app.current_user_id', u::text, true);
    INSERT INTO users (id, name, email) VALUES (u, 'Soak tenant ' || i, 'soak-' || lpad(i::text, 5, '0') || '@example.com');
    WITH c AS (
      INSERT INTO customers (user_id, id, name, email)
      SELECT u, gen_random_uuid(), 'Customer ' || j, 'c' || j || '@example.com'
      FROM generate_series(1, {customers}) j
      RETURNING id)
    SELECT array_agg(id) INTO customers FROM c;
    INSERT INTO tickets (user_id, id, customer_id, subject, description, status, priority, created_at)
    SELECT u, gen_random_uuid(), customers[1 + k % {customers}], 'Ticket ' || k,
           'Seeded for the soak', (ARRAY['open','pending','solved','closed'])[1 + k % 4],
           (ARRAY['low','medium','high','urgent'])[1 + (k / 4) % 4],
           now() - make_interval(mins => k * 17)
    FROM generate_series(1, {tickets}) k;
  END LOOP;
END
$$"#
    )
}

/// The real embedder, asked once per distinct text: every tenant gets the same articles, so
/// seeding 1,000 knowledge bases costs one embedding of them and the database writes.
struct Memo {
    inner: SharedEmbedder,
    vectors: Mutex<HashMap<String, Vec<f32>>>,
}

impl Embedder for Memo {
    fn model(&self) -> &str {
        self.inner.model()
    }
    fn dims(&self) -> usize {
        self.inner.dims()
    }
    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }
    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move {
            let missing: Vec<String> = {
                let known = self.vectors.lock().unwrap_or_else(|p| p.into_inner());
                texts
                    .iter()
                    .filter(|t| !known.contains_key(*t))
                    .cloned()
                    .collect()
            };
            if !missing.is_empty() {
                let vectors = self.inner.embed(&missing).await?;
                let mut known = self.vectors.lock().unwrap_or_else(|p| p.into_inner());
                known.extend(missing.into_iter().zip(vectors));
            }
            let known = self.vectors.lock().unwrap_or_else(|p| p.into_inner());
            Ok(texts.iter().map(|t| known[t].clone()).collect())
        })
    }
}
