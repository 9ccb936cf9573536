//! `ingest` and `knowledge search|list|delete|reembed`: the knowledge base from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use uuid::Uuid;

use super::context::{TenantArgs, service_db};
use super::{parse_uuid, print_json};
use crate::config::DbSettings;
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
