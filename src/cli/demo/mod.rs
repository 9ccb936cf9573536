//! `demo`: a demo desk from `examples/demo/`, its knowledge ingested, its new tickets triaged,
//! then each ticket with its category, priority and draft. Safe to run again.

mod desk;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use indicatif::ProgressBar;

use super::Cli;
use super::context::{service_db, tool_ctx};
use crate::knowledge::{self, IngestOptions, SharedEmbedder};
use crate::messages::{Message, Sender};
use crate::triage::handler::TriageHandler;
use crate::triage::{Engine, Limits};
use crate::worker::{Worker, WorkerOptions};
use crate::{Db, Tenant, tickets};

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The demo desk: desk.json and a knowledge/ folder.
    #[arg(long, default_value = "examples/demo")]
    dir: PathBuf,
    /// The demo tenant's password for the inbox pages (`scripts/setup.sh` writes a random one
    /// to .env); without it the demo tenant has no login.
    #[arg(long, env = "DEMO_PASSWORD", hide_env_values = true)]
    demo_password: Option<String>,
}

pub(super) async fn run(cli: &Cli, args: DemoArgs) -> anyhow::Result<()> {
    let db = service_db(&cli.db).await?;
    let ctx = tool_ctx(db.clone(), cli)?;
    let embedder = ctx.knowledge().map(|k| k.embedder.clone());
    let desk = desk::read(&args.dir)?;
    let engine = Engine::from_settings(&cli.llm, &ctx)?;
    let loaded = desk::load(&db, embedder.as_ref(), &desk).await?;
    let tenant = loaded.tenant.context("the demo tenant")?;
    println!(
        "Demo desk \"{}\" (tenant {}): {} customers, {} categorised history tickets, {} new tickets ({} created now).",
        desk.tenant.name,
        tenant,
        desk.customers.len(),
        desk.history.len(),
        desk.tickets.len(),
        loaded.created_tickets
    );
    match &embedder {
        Some(embedder) => {
            let options = cli.ingest.options(false, super::knowledge::this_binary()?);
            ingest(
                &db,
                embedder,
                &tenant,
                &args.dir.join("knowledge"),
                &options,
            )
            .await?
        }
        None => {
            println!("Knowledge: not ingested (no embedding model: run scripts/fetch-model.sh).")
        }
    }
    let label = engine.label();
    let max_running_per_tenant = ctx.limits().settings.tenant_max_running_jobs;
    let handler = TriageHandler::new(ctx, engine, Limits::default());
    let opts = WorkerOptions {
        concurrency: 2,
        worker_id: "demo".into(),
        max_running_per_tenant,
        ..WorkerOptions::default()
    };
    let summary = Worker::new(db.clone(), handler, opts)
        .run_until_empty()
        .await?;
    println!(
        "Triage ({label}): {} jobs done, {} to retry, {} dead.\n",
        summary.done, summary.retrying, summary.dead
    );
    for id in &loaded.tickets {
        print_ticket(&db, &tenant, *id).await?;
    }
    print_connect(cli, &tenant)?;
    match args.demo_password.filter(|p| !p.is_empty()) {
        Some(password) => {
            let password = crate::config::Secret::new(password);
            desk::set_password(&db, &tenant, &desk.tenant.email, &password)
                .await
                .context("DEMO_PASSWORD")?;
            println!(
                "Inbox login for the demo desk (serve --http, then open /login): email {} \
                 password {} (DEMO_PASSWORD in .env).",
                desk.tenant.email,
                password.expose()
            );
        }
        None => println!(
            "The demo desk has no inbox login: set DEMO_PASSWORD (scripts/setup.sh writes one to \
             .env) and run the demo again."
        ),
    }
    Ok(())
}

async fn ingest(
    db: &Db,
    embedder: &SharedEmbedder,
    tenant: &Tenant,
    dir: &Path,
    options: &IngestOptions,
) -> anyhow::Result<()> {
    let report = knowledge::ingest(
        db,
        embedder.as_ref(),
        tenant,
        &[dir.to_path_buf()],
        options,
        &ProgressBar::hidden(),
    )
    .await?;
    let d = &report.documents;
    println!(
        "Knowledge: {} documents added, {} updated, {} unchanged, {} failed; {} chunks in {:.1}s.",
        d.added, d.updated, d.unchanged, d.failed, report.chunks, report.seconds
    );
    Ok(())
}

async fn print_ticket(db: &Db, tenant: &Tenant, id: uuid::Uuid) -> anyhow::Result<()> {
    let mut tx = db.begin(tenant).await?;
    let thread = tickets::store::get_thread(&mut tx, id).await?;
    tx.commit().await?;
    let t = &thread.ticket;
    println!(
        "== {} — {} <{}>",
        t.subject, thread.customer.name, thread.customer.email
    );
    println!(
        "   category {} ({:.2}) · priority {} · sentiment {} · language {} · needs a person: {}",
        t.category.as_deref().unwrap_or("-"),
        t.confidence.unwrap_or(0.0),
        t.priority,
        t.sentiment.as_deref().unwrap_or("-"),
        t.language.as_deref().unwrap_or("-"),
        if t.needs_human { "yes" } else { "no" }
    );
    let draft: Option<&Message> = thread
        .messages
        .iter()
        .rev()
        .find(|m| m.sender_type == Sender::Ai);
    match draft {
        Some(m) => {
            println!("   draft (for a person to review and send):");
            for line in m.content.lines() {
                println!("     {line}");
            }
            let cites = m
                .citations
                .as_ref()
                .and_then(|c| c.as_array())
                .map_or(0, Vec::len);
            println!(
                "   cites {cites} source(s): {}\n",
                m.citations.clone().unwrap_or_default()
            );
        }
        None => println!("   no draft yet\n"),
    }
    Ok(())
}

fn print_connect(cli: &Cli, tenant: &Tenant) -> anyhow::Result<()> {
    let exe = std::env::current_exe()
        .map_or_else(|_| "support-agent".into(), |p| p.display().to_string());
    // Claude Desktop starts the server elsewhere: a relative model folder would not resolve.
    let model_dir = std::path::absolute(&cli.embed.embed_model_dir)
        .unwrap_or_else(|_| cli.embed.embed_model_dir.clone());
    let model_dir = model_dir.display().to_string();
    let entry = super::claude::DesktopEntry {
        command: &exe,
        embed_model_dir: &model_dir,
        jwt_issuer: &cli.jwt.jwt_issuer,
        jwt_audience: &cli.jwt.jwt_audience,
    };
    println!(
        "Connect Claude Desktop to this desk: issue a token ({exe} token issue --user {tenant} \
         --ttl 30d), then add this to claude_desktop_config.json, each <…> copied from where it \
         says (README.md, Claude Desktop):"
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&super::claude::desktop_config(&entry))?
    );
    println!("or serve it over HTTP: {exe} serve --http 127.0.0.1:8080 (see README.md).");
    Ok(())
}
