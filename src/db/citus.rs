//! Citus, the scale-out path (issue 25): telling plain PostgreSQL from a Citus coordinator,
//! distributing the schema by `user_id`, and checking that it is.
//!
//! The layout: `users` is a reference table (a copy on every node: every tenant table references
//! it); `customers` is distributed by `user_id`, and every other table with a `user_id` column is
//! distributed by it too, colocated with `customers`, so that one tenant's rows of every table
//! live in one shard group and a statement that says `user_id = $1` runs on one node. The
//! foreign keys are dropped for the distribution and added back, in one transaction.
//!
//! A tenant table with a unique key that leaves `user_id` out (`stripe_accounts.account_id`: one
//! Connect account, one tenant) cannot be enforced across shards; such a table is a reference
//! table too, whose every copy holds every row, so that the key holds across tenants.

use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Connection};

use super::ConnectError;

/// The table every tenant table is colocated with.
pub const ANCHOR: &str = "customers";
/// The reference table: the tenants themselves.
pub const REFERENCE: &str = "users";
/// Tables that stay on the coordinator (sqlx's migration ledger).
const LOCAL: &[&str] = &["_sqlx_migrations"];

/// What serves the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backend {
    /// PostgreSQL without the citus extension.
    Plain { server: String },
    /// A Citus coordinator (or a database with the extension).
    Citus { server: String, citus: String },
}

impl Backend {
    pub fn is_citus(&self) -> bool {
        matches!(self, Self::Citus { .. })
    }
}

/// Where one table's rows live.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "placement", rename_all = "snake_case")]
pub enum Placement {
    /// An ordinary table on this node (or a Citus-managed local table).
    Local,
    /// A Citus reference table.
    Reference,
    /// A Citus hash-distributed table.
    Distributed { column: String, colocation: i32 },
}

/// A table of the schema and where it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableLayout {
    pub name: String,
    pub has_user_id: bool,
    /// A unique key without `user_id`: the table must be a reference table.
    pub global_unique: bool,
    #[serde(flatten)]
    pub placement: Placement,
}

impl TableLayout {
    /// Whether the layout makes this a reference table.
    pub fn is_reference(&self) -> bool {
        self.name == REFERENCE || self.global_unique
    }
}

/// What `doctor` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub backend: Backend,
    /// Worker nodes (primaries) registered with the coordinator; 0 on plain PostgreSQL.
    pub workers: i64,
    pub tables: Vec<TableLayout>,
    /// `citus.propagate_set_commands` as this connection has it (`local` is what the tenant
    /// context needs to reach the workers); `None` on plain PostgreSQL.
    pub propagate_set_commands: Option<String>,
    /// Every way the layout differs from the one described above; empty when it is right.
    pub problems: Vec<String>,
}

/// Reads which server this is.
pub async fn backend(pool: &PgPool) -> Result<Backend, sqlx::Error> {
    let server: String = sqlx::query_scalar("SELECT current_setting('server_version')")
        .fetch_one(pool)
        .await?;
    let citus: Option<String> =
        sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'citus'")
            .fetch_optional(pool)
            .await?;
    Ok(match citus {
        Some(citus) => Backend::Citus { server, citus },
        None => Backend::Plain { server },
    })
}

/// The tables of the `public` schema and where each is.
async fn layout(pool: &PgPool, citus: bool) -> Result<Vec<TableLayout>, sqlx::Error> {
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT c.relname::text, a.attnum IS NOT NULL, \
                a.attnum IS NOT NULL AND EXISTS (SELECT 1 FROM pg_index i \
                  WHERE i.indrelid = c.oid AND i.indisunique AND NOT a.attnum = ANY (i.indkey)) \
           FROM pg_class c \
           LEFT JOIN pg_attribute a \
             ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped \
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') \
            AND NOT c.relispartition \
          ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let dist: Vec<(String, String, Option<String>, i32)> = if citus {
        sqlx::query_as(
            // language=PostgreSQL
            "SELECT c.relname::text, p.partmethod::text, \
                    CASE WHEN p.partmethod = 'h' \
                         THEN column_to_column_name(p.logicalrelid, p.partkey) END, \
                    p.colocationid \
               FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid \
              WHERE c.relnamespace = 'public'::regnamespace",
        )
        .fetch_all(pool)
        .await?
    } else {
        Vec::new()
    };
    Ok(tables
        .into_iter()
        .map(|(name, has_user_id, global_unique)| {
            let placement = match dist.iter().find(|d| d.0 == name) {
                Some((_, m, Some(col), colo)) if m == "h" => Placement::Distributed {
                    column: col.clone(),
                    colocation: *colo,
                },
                // Reference tables and Citus-managed local tables both have method 'n'; only a
                // reference table has a colocation group of its own (local ones have 0).
                Some((_, m, _, colo)) if m == "n" && *colo != 0 => Placement::Reference,
                _ => Placement::Local,
            };
            TableLayout {
                name,
                has_user_id,
                global_unique,
                placement,
            }
        })
        .collect())
}

/// What is wrong with `tables` as a Citus layout (see the module's documentation).
pub fn problems(tables: &[TableLayout]) -> Vec<String> {
    let mut out = Vec::new();
    if !tables.iter().any(|t| t.has_user_id) {
        out.push("the schema has no tenant tables: run `migrate --citus`".to_owned());
    }
    let anchor = tables.iter().find_map(|t| match &t.placement {
        Placement::Distributed { colocation, .. } if t.name == ANCHOR => Some(*colocation),
        _ => None,
    });
    for t in tables {
        if LOCAL.contains(&t.name.as_str()) {
            continue;
        }
        if t.is_reference() {
            if t.placement != Placement::Reference {
                out.push(format!("{} is not a reference table", t.name));
            }
            continue;
        }
        if !t.has_user_id {
            out.push(format!(
                "{} has no user_id column: it cannot be distributed by tenant",
                t.name
            ));
            continue;
        }
        match &t.placement {
            Placement::Distributed { column, .. } if column != "user_id" => out.push(format!(
                "{} is distributed by {column}, not user_id",
                t.name
            )),
            Placement::Distributed { colocation, .. } => {
                if anchor.is_some_and(|a| a != *colocation) {
                    out.push(format!("{} is not colocated with {ANCHOR}", t.name));
                }
            }
            _ => out.push(format!("{} is not distributed by user_id", t.name)),
        }
    }
    out
}

/// Reads the whole report.
pub async fn check(pool: &PgPool) -> Result<Report, sqlx::Error> {
    let backend = backend(pool).await?;
    let citus = backend.is_citus();
    let tables = layout(pool, citus).await?;
    let workers: i64 = if citus {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0",
        )
        .fetch_one(pool)
        .await?
    } else {
        0
    };
    let (propagate, problems) = if citus {
        let p: String =
            sqlx::query_scalar("SELECT current_setting('citus.propagate_set_commands')")
                .fetch_one(pool)
                .await?;
        let mut problems = problems(&tables);
        let notify_on: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger \
                             WHERE tgname = 'jobs_notify' AND tgenabled <> 'D' \
                               AND tgrelid = to_regclass('public.jobs'))",
        )
        .fetch_one(pool)
        .await?;
        let restrictive: Vec<String> = sqlx::query_scalar(
            "SELECT tablename || '.' || policyname FROM pg_policies \
              WHERE schemaname = 'public' AND permissive = 'RESTRICTIVE' ORDER BY 1",
        )
        .fetch_all(pool)
        .await?;
        for p in restrictive {
            problems.push(format!(
                "{p} is a RESTRICTIVE policy: Citus 13.2 copies it to the shards as PERMISSIVE"
            ));
        }
        if notify_on {
            problems.push(
                "the trigger jobs_notify is on: a write to jobs on several nodes fails \
                 (migrate --citus turns it off)"
                    .into(),
            );
        }
        if p != "local" {
            problems.push(format!(
                "citus.propagate_set_commands is '{p}', not 'local': the tenant context would not \
                 reach the workers"
            ));
        }
        (Some(p), problems)
    } else {
        (None, Vec::new())
    };
    Ok(Report {
        backend,
        workers,
        tables,
        propagate_set_commands: propagate,
        problems,
    })
}

/// What [`distribute`] did.
#[derive(Debug, Clone, Default)]
pub struct Distributed {
    /// Tables that were made reference or distributed tables by this run.
    pub tables: Vec<String>,
    /// Of those, the reference tables.
    pub reference: Vec<String>,
    /// Foreign keys dropped and added back.
    pub foreign_keys: usize,
    /// Whether the queue's NOTIFY trigger was turned off by this run.
    pub notify_disabled: bool,
    /// Foreign keys dropped and not added back: `ON DELETE SET NULL (column)`, which Citus
    /// cannot do on a distributed table.
    pub unenforced: Vec<String>,
}

/// Distributes every table that is not yet where the layout puts it, in one transaction; a
/// database already laid out is left alone (`tables` empty). Run as the owner role, after the
/// migrations.
pub async fn distribute(owner: &PgPool) -> Result<Distributed, ConnectError> {
    let fail = |e: sqlx::Error| ConnectError::Migrate(format!("distributing on Citus: {e}"));
    if !backend(owner).await.map_err(fail)?.is_citus() {
        return Err(ConnectError::Migrate(
            "--citus: this database has no citus extension (CREATE EXTENSION citus on the \
             coordinator, as a superuser; README, Scaling out)"
                .into(),
        ));
    }
    let tables = layout(owner, true).await.map_err(fail)?;
    let pending: Vec<&TableLayout> = tables
        .iter()
        .filter(|t| !LOCAL.contains(&t.name.as_str()))
        .filter(|t| match &t.placement {
            _ if t.is_reference() => t.placement != Placement::Reference,
            Placement::Distributed { .. } => false,
            _ => t.has_user_id,
        })
        .collect();
    let mut conn = owner.acquire().await.map_err(fail)?;
    let mut tx = conn.begin().await.map_err(fail)?;
    // Shards created and foreign keys added in one transaction must use one connection per node.
    // The triggers (updated_at, ticket numbers, the queue's wake-up) run on the shards: Citus
    // calls that unsafe because a trigger that touched another shard could deadlock; ours touch
    // only the row itself or the same tenant's colocated row.
    for set in [
        "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'",
        "SET LOCAL citus.enable_unsafe_triggers TO on",
    ] {
        sqlx::query(set).execute(&mut *tx).await.map_err(fail)?;
    }
    // Every foreign key that touches a table about to move (a reference or distributed table
    // cannot be created while a local table references it, nor reference a local one).
    let names: Vec<String> = pending.iter().map(|t| t.name.clone()).collect();
    let fks: Vec<(String, String, String)> = sqlx::query_as(
        // language=PostgreSQL
        "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) \
           FROM pg_constraint c \
           JOIN pg_class s ON s.oid = c.conrelid JOIN pg_class t ON t.oid = c.confrelid \
          WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace \
            AND (s.relname = ANY ($1) OR t.relname = ANY ($1)) \
          ORDER BY 1, 2",
    )
    .bind(&names)
    .fetch_all(&mut *tx)
    .await
    .map_err(fail)?;
    for (table, name, _) in &fks {
        let sql = format!("ALTER TABLE {table} DROP CONSTRAINT {}", ident(name));
        sqlx::query(AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    // The reference table first, then the anchor, then the rest colocated with it.
    let mut order: Vec<&TableLayout> = pending.clone();
    order.sort_by_key(|t| match t.name.as_str() {
        REFERENCE => 0,
        _ if t.is_reference() => 1,
        ANCHOR => 2,
        _ => 3,
    });
    for t in &order {
        // A table Citus took over as a local table (one that referenced a reference table) is
        // given back first; it is an ordinary table again once its keys are gone.
        let citus_local: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1::regclass)",
        )
        .bind(&t.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        if citus_local {
            sqlx::query("SELECT undistribute_table($1::regclass)")
                .bind(&t.name)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        let q = match t.name.as_str() {
            _ if t.is_reference() => sqlx::query("SELECT create_reference_table($1::regclass)"),
            ANCHOR => sqlx::query("SELECT create_distributed_table($1::regclass, 'user_id')"),
            _ => sqlx::query(
                "SELECT create_distributed_table($1::regclass, 'user_id', \
                                                 colocate_with => 'customers')",
            ),
        };
        q.bind(&t.name).execute(&mut *tx).await.map_err(fail)?;
    }
    let mut unenforced = Vec::new();
    for (table, name, def) in &fks {
        // Citus cannot set one column of a key that includes the distribution column to NULL
        // ("SET NULL or SET DEFAULT is not supported in ON DELETE operation when distribution
        // key is included in the foreign key constraint"): such a reference is left without its
        // key (README, Scaling out).
        if def.contains("ON DELETE SET NULL (") || def.contains("ON DELETE SET DEFAULT (") {
            unenforced.push(format!("{table}.{name}"));
            continue;
        }
        let sql = format!("ALTER TABLE {table} ADD CONSTRAINT {} {def}", ident(name));
        sqlx::query(AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    // The queue's wake-up (jobs_notify) would NOTIFY on the worker that holds the shard, where
    // no worker process listens, and a NOTIFY cannot be part of the two-phase commit of a write
    // to several nodes ("cannot PREPARE a transaction that has executed … NOTIFY"). On Citus the
    // worker processes find new jobs at their next poll instead.
    let notify_on: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger \
                         WHERE tgrelid = 'public.jobs'::regclass AND tgname = 'jobs_notify' \
                           AND tgenabled <> 'D')",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(fail)?;
    if notify_on {
        sqlx::query("ALTER TABLE public.jobs DISABLE TRIGGER jobs_notify")
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    tx.commit().await.map_err(fail)?;
    Ok(Distributed {
        notify_disabled: notify_on,
        tables: order.iter().map(|t| t.name.clone()).collect(),
        reference: order
            .iter()
            .filter(|t| t.is_reference())
            .map(|t| t.name.clone())
            .collect(),
        foreign_keys: fks.len() - unenforced.len(),
        unenforced,
    })
}

/// A constraint name as an identifier (the catalog's own names; quoted all the same).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, placement: Placement) -> TableLayout {
        TableLayout {
            name: name.into(),
            has_user_id: name != "users" && name != "_sqlx_migrations",
            global_unique: name == "stripe_accounts",
            placement,
        }
    }

    fn dist(column: &str, colocation: i32) -> Placement {
        Placement::Distributed {
            column: column.into(),
            colocation,
        }
    }

    #[test]
    fn the_intended_layout_has_no_problems() {
        let tables = [
            t("_sqlx_migrations", Placement::Local),
            t("users", Placement::Reference),
            t("customers", dist("user_id", 2)),
            t("tickets", dist("user_id", 2)),
            t("stripe_accounts", Placement::Reference),
        ];
        assert!(problems(&tables).is_empty());
    }

    #[test]
    fn a_local_a_wrongly_keyed_and_a_separately_colocated_table_are_each_named() {
        let tables = [
            t("users", Placement::Local),
            t("customers", dist("user_id", 2)),
            t("tickets", Placement::Local),
            t("messages", dist("id", 2)),
            t("jobs", dist("user_id", 3)),
            t("stripe_accounts", dist("user_id", 2)),
        ];
        assert_eq!(
            problems(&tables),
            [
                "users is not a reference table",
                "tickets is not distributed by user_id",
                "messages is distributed by id, not user_id",
                "jobs is not colocated with customers",
                "stripe_accounts is not a reference table",
            ]
        );
    }
}
