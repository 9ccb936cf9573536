//! `jobs list | retry`: the work queue across tenants, as the owner role.

use clap::Subcommand;
use uuid::Uuid;

use super::context::owner_pool;
use super::context::service_db;
use super::{parse_uuid, print_json};
use crate::config::{DbSettings, OwnerDb};
use crate::jobs::{self, JobKind};
use crate::{StoreError, desk};

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
    ///
    /// A triage job writes no second draft for the same message: the draft already there is
    /// kept and only the ticket's triage fields are set again, unless --replace-draft deletes a
    /// draft still waiting for review first. The command says which.
    Retry {
        #[arg(value_parser = parse_uuid)]
        job: Uuid,
        /// Delete the job's ai draft if it still waits for review, so that the job writes a new
        /// one (a draft a person approved, sent or discarded is never replaced).
        #[arg(long)]
        replace_draft: bool,
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(db: &DbSettings, owner: &OwnerDb, cmd: JobsCmd) -> anyhow::Result<()> {
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
        JobsCmd::Retry {
            job,
            replace_draft,
            json,
        } => retry(db, &owner, job, replace_draft, json).await?,
    }
    Ok(())
}

/// `jobs retry`: says what becomes of the draft a triage job already wrote, and with
/// `--replace-draft` deletes one still waiting for review (as the job's tenant, from its row).
async fn retry(
    db: &DbSettings,
    owner: &sqlx::PgPool,
    id: Uuid,
    replace_draft: bool,
    json: bool,
) -> anyhow::Result<()> {
    let job = jobs::store::get(owner, id).await?;
    if !matches!(job.status.as_str(), "dead" | "done") {
        return Err(StoreError::Conflict(format!(
            "job {id} is {}: only a dead or done job can be retried",
            job.status
        ))
        .into());
    }
    let draft = match (job.kind, job.trigger_id()) {
        (JobKind::Triage, Some(trigger)) => {
            let db = service_db(db).await?;
            Some(desk::draft_before_retry(&db, &job.tenant(), trigger, replace_draft).await?)
        }
        _ => None,
    };
    let row = jobs::store::retry(owner, id).await?;
    if json {
        // The job row as before, with what became of its draft beside it.
        let mut value = serde_json::to_value(&row)?;
        value["draft"] = serde_json::to_value(&draft)?;
        value["draft_note"] = serde_json::to_value(draft.as_ref().map(desk::DraftFate::describe))?;
        return print_json(&value);
    }
    match draft {
        Some(d) => println!("job {} queued again; {}", row.id, d.describe()),
        None => println!("job {} queued again", row.id),
    }
    Ok(())
}
