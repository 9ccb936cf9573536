//! The one place that writes `chunk_stats`, `chunk_terms` and `chunk_postings`: BM25's
//! statistics of a tenant's chunks per embedding model (migration
//! 20261218000010_chunk_term_statistics.sql) and its postings, one row per chunk and lexeme
//! (20261220000010_chunk_postings.sql), kept in the transactions that write the chunks so that a
//! search reads them instead of counting them or visiting the chunks.

use uuid::Uuid;

use crate::{StoreError, TenantTx};

/// Figures of a set of chunks: per model, how many chunks and the sum of their lengths; per
/// model and lexeme, how many chunks contain it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Counts {
    stat_models: Vec<String>,
    chunks: Vec<i64>,
    lexemes: Vec<i64>,
    term_models: Vec<String>,
    terms: Vec<String>,
    df: Vec<i64>,
}

impl Counts {
    /// The same figures for chunks re-embedded by `model`.
    pub(super) fn moved_to(&self, model: &str) -> Self {
        Self {
            stat_models: vec![model.to_owned(); self.stat_models.len()],
            term_models: vec![model.to_owned(); self.term_models.len()],
            ..self.clone()
        }
    }
}

/// Which of the tenant's chunks to count.
#[derive(Debug, Clone, Copy)]
pub(super) enum Of<'a> {
    Documents(&'a [Uuid]),
    Chunks(&'a [Uuid]),
}

/// Binds the one array `of` carries as `$2`.
macro_rules! bind_of {
    ($query:expr, $of:expr) => {
        match $of {
            Of::Documents(ids) | Of::Chunks(ids) => $query.bind(ids),
        }
    };
}

/// The figures of what `of` selects, for a change that subtracts or moves them: its documents
/// locked first, then counted. (Writing a document locks it by its upsert: it calls [`count`].)
pub(super) async fn lock_and_count(tx: &mut TenantTx, of: Of<'_>) -> Result<Counts, StoreError> {
    lock_documents(tx, of).await?;
    count(tx, of).await
}

/// Locks the documents that `of` selects (or whose chunks it selects), in id order, so that the
/// figures counted next cannot change before the transaction that subtracts or moves them
/// commits: a concurrent replacement, deletion or re-embedding of the same document waits, then
/// counts what this one left. Its own statement, so that the count after it reads a snapshot
/// taken once the locks are held.
async fn lock_documents(tx: &mut TenantTx, of: Of<'_>) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let selected = match of {
        Of::Documents(_) => "d.id = ANY($2)",
        Of::Chunks(_) => {
            "d.id IN (SELECT c.document_id FROM chunks c WHERE c.user_id = $1 AND c.id = ANY($2))"
        }
    };
    let sql = format!(
        "SELECT d.id FROM documents d WHERE d.user_id = $1 AND {selected} ORDER BY d.id FOR UPDATE"
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id);
    bind_of!(query, of).fetch_all(tx.conn()).await?;
    Ok(())
}

/// The condition on `chunks c` that selects what `of` names, its ids bound as `$2` (the tenant
/// is `$1`).
fn selected(of: Of<'_>) -> &'static str {
    match of {
        Of::Documents(_) => "c.document_id = ANY($2)",
        Of::Chunks(_) => "c.id = ANY($2)",
    }
}

/// The figures of the tenant's chunks that `of` selects, as stored now.
pub(super) async fn count(tx: &mut TenantTx, of: Of<'_>) -> Result<Counts, StoreError> {
    let user_id = tx.user_id();
    let selected = selected(of);
    // One row per model with lexeme NULL (chunks, lengths), one per model and lexeme (df).
    let sql = format!(
        "SELECT c.embed_model, NULL::text AS lexeme, count(*)::int8, sum(length(c.tsv))::int8 \
         FROM chunks c WHERE c.user_id = $1 AND {selected} GROUP BY c.embed_model \
         UNION ALL \
         SELECT c.embed_model, l.lexeme, count(*)::int8, 0::int8 \
         FROM chunks c, unnest(tsvector_to_array(c.tsv)) AS l (lexeme) \
         WHERE c.user_id = $1 AND {selected} GROUP BY c.embed_model, l.lexeme"
    );
    let query = sqlx::query_as::<_, (String, Option<String>, i64, i64)>(sqlx::AssertSqlSafe(sql))
        .bind(user_id);
    let rows = bind_of!(query, of).fetch_all(tx.conn()).await?;
    let mut counts = Counts::default();
    for (model, lexeme, n, length) in rows {
        match lexeme {
            None => {
                counts.stat_models.push(model);
                counts.chunks.push(n);
                counts.lexemes.push(length);
            }
            Some(lexeme) => {
                counts.term_models.push(model);
                counts.terms.push(lexeme);
                counts.df.push(n);
            }
        }
    }
    Ok(counts)
}

/// Adds `plus` to the tenant's figures and subtracts `minus`, in one statement per table that
/// locks its rows in key order (terms, then stats), so that concurrent writers of one tenant
/// queue instead of deadlocking. Every caller locks its documents first (their upsert, or
/// [`lock_and_count`]) and makes one such change per transaction: a second one, after the first
/// holds rows of `chunk_terms`, could wait on a document whose writer waits on those rows.
pub(super) async fn apply(
    tx: &mut TenantTx,
    plus: &Counts,
    minus: &Counts,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let negated = |v: &[i64]| v.iter().map(|n| -n).collect::<Vec<i64>>();
    if !plus.terms.is_empty() || !minus.terms.is_empty() {
        sqlx::query(
            // language=PostgreSQL
            // RETURNING: an INSERT … SELECT without it is COPYed into the shard on Citus, which
            // row-level security refuses (src/audit/store.rs).
            "INSERT INTO chunk_terms AS t (user_id, embed_model, lexeme, df) \
             SELECT $1, m, l, sum(n) FROM ( \
                 SELECT * FROM unnest($2::text[], $3::text[], $4::int8[]) \
                 UNION ALL \
                 SELECT * FROM unnest($5::text[], $6::text[], $7::int8[])) AS d (m, l, n) \
             GROUP BY m, l HAVING sum(n) <> 0 ORDER BY m, l \
             ON CONFLICT (user_id, embed_model, lexeme) DO UPDATE SET df = t.df + EXCLUDED.df \
             RETURNING 1",
        )
        .bind(user_id)
        .bind(&plus.term_models)
        .bind(&plus.terms)
        .bind(&plus.df)
        .bind(&minus.term_models)
        .bind(&minus.terms)
        .bind(negated(&minus.df))
        .fetch_all(tx.conn())
        .await?;
    }
    if !plus.stat_models.is_empty() || !minus.stat_models.is_empty() {
        sqlx::query(
            // language=PostgreSQL
            "INSERT INTO chunk_stats AS s (user_id, embed_model, chunks, lexemes) \
             SELECT $1, m, sum(n), sum(len) FROM ( \
                 SELECT * FROM unnest($2::text[], $3::int8[], $4::int8[]) \
                 UNION ALL \
                 SELECT * FROM unnest($5::text[], $6::int8[], $7::int8[])) AS d (m, n, len) \
             GROUP BY m ORDER BY m \
             ON CONFLICT (user_id, embed_model) DO UPDATE \
                 SET chunks = s.chunks + EXCLUDED.chunks, lexemes = s.lexemes + EXCLUDED.lexemes \
             RETURNING 1",
        )
        .bind(user_id)
        .bind(&plus.stat_models)
        .bind(&plus.chunks)
        .bind(&plus.lexemes)
        .bind(&minus.stat_models)
        .bind(negated(&minus.chunks))
        .bind(negated(&minus.lexemes))
        .fetch_all(tx.conn())
        .await?;
    }
    Ok(())
}

/// What a posting holds, read from the chunk `c` and one lexeme `u` of its `unnest(c.tsv)`:
/// (user, model, lexeme, chunk, occurrences, occurrences in the title or headings, the chunk's
/// length). A lexeme without positions (a stripped vector, which only a chunk written round the
/// store can have) occurs once.
const POSTING: &str = "c.user_id, c.embed_model, u.lexeme, c.id, \
    coalesce(cardinality(u.positions), 1), \
    coalesce(cardinality(array_positions(u.weights, 'A')), 0), length(c.tsv)";

/// The statement that writes the postings of the tenant's (`$1`) chunks `c` that `selected`
/// selects. RETURNING: see `apply` (its rows are discarded as they arrive).
fn insert_postings(selected: &str) -> String {
    format!(
        "INSERT INTO chunk_postings \
             (user_id, embed_model, lexeme, chunk_id, tf, tf_title, len) \
         SELECT {POSTING} FROM chunks c, unnest(c.tsv) AS u \
         WHERE c.user_id = $1 AND {selected} ORDER BY 2, 3, 4 RETURNING 1"
    )
}

/// Writes the postings of the chunks `of` selects, once they are written or re-embedded.
pub(super) async fn add_postings(tx: &mut TenantTx, of: Of<'_>) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let query = sqlx::query(sqlx::AssertSqlSafe(insert_postings(selected(of)))).bind(user_id);
    bind_of!(query, of).execute(tx.conn()).await?;
    Ok(())
}

/// Deletes the postings of the chunks `of` selects, before they are deleted, replaced or
/// re-embedded: each found by its key (model, lexeme, chunk), read from the chunk itself.
pub(super) async fn remove_postings(tx: &mut TenantTx, of: Of<'_>) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let sql = format!(
        "DELETE FROM chunk_postings p \
         USING chunks c, unnest(tsvector_to_array(c.tsv)) AS l (lexeme) \
         WHERE c.user_id = $1 AND {} AND p.user_id = $1 AND p.embed_model = c.embed_model \
           AND p.lexeme = l.lexeme AND p.chunk_id = c.id",
        selected(of)
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id);
    bind_of!(query, of).execute(tx.conn()).await?;
    Ok(())
}

/// Rewrites the tenant's figures and postings from its chunks: for chunks written by other means
/// than the store (a bulk copy, a restore) and to drop the rows of lexemes no chunk has any more.
/// Returns how many chunks it counted. It takes no locks: run it while nothing writes the
/// tenant's knowledge (a writer that commits between its statements would make it fail on a
/// duplicate posting, or count that writer's chunks twice or not at all).
pub async fn recount(tx: &mut TenantTx) -> Result<i64, StoreError> {
    let user_id = tx.user_id();
    sqlx::query("DELETE FROM chunk_postings WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(insert_postings("true")))
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM chunk_terms WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM chunk_stats WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        // language=PostgreSQL
        "INSERT INTO chunk_terms (user_id, embed_model, lexeme, df) \
         SELECT $1, c.embed_model, l.lexeme, count(*) \
         FROM chunks c, unnest(tsvector_to_array(c.tsv)) AS l (lexeme) \
         WHERE c.user_id = $1 GROUP BY c.embed_model, l.lexeme ORDER BY 2, 3 \
         RETURNING 1",
    )
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    let counted: Vec<i64> = sqlx::query_scalar(
        // language=PostgreSQL
        "INSERT INTO chunk_stats (user_id, embed_model, chunks, lexemes) \
         SELECT $1, c.embed_model, count(*), sum(length(c.tsv)) \
         FROM chunks c WHERE c.user_id = $1 GROUP BY c.embed_model ORDER BY 2 \
         RETURNING chunks",
    )
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(counted.iter().sum())
}

/// The tenant's figures as stored, for tests and operators: (model, lexeme or None for the
/// model's chunk count, count, sum of lengths or 0), sorted; lexemes counted 0 are left out.
pub async fn stored(
    tx: &mut TenantTx,
) -> Result<Vec<(String, Option<String>, i64, i64)>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as(
        // language=PostgreSQL
        "SELECT embed_model, NULL::text AS lexeme, chunks, lexemes FROM chunk_stats \
         WHERE user_id = $1 AND chunks <> 0 \
         UNION ALL \
         SELECT embed_model, lexeme, df, 0::int8 FROM chunk_terms \
         WHERE user_id = $1 AND df <> 0 \
         ORDER BY 1, 2 NULLS FIRST",
    )
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// One posting as stored: (model, lexeme, chunk, tf, tf_title, len).
pub type Posting = (String, String, Uuid, i32, i32, i32);

/// The tenant's postings as stored, sorted, for tests and operators.
pub async fn stored_postings(tx: &mut TenantTx) -> Result<Vec<Posting>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as(
        // language=PostgreSQL
        "SELECT embed_model, lexeme, chunk_id, tf, tf_title, len FROM chunk_postings \
         WHERE user_id = $1 ORDER BY 1, 2, 3",
    )
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}
