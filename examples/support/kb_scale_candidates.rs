//! The candidate designs of issue 20 side by side, for the large tenant (included by kb_scale.rs
//! with `#[path]`): each branch of the search statement alone — the vector ranking's 40
//! candidates and the full-text ranking's matches — through the indexes each design needs, built
//! and dropped here as the owner, timed as the service role in the tenant's transaction.

use std::collections::HashSet;
use std::time::Instant;

use pgvector::Vector;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sqlx::{AssertSqlSafe, PgPool};
use support_agent::knowledge::store::indexes::{
    self, IndexKind, IndexOptions, IndexProgress, IndexReport,
};
use support_agent::{Db, Tenant};
use uuid::Uuid;

use super::{Args, MODEL, bench_db, synthetic};

struct Case {
    vector: Vec<f32>,
    text: String,
    exact: HashSet<Uuid>,
}

/// The query's words joined by OR, as the search's `terms` CTE makes them.
const TSQUERY: &str = "replace(plainto_tsquery('english', $3)::text, ' & ', ' | ')::tsquery";

struct Quiet;
impl IndexProgress for Quiet {
    fn start(&self, _: Uuid, kind: IndexKind, chunks: i64) {
        eprintln!("  building the tenant's {kind:?} index ({chunks} chunks)");
    }
    fn done(&self, r: &IndexReport) {
        eprintln!("  {} {:?} in {:.0}s", r.name, r.action, r.seconds);
    }
}

pub async fn run(
    owner: &PgPool,
    db: &Db,
    tenant: &Tenant,
    args: &Args,
    space: &synthetic::Space,
) -> anyhow::Result<()> {
    let user = tenant.id();
    let mut rng = StdRng::seed_from_u64(11);
    let mut cases = Vec::new();
    for _ in 0..args.queries {
        let vector = space.sample(&mut rng);
        let text = synthetic::words(&mut rng, 3);
        let exact = ids(
            db,
            tenant,
            "",
            "chunks",
            "(embedding <=> $3) + 0",
            &vector,
            10,
        )
        .await?
        .0;
        cases.push(Case {
            vector,
            text,
            exact: exact.into_iter().collect(),
        });
    }
    // Start from the shared indexes only.
    for kind in [IndexKind::Hnsw, IndexKind::Gin] {
        drop_index(owner, &kind.name(user)).await?;
    }
    if args.partitions_only {
        return partitioned(owner, db, tenant, &cases, args).await;
    }
    super::prewarm(
        args,
        &[
            "chunks",
            "chunks_pkey",
            "chunks_user_id_embed_model_idx",
            "chunks_tsv_idx",
            "chunks_embedding_hnsw_idx",
        ],
    )
    .await?;
    println!(
        "| candidate | branch | build s | index MB | p50 ms | p99 ms | recall@10 / rows matched |"
    );
    println!("|---|---|---|---|---|---|---|");
    let shared = size_mb(owner, "chunks_embedding_hnsw_idx").await?;
    for ef in [40, 100, 200] {
        vector_row(
            db,
            tenant,
            &cases,
            &format!("shared HNSW (m 16), ef_search {ef}"),
            "—",
            shared,
            "chunks",
            "embedding <=> $3",
            ef,
        )
        .await?;
    }
    let gin = size_mb(owner, "chunks_tsv_idx").await?;
    text_row(
        db,
        tenant,
        &cases,
        "today: the tenant's rows read and matched (policy first)",
        "—",
        0.0,
        SCAN,
    )
    .await?;
    text_row(
        db,
        tenant,
        &cases,
        "definer function, shared GIN",
        "—",
        gin,
        DEFINER,
    )
    .await?;
    if let Some(url) = &args.superuser_url {
        let su = PgPool::connect(url).await?;
        sqlx::query("ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF")
            .execute(&su)
            .await?;
        let measured = text_row(
            db,
            tenant,
            &cases,
            "ts_match_vq marked LEAKPROOF, shared GIN",
            "—",
            gin,
            &format!("{SCAN} /* planned afresh */"),
        )
        .await;
        sqlx::query("ALTER FUNCTION ts_match_vq(tsvector, tsquery) NOT LEAKPROOF")
            .execute(&su)
            .await?;
        measured?;
    }

    // The tenant's own indexes, as `knowledge index` builds them.
    let options = IndexOptions {
        min_chunks: args.large as i64,
        prune: false,
        maintenance_work_mem: "2GB".into(),
    };
    let reports = indexes::build(owner, &options, &Quiet).await?;
    let secs = |kind| {
        reports
            .iter()
            .find(|r| r.user_id == user && r.kind == kind)
            .map_or(0.0, |r| r.seconds)
    };
    let own = size_mb(owner, &IndexKind::Hnsw.name(user)).await?;
    super::prewarm(
        args,
        &[&IndexKind::Hnsw.name(user), &IndexKind::Gin.name(user)],
    )
    .await?;
    for ef in [40, 100, 200] {
        vector_row(
            db,
            tenant,
            &cases,
            &format!("tenant's own HNSW (m 16), ef_search {ef}"),
            &format!("{:.0}", secs(IndexKind::Hnsw)),
            own,
            "chunks",
            "embedding <=> $3",
            ef,
        )
        .await?;
    }
    let own_gin = size_mb(owner, &IndexKind::Gin.name(user)).await?;
    text_row(
        db,
        tenant,
        &cases,
        "definer function, tenant's own GIN",
        &format!("{:.0}", secs(IndexKind::Gin)),
        own_gin,
        DEFINER,
    )
    .await?;

    // halfvec: the tenant's own HNSW over the vectors cast to half precision.
    let half = format!("chunks_half_{}", user.simple());
    let ddl = format!(
        "CREATE INDEX {half} ON public.chunks USING hnsw ((embedding::halfvec(384)) \
         halfvec_cosine_ops) WHERE user_id = '{user}'::uuid"
    );
    let variant = Variant {
        owner,
        db,
        tenant,
        cases: &cases,
        args,
    };
    variant
        .measure(
            &half,
            &ddl,
            "tenant's own HNSW on halfvec",
            "embedding::halfvec(384) <=> $3::halfvec(384)",
        )
        .await?;

    // m = 32 (ef_construction 128) in place of the tenant's own m = 16 index.
    let name = IndexKind::Hnsw.name(user);
    drop_index(owner, &name).await?;
    let ddl = format!(
        "CREATE INDEX {name} ON public.chunks USING hnsw (embedding vector_cosine_ops) \
         WITH (m = 32, ef_construction = 128) WHERE user_id = '{user}'::uuid"
    );
    variant
        .measure(
            &name,
            &ddl,
            "tenant's own HNSW (m 32, ef_construction 128)",
            "embedding <=> $3",
        )
        .await?;
    indexes::build(owner, &options, &Quiet).await?;

    partitioned(owner, db, tenant, &cases, args).await
}

/// Hash partitions by user_id, each with its own HNSW index (built here for the large tenant's
/// partition only: the others would not change its figures).
async fn partitioned(
    owner: &PgPool,
    db: &Db,
    tenant: &Tenant,
    cases: &[Case],
    args: &Args,
) -> anyhow::Result<()> {
    let user = tenant.id();
    let started = Instant::now();
    partitions(owner, user).await?;
    let copy = started.elapsed().as_secs_f64();
    let part: String = sqlx::query_scalar(
        "SELECT tableoid::regclass::text FROM chunks_by_tenant WHERE user_id = $1 LIMIT 1",
    )
    .bind(user)
    .fetch_one(owner)
    .await?;
    let rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {part}")))
        .fetch_one(owner)
        .await?;
    let built = timed_ddl(
        owner,
        &format!("CREATE INDEX {part}_hnsw ON {part} USING hnsw (embedding vector_cosine_ops)"),
    )
    .await?;
    sqlx::raw_sql("ANALYZE chunks_by_tenant")
        .execute(owner)
        .await?;
    let mb = size_mb(owner, &format!("{part}_hnsw")).await?;
    super::prewarm(
        args,
        &[
            &part,
            &format!("{part}_hnsw"),
            &format!("{part}_user_id_embed_model_idx"),
        ],
    )
    .await?;
    eprintln!("  partitioned copy in {copy:.0}s; the tenant's partition {part} holds {rows} rows");
    for ef in [40, 100, 200] {
        vector_row(
            db,
            tenant,
            cases,
            &format!("16 hash partitions, the partition's HNSW ({rows} rows), ef_search {ef}"),
            &format!("{built:.0}"),
            mb,
            "chunks_by_tenant",
            "embedding <=> $3",
            ef,
        )
        .await?;
    }
    text_row(
        db,
        tenant,
        cases,
        "16 hash partitions: the tenant's rows read and matched",
        "—",
        0.0,
        &SCAN.replace("chunks", "chunks_by_tenant"),
    )
    .await?;
    sqlx::raw_sql("DROP TABLE chunks_by_tenant")
        .execute(owner)
        .await?;
    Ok(())
}

/// One more index for the large tenant: built, measured at ef_search 40 and 100, dropped.
struct Variant<'a> {
    owner: &'a PgPool,
    db: &'a Db,
    tenant: &'a Tenant,
    cases: &'a [Case],
    args: &'a Args,
}

impl Variant<'_> {
    async fn measure(&self, name: &str, ddl: &str, label: &str, order: &str) -> anyhow::Result<()> {
        let built = timed_ddl(self.owner, ddl).await?;
        let mb = size_mb(self.owner, name).await?;
        super::prewarm(self.args, &[name]).await?;
        for ef in [40, 100] {
            vector_row(
                self.db,
                self.tenant,
                self.cases,
                &format!("{label}, ef_search {ef}"),
                &format!("{built:.0}"),
                mb,
                "chunks",
                order,
                ef,
            )
            .await?;
        }
        drop_index(self.owner, name).await
    }
}

/// The full-text match as the service role can run it today: every row of the tenant, `@@` after
/// the policy's check.
const SCAN: &str =
    "SELECT c.id FROM chunks c WHERE c.user_id = $1 AND c.embed_model = $2 AND c.tsv @@ {q}";
/// Through the definer function, which returns what the ranking reads of each match.
const DEFINER: &str =
    "SELECT c.id FROM knowledge_text_matches({q}, $2) c WHERE $1::uuid IS NOT NULL";

#[allow(clippy::too_many_arguments)]
async fn vector_row(
    db: &Db,
    tenant: &Tenant,
    cases: &[Case],
    name: &str,
    build: &str,
    mb: f64,
    table: &str,
    order: &str,
    ef: u32,
) -> anyhow::Result<()> {
    let settings = format!(
        "SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = {ef}; \
         SET LOCAL hnsw.max_scan_tuples = 20000; SET LOCAL plan_cache_mode = force_custom_plan"
    );
    let mut times = Vec::new();
    let mut recall = 0.0;
    for c in cases {
        let (found, ms) = ids(db, tenant, &settings, table, order, &c.vector, 40).await?;
        recall += found
            .iter()
            .take(10)
            .filter(|id| c.exact.contains(id))
            .count() as f64
            / c.exact.len().max(1) as f64;
        times.push(ms);
    }
    row(
        name,
        "vectors: 40 nearest",
        build,
        mb,
        times,
        format!("{:.3}", recall / cases.len() as f64),
    );
    Ok(())
}

async fn text_row(
    db: &Db,
    tenant: &Tenant,
    cases: &[Case],
    name: &str,
    build: &str,
    mb: f64,
    sql: &str,
) -> anyhow::Result<()> {
    let sql = sql.replace("{q}", TSQUERY);
    let mut times = Vec::new();
    let mut matched = 0usize;
    for c in cases {
        let started = Instant::now();
        let mut tx = db.begin(tenant).await?;
        sqlx::raw_sql("SET LOCAL plan_cache_mode = force_custom_plan")
            .execute(tx.conn())
            .await?;
        let found: Vec<Uuid> = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
            .bind(tenant.id())
            .bind(MODEL)
            .bind(&c.text)
            .fetch_all(tx.conn())
            .await?;
        tx.commit().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        matched += found.len();
    }
    row(
        name,
        "full text: matches",
        build,
        mb,
        times,
        format!("{:.0} rows", matched as f64 / cases.len() as f64),
    );
    Ok(())
}

fn row(name: &str, branch: &str, build: &str, mb: f64, mut times: Vec<f64>, last: String) {
    times.sort_by(f64::total_cmp);
    let mb = if mb > 0.0 {
        format!("{mb:.0}")
    } else {
        "—".into()
    };
    println!(
        "| {name} | {branch} | {build} | {mb} | {:.1} | {:.1} | {last} |",
        bench_db::percentile(&times, 50.0),
        bench_db::percentile(&times, 99.0)
    );
}

/// The `limit` nearest of the tenant's chunks by `order`, and the transaction's milliseconds.
async fn ids(
    db: &Db,
    tenant: &Tenant,
    settings: &str,
    table: &str,
    order: &str,
    v: &[f32],
    limit: i64,
) -> anyhow::Result<(Vec<Uuid>, f64)> {
    // Sorted by the exact distance afterwards, as the statement ranks them: a relaxed iterative
    // scan returns its candidates only roughly in order.
    let sql = format!(
        "SELECT id FROM (SELECT id, embedding <=> $3 AS d FROM {table} \
         WHERE user_id = $1 AND embed_model = $2 ORDER BY {order} LIMIT {limit}) x ORDER BY d"
    );
    let started = Instant::now();
    let mut tx = db.begin(tenant).await?;
    if !settings.is_empty() {
        sqlx::raw_sql(AssertSqlSafe(settings.to_owned()))
            .execute(tx.conn())
            .await?;
    }
    let found: Vec<Uuid> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(tenant.id())
        .bind(MODEL)
        .bind(Vector::from(v.to_vec()))
        .fetch_all(tx.conn())
        .await?;
    tx.commit().await?;
    Ok((found, started.elapsed().as_secs_f64() * 1000.0))
}

async fn timed_ddl(owner: &PgPool, sql: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut conn = owner.acquire().await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "SET maintenance_work_mem = '2GB'; {sql}"
    )))
    .execute(&mut *conn)
    .await?;
    sqlx::raw_sql("RESET maintenance_work_mem; ANALYZE public.chunks")
        .execute(&mut *conn)
        .await?;
    Ok(started.elapsed().as_secs_f64())
}

async fn drop_index(owner: &PgPool, name: &str) -> anyhow::Result<()> {
    sqlx::raw_sql(AssertSqlSafe(format!("DROP INDEX IF EXISTS public.{name}")))
        .execute(owner)
        .await?;
    Ok(())
}

async fn size_mb(owner: &PgPool, index: &str) -> anyhow::Result<f64> {
    let bytes: i64 = sqlx::query_scalar("SELECT pg_relation_size(to_regclass($1))")
        .bind(format!("public.{index}"))
        .fetch_one(owner)
        .await?;
    Ok(bytes as f64 / 1_048_576.0)
}

/// A copy of `chunks` in 16 hash partitions by user_id, under the same forced policy, readable
/// by the service role.
async fn partitions(owner: &PgPool, _large: Uuid) -> anyhow::Result<()> {
    let mut sql = String::from(
        "DROP TABLE IF EXISTS chunks_by_tenant; \
         CREATE TABLE chunks_by_tenant (LIKE chunks INCLUDING DEFAULTS) PARTITION BY HASH (user_id);",
    );
    for i in 0..16 {
        sql.push_str(&format!(
            " CREATE TABLE chunks_by_tenant_p{i} PARTITION OF chunks_by_tenant \
              FOR VALUES WITH (MODULUS 16, REMAINDER {i});"
        ));
    }
    sql.push_str(
        " INSERT INTO chunks_by_tenant SELECT * FROM chunks; \
          ALTER TABLE chunks_by_tenant ADD PRIMARY KEY (user_id, id); \
          CREATE INDEX ON chunks_by_tenant (user_id, embed_model); \
          ALTER TABLE chunks_by_tenant ENABLE ROW LEVEL SECURITY; \
          ALTER TABLE chunks_by_tenant FORCE ROW LEVEL SECURITY; \
          CREATE POLICY tenant_isolation ON chunks_by_tenant FOR ALL \
            USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid); \
          CREATE POLICY operator_read ON chunks_by_tenant FOR SELECT TO CURRENT_USER USING (true); \
          GRANT SELECT ON chunks_by_tenant TO support_agent_app;",
    );
    let mut conn = owner.acquire().await?;
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
