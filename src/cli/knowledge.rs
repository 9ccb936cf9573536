//! `ingest` and `knowledge search|list|delete|reembed`: the knowledge base from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use uuid::Uuid;

use super::context::{TenantArgs, owner_pool, service_db};
use super::{parse_uuid, print_json};
use crate::config::{DbSettings, OwnerDb};
use crate::knowledge::ingest::IngestSettings;
use crate::knowledge::{self, EmbedSettings, SearchSettings, store};
use crate::tools::SearchKnowledgeOutput;

#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// The tenant whose knowledge base receives the documents.
    #[command(flatten)]
    tenant: TenantArgs,
    /// Files and folders (read recursively): Markdown, plain text, HTML and PDF.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Remove documents below the given paths whose files are gone.
    #[arg(long)]
    prune: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KnowledgeCmd {
    /// Search a tenant's knowledge base (vectors and full text, fused).
    Search {
        #[command(flatten)]
        tenant: TenantArgs,
        /// How many results, 1 to 20.
        #[arg(long, default_value_t = 5)]
        limit: i64,
        /// What to look for.
        query: String,
    },
    /// List a tenant's documents.
    List {
        #[command(flatten)]
        tenant: TenantArgs,
    },
    /// Delete a document and its chunks.
    Delete {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The document's id (from `knowledge list`).
        #[arg(long, value_parser = parse_uuid)]
        document: Uuid,
    },
    /// Re-embed a tenant's chunks with the configured model (EMBEDDER, EMBED_MODEL).
    Reembed {
        #[command(flatten)]
        tenant: TenantArgs,
    },
    /// Build an HNSW and a full-text index of their own for every tenant with at least
    /// --min-chunks chunks, so that its searches stay fast among millions of other chunks.
    ///
    /// Runs as the owner role (DATABASE_OWNER_URL), one index at a time, CREATE INDEX
    /// CONCURRENTLY: the tenants' ingestion and searches go on meanwhile. An index a stopped
    /// run left invalid is built again; the indexes of deleted tenants are dropped (and, with
    /// --prune, those of tenants now below --min-chunks). Safe to run again, e.g. nightly.
    Index(IndexArgs),
}

#[derive(Debug, Clone, Args)]
pub struct IndexArgs {
    #[command(flatten)]
    pub owner: OwnerDb,
    /// Tenants with at least this many chunks get indexes of their own.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub min_chunks: i64,
    /// Also drop the indexes of tenants that now have fewer than --min-chunks chunks.
    #[arg(long)]
    pub prune: bool,
    /// PostgreSQL's maintenance_work_mem for the builds (an HNSW build is much faster when its
    /// graph fits: about 200 MB per 100,000 chunks).
    #[arg(long, default_value = "1GB")]
    pub maintenance_work_mem: String,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Progress of `knowledge index` on stderr: a line when an index starts and when it is done.
struct IndexLines;

impl store::indexes::IndexProgress for IndexLines {
    fn start(&self, user_id: Uuid, kind: store::indexes::IndexKind, chunks: i64) {
        eprintln!("building the {kind:?} index of tenant {user_id} ({chunks} chunks)…");
    }
    fn done(&self, r: &store::indexes::IndexReport) {
        eprintln!("{} {:?} in {:.1}s", r.name, r.action, r.seconds);
    }
}

/// `knowledge index`: the per-tenant indexes (src/knowledge/store/indexes.rs).
pub(super) async fn index(args: &IndexArgs) -> anyhow::Result<()> {
    let owner = owner_pool(&args.owner).await?;
    if crate::db::citus::backend(&owner).await?.is_citus() {
        anyhow::bail!(
            "per-tenant indexes are for plain PostgreSQL: on Citus a large tenant's chunks \
             already sit in shards of their own (README, Scaling out)"
        );
    }
    let options = store::indexes::IndexOptions {
        min_chunks: args.min_chunks,
        prune: args.prune,
        maintenance_work_mem: args.maintenance_work_mem.clone(),
    };
    let reports = store::indexes::build(&owner, &options, &IndexLines)
        .await
        .context("knowledge index stopped")?;
    if args.json {
        return print_json(&serde_json::json!({
            "min_chunks": args.min_chunks,
            "indexes": reports,
        }));
    }
    if reports.is_empty() {
        println!(
            "no tenant has {} chunks or more: nothing to build",
            args.min_chunks
        );
    }
    for r in &reports {
        println!(
            "{}  {:?}  tenant {}  {} chunks  {:?}  {:.1}s",
            r.name, r.kind, r.user_id, r.chunks, r.action, r.seconds
        );
    }
    Ok(())
}

/// This binary, which extracts PDFs in a child process of itself.
pub(super) fn this_binary() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find this program's own path (for the PDF extractor)")
}

/// `__extract-pdf`: the PDF extractor's child side (see `knowledge::sandbox`). Not for people.
#[derive(Debug, Clone, Args)]
pub struct ExtractPdfArgs {
    #[arg(long)]
    max_memory: u64,
    #[arg(long)]
    cpu_seconds: u64,
    path: PathBuf,
}

pub(super) fn extract_pdf(args: &ExtractPdfArgs) -> std::process::ExitCode {
    knowledge::sandbox::run_child(&args.path, args.max_memory, args.cpu_seconds)
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}") {
        bar.set_style(style);
    }
    bar
}

pub(super) async fn ingest(
    db: &DbSettings,
    embed: &EmbedSettings,
    settings: &IngestSettings,
    args: IngestArgs,
) -> anyhow::Result<()> {
    let db = service_db(db).await?;
    let tenant = args.tenant.tenant(&db).await?;
    let embedder = embed.build()?;
    let options = settings.options(args.prune, this_binary()?);
    let report = knowledge::ingest(
        &db,
        embedder.as_ref(),
        &tenant,
        &args.paths,
        &options,
        &progress_bar(),
    )
    .await
    .context("ingestion stopped")?;
    if args.tenant.json {
        return print_json(&report);
    }
    for f in &report.failures {
        eprintln!("skipped {}: {}", f.path, f.reason);
    }
    let d = &report.documents;
    println!(
        "{} added, {} updated, {} unchanged, {} failed, {} pruned; {} chunks in {:.1}s \
         (embedding {:.1}s, database {:.1}s)",
        d.added,
        d.updated,
        d.unchanged,
        d.failed,
        d.pruned,
        report.chunks,
        report.seconds,
        report.embed_seconds,
        report.db_seconds
    );
    Ok(())
}

pub(super) async fn knowledge(
    db: &DbSettings,
    embed: &EmbedSettings,
    search: &SearchSettings,
    cmd: KnowledgeCmd,
) -> anyhow::Result<()> {
    // The one subcommand of the owner role: it needs no service-role connection.
    if let KnowledgeCmd::Index(args) = &cmd {
        return index(args).await;
    }
    let db = service_db(db).await?;
    match cmd {
        KnowledgeCmd::Search {
            tenant: args,
            limit,
            query,
        } => {
            let tenant = args.tenant(&db).await?;
            let embedder = embed.build()?;
            let hits =
                knowledge::search(&db, embedder.as_ref(), search, &tenant, &query, limit).await?;
            let out = SearchKnowledgeOutput::from(hits);
            if args.json {
                return print_json(&out);
            }
            for (i, r) in out.results.iter().enumerate() {
                let crumbs = r.hit.heading_path.join(" > ");
                println!(
                    "{}. [{}] {} — {} ({:.4})",
                    i + 1,
                    r.citation_id,
                    r.hit.title,
                    crumbs,
                    r.hit.score
                );
                println!("   {}", r.hit.source);
                println!(
                    "   {}",
                    r.hit
                        .text
                        .replace('\n', " ")
                        .chars()
                        .take(200)
                        .collect::<String>()
                );
            }
            Ok(())
        }
        KnowledgeCmd::List { tenant: args } => {
            let mut tx = db.begin(&args.tenant(&db).await?).await?;
            let docs = store::list(&mut tx).await?;
            tx.commit().await?;
            if args.json {
                return print_json(&serde_json::json!({ "documents": docs }));
            }
            for d in docs {
                println!(
                    "{}  {:>5} chunks  {}  {}",
                    d.id, d.chunk_count, d.kind, d.source
                );
            }
            Ok(())
        }
        KnowledgeCmd::Delete {
            tenant: args,
            document,
        } => {
            let mut tx = db.begin(&args.tenant(&db).await?).await?;
            store::delete(&mut tx, document).await?;
            tx.commit().await?;
            if args.json {
                return print_json(&serde_json::json!({ "deleted": document }));
            }
            println!("deleted {document}");
            Ok(())
        }
        KnowledgeCmd::Index(args) => index(&args).await,
        KnowledgeCmd::Reembed { tenant: args } => {
            let tenant = args.tenant(&db).await?;
            let embedder = embed.build()?;
            let report = knowledge::reembed(&db, embedder.as_ref(), &tenant).await?;
            if args.json {
                return print_json(&report);
            }
            println!(
                "{} chunks now embedded with {} ({:.1}s)",
                report.chunks, report.model, report.seconds
            );
            Ok(())
        }
    }
}
