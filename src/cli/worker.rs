//! `worker` runs the triage queue; `jobs` lets an operator see and retry jobs.

use std::time::Duration;

use clap::{Args, Subcommand};
use uuid::Uuid;

use super::setup::{owner_pool, service_db};
use super::signal::shutdown_signal;
use super::{parse_uuid, print_json};
use crate::config::{DbSettings, parse_duration};
use crate::jobs;
use crate::knowledge::SharedEmbedder;
use crate::llm::{ChatModel, LlmSettings};
use crate::triage::Limits;
use crate::triage::handler::{Engine, TriageHandler};
use crate::triage::offline::Offline;
use crate::worker::{Worker, WorkerOptions};

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Run until the queue is empty, then exit.
    #[arg(long)]
    once: bool,
    /// Jobs run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// How long a claimed job is this worker's before another may take it over.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    lease: Duration,
    /// Model calls per job at most.
    #[arg(long, env = "LLM_MAX_TURNS", default_value_t = 8)]
    max_turns: u32,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

pub(super) async fn worker(
    db: &DbSettings,
    llm: &LlmSettings,
    embedder: Option<SharedEmbedder>,
    args: WorkerArgs,
) -> anyhow::Result<()> {
    let db = service_db(db).await?;
    let engine = engine(llm, embedder)?;
    let limits = Limits {
        max_turns: args.max_turns.max(1),
        ..Limits::default()
    };
    let handler = TriageHandler::new(db.clone(), engine, limits);
    let opts = WorkerOptions {
        concurrency: usize::from(args.concurrency),
        lease: args.lease,
        ..WorkerOptions::default()
    };
    tracing::info!(worker = %opts.worker_id, concurrency = opts.concurrency, "worker starting");
    let worker = Worker::new(db, handler, opts);
    let summary = if args.once {
        worker.run_until_empty().await?
    } else {
        worker.run(shutdown_signal()).await?
    };
    if args.json {
        return print_json(&summary);
    }
    eprintln!(
        "jobs done {}, retrying {}, dead {}, released {}",
        summary.done, summary.retrying, summary.dead, summary.released
    );
    Ok(())
}

/// The chat model when one is configured, else the offline engine, which needs the embedder.
pub(super) fn engine(
    llm: &LlmSettings,
    embedder: Option<SharedEmbedder>,
) -> anyhow::Result<Engine> {
    if llm.is_configured() {
        return Ok(Engine::Llm(Box::new(ChatModel::new(llm))));
    }
    match embedder {
        Some(embedder) => Ok(Engine::Offline(Offline::new(embedder))),
        None => anyhow::bail!(
            "no chat model is configured (LLM_BASE_URL) and the offline engine needs the embedding \
             model: run scripts/fetch-model.sh"
        ),
    }
}

#[derive(Debug, Subcommand)]
pub enum JobsCmd {
    /// List jobs of every tenant, newest first (owner connection).
    List {
        /// Only jobs in this state.
        #[arg(long, value_parser = ["queued", "running", "done", "dead"])]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Queue a dead (or done) job again with a fresh set of attempts (owner connection).
    Retry {
        #[arg(value_parser = parse_uuid)]
        job: Uuid,
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn jobs(db: &DbSettings, cmd: JobsCmd) -> anyhow::Result<()> {
    let owner = owner_pool(db).await?;
    match cmd {
        JobsCmd::List {
            status,
            limit,
            json,
        } => {
            let rows = jobs::store::list(&owner, status.as_deref(), limit).await?;
            if json {
                return print_json(&serde_json::json!({ "jobs": rows }));
            }
            for j in rows {
                println!(
                    "{}  {:<7} attempts {}/{}  ticket {}  {}",
                    j.id,
                    j.status,
                    j.attempts,
                    j.max_attempts,
                    j.ticket_id,
                    j.last_error.unwrap_or_default()
                );
            }
        }
        JobsCmd::Retry { job, json } => {
            let row = jobs::store::retry(&owner, job).await?;
            if json {
                return print_json(&row);
            }
            println!("job {} queued again", row.id);
        }
    }
    Ok(())
}
