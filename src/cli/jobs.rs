//! `jobs list | retry`: the work queue across tenants, as the owner role.

use clap::Subcommand;
use uuid::Uuid;

use super::context::owner_pool;
use super::{parse_uuid, print_json};
use crate::config::OwnerDb;
use crate::jobs;

#[derive(Debug, Clone, Subcommand)]
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

pub(super) async fn run(owner: &OwnerDb, cmd: JobsCmd) -> anyhow::Result<()> {
    let owner = owner_pool(owner).await?;
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
                let subject = match (j.ticket_id, j.payload_id) {
                    (Some(ticket), _) => format!("ticket {ticket}"),
                    (None, Some(payload)) => format!("payload {payload}"),
                    (None, None) => String::new(),
                };
                println!(
                    "{}  {:<12} {:<7} attempts {}/{}  {subject}  {}",
                    j.id,
                    j.kind.as_str(),
                    j.status,
                    j.attempts,
                    j.max_attempts,
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
