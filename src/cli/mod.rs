//! The operator command line. Holds no SQL: each command calls domain store functions.
//!
//! `--json` prints exactly one JSON object on stdout; errors go to stderr as one line with a
//! non-zero exit.

mod actions;
mod channels;
mod claude;
mod context;
mod customers;
mod demo;
mod drafts;
mod jobs;
mod knowledge;
mod messages;
mod migrate;
mod outcomes;
mod secrets;
mod serve;
mod settings;
mod signal;
mod stats;
mod stripe;
mod stripe_report;
mod tickets;
mod tokens;
mod users;
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
    pub audit: config::AuditSettings,
    #[command(flatten)]
    pub llm: crate::llm::LlmSettings,
    #[command(flatten)]
    pub embed: EmbedSettings,
    #[command(flatten)]
    pub search: SearchSettings,
    #[command(flatten)]
    pub ingest: crate::knowledge::ingest::IngestSettings,
    #[command(flatten)]
    pub stripe: crate::stripe::StripeSettings,
    #[command(flatten)]
    pub limits: crate::limits::LimitSettings,
    #[command(flatten)]
    pub email: crate::channels::EmailSettings,
    #[command(flatten)]
    pub accounts: crate::accounts::AccountSettings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Apply the database migrations, as the owner role (DATABASE_OWNER_URL); `--citus`
    /// distributes the tables by tenant on a Citus coordinator afterwards.
    Migrate(migrate::MigrateArgs),
    /// Which server this is (plain PostgreSQL or Citus) and, on Citus, whether every tenant
    /// table is distributed by user_id and colocated; exits non-zero when something is wrong.
    Doctor(migrate::DoctorArgs),
    /// Manage tenants (the users who run a support desk).
    #[command(subcommand)]
    Users(users::UsersCmd),
    /// Issue access tokens for the MCP server.
    #[command(subcommand)]
    Token(tokens::TokenCmd),
    /// Manage a tenant's customers.
    #[command(subcommand)]
    Customers(customers::CustomersCmd),
    /// Manage a tenant's tickets.
    #[command(subcommand)]
    Tickets(tickets::TicketsCmd),
    /// Add and list messages on a ticket.
    #[command(subcommand)]
    Messages(messages::MessagesCmd),
    /// Approve or discard the ai drafts a person reviews.
    #[command(subcommand)]
    Drafts(drafts::DraftsCmd),
    /// List, approve or reject the refunds and subscription cancellations the agent proposed.
    #[command(subcommand)]
    Actions(actions::ActionsCmd),
    /// Tickets per tenant and system-wide totals over the last N days.
    ///
    /// The one command that reads across tenants: it connects as the owner role
    /// (DATABASE_OWNER_URL), whose read-only operator policy sees every tenant's rows.
    Stats(stats::StatsArgs),
    /// What became of a tenant's ai drafts over the last N days: approved unchanged, approved
    /// after editing (and how much was edited), discarded; the time from a customer's message
    /// to the first approved reply; by category. The inbox's Outcomes page shows the same.
    Outcomes(outcomes::OutcomesArgs),
    /// Run the MCP server: `--stdio` for one tenant (Claude Desktop), or `--http [ADDR]`
    /// (default 127.0.0.1:8080) for every tenant with a valid bearer token.
    Serve(serve::ServeArgs),
    /// Run the triage worker: drafts an `ai` reply for each new ticket and customer message.
    Worker(worker::WorkerArgs),
    /// Load the demo desk (examples/demo), ingest its knowledge, triage its new tickets and
    /// print each with its category, priority and draft. Safe to run again.
    Demo(demo::DemoArgs),
    /// See and retry the triage queue's jobs, across tenants (owner connection).
    Jobs {
        #[command(flatten)]
        owner: config::OwnerDb,
        #[command(subcommand)]
        cmd: jobs::JobsCmd,
    },
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
    /// A tenant's channels: the email account replies are sent from.
    #[command(subcommand)]
    Channels(channels::ChannelsCmd),
    /// Operator work on the sealed secrets of every tenant (Stripe keys, email passwords,
    /// intake signing secrets).
    #[command(subcommand)]
    Secrets(secrets::SecretsCmd),
    /// Show or change a tenant's settings: the hosts drafts may link to.
    #[command(subcommand)]
    Settings(settings::SettingsCmd),
    /// The PDF extractor's child process (internal).
    #[command(name = "__extract-pdf", hide = true)]
    ExtractPdf(knowledge::ExtractPdfArgs),
}

/// Runs the command line and turns any error into one line on stderr.
pub async fn main() -> ExitCode {
    if let Err(e) = config::load_dotenv() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    // The PDF extractor's child: no logging, no settings, no database; limits itself and exits.
    if let Command::ExtractPdf(args) = &cli.command {
        return knowledge::extract_pdf(args);
    }
    // A server reports what it does; the one-shot commands only warn. The MCP library's own INFO
    // lines are left out: over stateless HTTP it writes three for every request ("Service
    // initialized…" with the client's whole capabilities, "input stream terminated", "serve
    // finished"), which the soak found to be the whole of the server's log, 1.4 MB a minute at
    // 30 calls/s (BENCHMARKS-soak.md). Its warnings and errors still show.
    let level = if matches!(cli.command, Command::Serve(_) | Command::Worker(_)) {
        "info,rmcp=warn"
    } else {
        "warn"
    };
    crate::telemetry::init(level);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Masked like every log line (SECURITY.md D3): an error may quote input.
            eprintln!("error: {}", crate::secrets::redact(&one_line(&e)));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Migrate(args) => migrate::run(args).await,
        Command::Doctor(args) => migrate::doctor(args).await,
        Command::Users(cmd) => users::run(&cli.db, cmd.clone()).await,
        Command::Token(cmd) => tokens::run(&cli.db, &cli.jwt, cmd.clone()).await,
        Command::Customers(cmd) => customers::run(&cli.db, cmd.clone()).await,
        Command::Tickets(cmd) => tickets::run(&cli.db, cmd.clone()).await,
        Command::Messages(cmd) => messages::run(&cli.db, cmd.clone()).await,
        Command::Drafts(cmd) => drafts::run(&cli.db, cmd.clone()).await,
        Command::Actions(cmd) => actions::run(&cli, cmd.clone()).await,
        Command::Stats(args) => stats::run(args.clone()).await,
        Command::Outcomes(args) => outcomes::run(&cli.db, args.clone()).await,
        Command::Serve(args) => serve::run(&cli, args.clone()).await,
        Command::Worker(args) => {
            let db = context::service_db(&cli.db).await?;
            let ctx = context::tool_ctx(db, &cli)?;
            worker::run(ctx, &cli.llm, args.clone()).await
        }
        Command::Jobs { owner, cmd } => jobs::run(&cli.db, owner, cmd.clone()).await,
        Command::Demo(args) => demo::run(&cli, args.clone()).await,
        Command::Ingest(args) => {
            knowledge::ingest(&cli.db, &cli.embed, &cli.ingest, args.clone()).await
        }
        // Handled before anything else in `main`.
        Command::ExtractPdf(_) => Ok(()),
        Command::Knowledge(cmd) => {
            knowledge::knowledge(&cli.db, &cli.embed, &cli.search, cmd.clone()).await
        }
        Command::Stripe(stripe::StripeCmd::Rekey { owner, json }) => {
            secrets::rekey(&cli, owner, *json).await
        }
        Command::Stripe(cmd) => stripe::run(&cli.db, &cli.stripe, cmd.clone()).await,
        Command::Settings(cmd) => settings::run(&cli.db, cmd.clone()).await,
        Command::Channels(cmd) => channels::run(&cli, cmd.clone()).await,
        Command::Secrets(cmd) => secrets::run(&cli, cmd.clone()).await,
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
