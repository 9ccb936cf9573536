//! The operator command line. Holds no SQL: each command calls domain store functions.
//!
//! `--json` prints exactly one JSON object on stdout; errors go to stderr as one line with a
//! non-zero exit.

mod demo;
mod knowledge;
mod records;
mod serve;
mod setup;
mod signal;
mod stripe;
mod stripe_report;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, DbSettings, JwtSettings};
use crate::knowledge::{EmbedSettings, SearchSettings};

#[derive(Debug, Parser)]
#[command(
    name = "support-agent",
    version,
    about = "A multi-tenant AI customer-support agent for businesses that sell with Stripe",
    after_help = "Settings come from flags, the environment, or a .env file in the working directory \
                  (scripts/setup.sh writes one)."
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbSettings,
    #[command(flatten)]
    pub jwt: JwtSettings,
    #[command(flatten)]
    pub llm: crate::llm::LlmSettings,
    #[command(flatten)]
    pub embed: EmbedSettings,
    #[command(flatten)]
    pub search: SearchSettings,
    #[command(flatten)]
    pub stripe: crate::stripe::StripeSettings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the database migrations, as the owner role (DATABASE_OWNER_URL).
    Migrate,
    /// Manage tenants (the users who run a support desk).
    #[command(subcommand)]
    Users(records::UsersCmd),
    /// Issue access tokens for the MCP server.
    #[command(subcommand)]
    Token(setup::TokenCmd),
    /// Manage a tenant's customers.
    #[command(subcommand)]
    Customers(records::CustomersCmd),
    /// Manage a tenant's tickets.
    #[command(subcommand)]
    Tickets(records::TicketsCmd),
    /// Add and list messages on a ticket.
    #[command(subcommand)]
    Messages(records::MessagesCmd),
    /// Tickets per tenant and system-wide totals over the last N days.
    ///
    /// The one command that reads across tenants: it connects as the owner role
    /// (DATABASE_OWNER_URL), whose read-only operator policy sees every tenant's rows.
    Stats(setup::StatsArgs),
    /// Run the MCP server: `--stdio` for one tenant (Claude Desktop), or `--http [ADDR]`
    /// (default 127.0.0.1:8080) for every tenant with a valid bearer token.
    Serve(serve::ServeArgs),
    /// Run the triage worker: drafts an `ai` reply for each new ticket and customer message.
    Worker(worker::WorkerArgs),
    /// Load the demo desk (examples/demo), ingest its knowledge, triage its new tickets and
    /// print each with its category, priority and draft. Safe to run again.
    Demo(demo::DemoArgs),
    /// See and retry the triage queue's jobs, across tenants (owner connection).
    #[command(subcommand)]
    Jobs(worker::JobsCmd),
    /// Add files and folders to a tenant's knowledge base (Markdown, text, HTML, PDF).
    ///
    /// Unchanged files are skipped; a changed file's chunks are replaced in one transaction.
    Ingest(knowledge::IngestArgs),
    /// Search, list, delete and re-embed a tenant's knowledge base.
    #[command(subcommand)]
    Knowledge(knowledge::KnowledgeCmd),
    /// Connect a tenant's Stripe account, show or remove that access, link customers.
    #[command(subcommand)]
    Stripe(stripe::StripeCmd),
}

/// Runs the command line and turns any error into one line on stderr.
pub async fn main() -> ExitCode {
    if let Err(e) = config::load_dotenv() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    // A server reports what it does; the one-shot commands only warn.
    let level = if matches!(cli.command, Command::Serve(_) | Command::Worker(_)) {
        "info"
    } else {
        "warn"
    };
    crate::telemetry::init(level);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate => setup::migrate(&cli.db).await,
        Command::Users(cmd) => records::users(&cli.db, cmd).await,
        Command::Token(cmd) => setup::token(&cli.db, &cli.jwt, cmd).await,
        Command::Customers(cmd) => records::customers(&cli.db, cmd).await,
        Command::Tickets(cmd) => records::tickets(&cli.db, cmd).await,
        Command::Messages(cmd) => records::messages(&cli.db, cmd).await,
        Command::Stats(args) => setup::stats(&cli.db, args).await,
        Command::Serve(args) => {
            install_stripe(&cli.stripe)?;
            install_knowledge(&cli.embed, &cli.search);
            serve::serve(&cli.db, &cli.jwt, args).await
        }
        Command::Worker(args) => {
            install_stripe(&cli.stripe)?;
            let embedder = install_knowledge(&cli.embed, &cli.search);
            worker::worker(&cli.db, &cli.llm, embedder, args).await
        }
        Command::Jobs(cmd) => worker::jobs(&cli.db, cmd).await,
        Command::Demo(args) => {
            install_stripe(&cli.stripe)?;
            let embedder = install_knowledge(&cli.embed, &cli.search);
            demo::demo(&cli.db, &cli.llm, embedder, args).await
        }
        Command::Ingest(args) => knowledge::ingest(&cli.db, &cli.embed, args).await,
        Command::Knowledge(cmd) => {
            knowledge::knowledge(&cli.db, &cli.embed, &cli.search, cmd).await
        }
        Command::Stripe(cmd) => stripe::run(&cli.db, &cli.stripe, cmd).await,
    }
}

/// Installs the Stripe client for the Stripe tools. Without SECRETS_KEY the server still runs
/// (the Stripe tools then answer that Stripe is not configured); with an invalid one it stops.
fn install_stripe(settings: &crate::stripe::StripeSettings) -> anyhow::Result<()> {
    if settings.secrets_key.is_none() {
        tracing::warn!("SECRETS_KEY is not set: the Stripe tools are unavailable");
        return Ok(());
    }
    crate::stripe::install(crate::stripe::Stripe::from_settings(settings)?);
    Ok(())
}

/// Installs the embedder for `search_knowledge` and returns it. Without the model the server
/// still runs (the tool then answers that the knowledge base is unavailable) and says why.
fn install_knowledge(
    embed: &EmbedSettings,
    search: &SearchSettings,
) -> Option<crate::knowledge::SharedEmbedder> {
    match embed.build() {
        Ok(embedder) => {
            crate::knowledge::tool::install_embedder(embedder.clone(), search.clone());
            Some(embedder)
        }
        Err(e) => {
            tracing::warn!(error = %e, "search_knowledge is unavailable");
            None
        }
    }
}

/// The error and its causes on one line, without repeating a cause its parent already quotes.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out.replace(['\n', '\r'], " ")
}

/// Prints `value` as one JSON object on stdout.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// Parses a UUID argument with an error that names what was expected.
fn parse_uuid(s: &str) -> Result<uuid::Uuid, String> {
    uuid::Uuid::parse_str(s.trim())
        .map_err(|_| format!("'{s}' is not a UUID (like 0190f1f4-8e3a-7c1e-9d2b-5a6f7e8d9c0b)"))
}
