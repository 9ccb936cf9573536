//! `worker`: runs the queue (triage, delivery by email, Stripe events) and reads the tenants' mailboxes
//! until stopped (or, with `--once`, reads each mailbox once and runs the queue until it is empty).

use std::time::Duration;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::print_json;
use super::signal::shutdown_signal;
use crate::actions::handler::ActionHandler;
use crate::channels::delivery::DeliveryHandler;
use crate::channels::inbox::Inbox;
use crate::config::parse_duration;
use crate::llm::LlmSettings;
use crate::stripe::webhooks::handle::StripeEventHandler;
use crate::tools::Ctx;
use crate::triage::handler::TriageHandler;
use crate::triage::{Engine, Limits};
use crate::worker::desk::DeskHandler;
use crate::worker::{Worker, WorkerOptions};

#[derive(Debug, Clone, Args)]
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

pub(super) async fn run(ctx: Ctx, llm: &LlmSettings, args: WorkerArgs) -> anyhow::Result<()> {
    let engine = Engine::from_settings(llm, &ctx)?;
    // The first thing an operator needs to know when drafts look wrong (README, Troubleshooting).
    tracing::info!("triage engine: {}", engine.label());
    let db = ctx.db().clone();
    let max_running_per_tenant = ctx.limits().settings.tenant_max_running_jobs;
    let limits = Limits {
        max_turns: args.max_turns.max(1),
        ..Limits::default()
    };
    let channels = ctx.channels().clone();
    let delivery = DeliveryHandler::new(db.clone(), channels.clone());
    let handler = DeskHandler {
        stripe: StripeEventHandler::new(ctx.clone()),
        actions: ActionHandler::new(ctx.clone()),
        triage: TriageHandler::new(ctx, engine, limits),
        delivery,
    };
    let opts = WorkerOptions {
        concurrency: usize::from(args.concurrency),
        lease: args.lease,
        max_running_per_tenant,
        ..WorkerOptions::default()
    };
    tracing::info!(worker = %opts.worker_id, concurrency = opts.concurrency, "worker starting");
    let inbox = Inbox::new(db.clone(), channels, opts.worker_id.clone());
    let worker = Worker::new(db, handler, opts);
    let summary = if args.once {
        // What is in the mailboxes now, then the queue (their triage jobs included).
        let (read, failed) = inbox.poll_all_once().await?;
        if read + failed > 0 {
            tracing::info!(read, failed, "mailboxes read");
        }
        worker.run_until_empty().await?
    } else {
        let stop = CancellationToken::new();
        let watching = {
            let (inbox, stop) = (inbox.clone(), stop.clone());
            tokio::spawn(async move { inbox.run(stop).await })
        };
        let summary = worker.run(shutdown_signal()).await;
        stop.cancel();
        let _ = watching.await;
        summary?
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
