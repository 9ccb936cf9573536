//! Per-tenant indexes on `chunks` for large tenants (issue 20, BENCHMARKS-knowledge.md): an HNSW
//! index and a GIN index, each partial (`WHERE user_id = '…'`), so that the tenant's searches
//! walk a graph and a word list of its own rows only instead of every tenant's.
//!
//! Built and dropped by the owner role (`support-agent knowledge index`), never the service role,
//! which owns nothing and cannot build indexes. `CONCURRENTLY`, so that the tenant's writes go on
//! while an index builds; a build that failed half-way leaves an invalid index, which the next run
//! drops and builds again. The search uses them through custom plans (the tenant id a constant
//! that proves the index's predicate), and the full-text one through `knowledge_text_matches`
//! (migration 20261219000010), only when the tenant has it (`text_index_name`), for the `ts_rank`
//! ranking: BM25, the default, reads the tenant's postings (`chunk_postings`) instead.

use std::time::Instant;

use serde::Serialize;
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use crate::StoreError;

/// The kinds of per-tenant index, in the order they are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexKind {
    /// Nearest neighbours by cosine distance (the vector ranking).
    Hnsw,
    /// The words of `tsv` (the `ts_rank` ranking, through `knowledge_text_matches`).
    Gin,
}

impl IndexKind {
    const ALL: [IndexKind; 2] = [IndexKind::Hnsw, IndexKind::Gin];

    fn prefix(self) -> &'static str {
        match self {
            IndexKind::Hnsw => "chunks_hnsw_",
            IndexKind::Gin => "chunks_tsv_",
        }
    }

    fn method(self) -> &'static str {
        match self {
            IndexKind::Hnsw => "hnsw (embedding vector_cosine_ops)",
            IndexKind::Gin => "gin (tsv)",
        }
    }

    /// The index's name for `user`: the prefix and the id's 32 hex digits (44 characters at
    /// most, within PostgreSQL's 63).
    pub fn name(self, user: Uuid) -> String {
        format!("{}{}", self.prefix(), user.simple())
    }
}

/// The name the search looks for to know that `user` has a full-text index of its own.
pub fn text_index_name(user: Uuid) -> String {
    IndexKind::Gin.name(user)
}

/// What `build` did with one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexAction {
    /// It was there and valid.
    Present,
    /// It was built now.
    Built,
    /// It was there but invalid (a build that stopped half-way), and was built again.
    Rebuilt,
    /// It was dropped: its tenant is gone, or (with `prune`) below the threshold.
    Dropped,
}

/// One index and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct IndexReport {
    pub user_id: Uuid,
    pub name: String,
    pub kind: IndexKind,
    /// The tenant's chunks when the run looked (0 for a tenant that is gone).
    pub chunks: i64,
    pub action: IndexAction,
    pub seconds: f64,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Tenants with at least this many chunks get indexes of their own.
    pub min_chunks: i64,
    /// Also drop the indexes of tenants below `min_chunks`.
    pub prune: bool,
    /// `maintenance_work_mem` for the builds (HNSW builds much faster when its graph fits).
    pub maintenance_work_mem: String,
}

/// A per-tenant index that exists, valid or not.
#[derive(Debug)]
struct Existing {
    name: String,
    user_id: Uuid,
    kind: IndexKind,
    valid: bool,
}

/// Progress of a long build, for the command's output.
pub trait IndexProgress {
    fn start(&self, user_id: Uuid, kind: IndexKind, chunks: i64);
    fn done(&self, report: &IndexReport);
}

/// Builds the missing per-tenant indexes of every tenant with at least `min_chunks` chunks, and
/// drops those of tenants that are gone (and, with `prune`, below the threshold). `owner` must
/// be the owner role's pool (the table's owner builds its indexes). Runs one index at a time.
pub async fn build(
    owner: &PgPool,
    options: &IndexOptions,
    progress: &dyn IndexProgress,
) -> Result<Vec<IndexReport>, StoreError> {
    let sizes: Vec<(Uuid, i64)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT u.id, coalesce(sum(d.chunk_count), 0)::bigint AS chunks \
         FROM users u LEFT JOIN documents d ON d.user_id = u.id \
         GROUP BY u.id ORDER BY chunks DESC, u.id",
    )
    .fetch_all(owner)
    .await?;
    let existing = existing(owner).await?;
    let mut conn = owner.acquire().await?;
    // A setting of this session only; the value is checked by PostgreSQL (a bad one fails here).
    sqlx::query("SELECT set_config('maintenance_work_mem', $1, false)")
        .bind(&options.maintenance_work_mem)
        .execute(&mut *conn)
        .await?;
    let mut reports = Vec::new();
    let size_of = |user: Uuid| sizes.iter().find(|(u, _)| *u == user).map(|(_, n)| *n);
    // Drops first: an index of a tenant that is gone, or pruned, only costs the writes.
    for index in &existing {
        let chunks = size_of(index.user_id);
        let keep = chunks.is_some_and(|n| n >= options.min_chunks || !options.prune);
        if keep {
            continue;
        }
        let started = Instant::now();
        drop_index(&mut conn, &index.name).await?;
        let report = IndexReport {
            user_id: index.user_id,
            name: index.name.clone(),
            kind: index.kind,
            chunks: chunks.unwrap_or(0),
            action: IndexAction::Dropped,
            seconds: started.elapsed().as_secs_f64(),
        };
        progress.done(&report);
        reports.push(report);
    }
    for &(user_id, chunks) in sizes.iter().filter(|(_, n)| *n >= options.min_chunks) {
        for kind in IndexKind::ALL {
            let name = kind.name(user_id);
            let found = existing.iter().find(|e| e.name == name);
            let action = match found {
                Some(e) if e.valid => IndexAction::Present,
                Some(_) => IndexAction::Rebuilt,
                None => IndexAction::Built,
            };
            let started = Instant::now();
            if action != IndexAction::Present {
                progress.start(user_id, kind, chunks);
                if action == IndexAction::Rebuilt {
                    drop_index(&mut conn, &name).await?;
                }
                // Every piece is an identifier made here or a uuid's canonical text: no input.
                let sql = format!(
                    "CREATE INDEX CONCURRENTLY {name} ON public.chunks USING {} \
                     WHERE user_id = '{user_id}'::uuid",
                    kind.method()
                );
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut *conn)
                    .await?;
            }
            let report = IndexReport {
                user_id,
                name,
                kind,
                chunks,
                action,
                seconds: started.elapsed().as_secs_f64(),
            };
            if action != IndexAction::Present {
                progress.done(&report);
            }
            reports.push(report);
        }
    }
    Ok(reports)
}

/// The per-tenant indexes that exist on `chunks`, by their names' shape.
async fn existing(owner: &PgPool) -> Result<Vec<Existing>, StoreError> {
    let rows: Vec<(String, bool)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT c.relname::text, i.indisvalid \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid = 'public.chunks'::regclass \
           AND (c.relname LIKE 'chunks\\_hnsw\\_%' OR c.relname LIKE 'chunks\\_tsv\\_%') \
         ORDER BY 1",
    )
    .fetch_all(owner)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, valid)| {
            let kind = IndexKind::ALL
                .into_iter()
                .find(|k| name.starts_with(k.prefix()))?;
            let user_id = Uuid::try_parse(&name[kind.prefix().len()..]).ok()?;
            (kind.name(user_id) == name).then_some(Existing {
                name,
                user_id,
                kind,
                valid,
            })
        })
        .collect())
}

async fn drop_index(conn: &mut sqlx::PgConnection, name: &str) -> Result<(), StoreError> {
    // `name` is one of ours (IndexKind::name), read back from the catalog and checked.
    let sql = format!("DROP INDEX CONCURRENTLY IF EXISTS public.{name}");
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(conn).await?;
    Ok(())
}
