//! `migrate` (with `--citus`) and `doctor`: the schema, and where its tables live.

use clap::Args;

use super::context::owner_pool;
use super::print_json;
use crate::config::OwnerDb;
use crate::db::{self, citus};

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    owner: OwnerDb,
    /// After the migrations, distribute the tables on this Citus coordinator: `users` as a
    /// reference table, every tenant table by user_id colocated with `customers`, foreign keys
    /// kept. Safe to run again; a database already distributed is left as it is.
    #[arg(long)]
    citus: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    owner: OwnerDb,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run(args: &MigrateArgs) -> anyhow::Result<()> {
    let owner = owner_pool(&args.owner).await?;
    db::migrate(&owner).await?;
    if args.citus {
        let done = citus::distribute(&owner).await?;
        if done.tables.is_empty() {
            eprintln!("every table is already distributed by user_id");
        } else {
            eprintln!(
                "laid out {} tables ({} foreign keys kept): {} (reference tables: {})",
                done.tables.len(),
                done.foreign_keys,
                done.tables.join(", "),
                done.reference.join(", ")
            );
            if done.notify_disabled {
                eprintln!("the queue's NOTIFY wake-up is off: workers poll on Citus");
            }
            if !done.unenforced.is_empty() {
                eprintln!(
                    "not enforced on Citus (ON DELETE SET NULL of one column): {}",
                    done.unenforced.join(", ")
                );
            }
        }
    } else if citus::backend(&owner).await?.is_citus() {
        eprintln!("note: this is a Citus coordinator; `migrate --citus` distributes the tables");
    }
    eprintln!("database is up to date");
    Ok(())
}

pub(super) async fn doctor(args: &DoctorArgs) -> anyhow::Result<()> {
    let owner = owner_pool(&args.owner).await?;
    let report = citus::check(&owner).await?;
    if args.json {
        print_json(&serde_json::json!({
            "ok": report.problems.is_empty(),
            "report": report,
        }))?;
    } else {
        print!("{}", text(&report));
    }
    if report.problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} problem(s) with the Citus layout", report.problems.len())
    }
}

fn text(r: &citus::Report) -> String {
    let mut out = String::new();
    match &r.backend {
        citus::Backend::Plain { server } => {
            out.push_str(&format!(
                "plain PostgreSQL {server}: one node, nothing to distribute\n"
            ));
            return out;
        }
        citus::Backend::Citus { server, citus } => out.push_str(&format!(
            "Citus {citus} on PostgreSQL {server}, {} worker node(s)\n",
            r.workers
        )),
    }
    let distributed = r
        .tables
        .iter()
        .filter(|t| {
            matches!(&t.placement, citus::Placement::Distributed { column, .. } if column == "user_id")
        })
        .count();
    let reference: Vec<&str> = r
        .tables
        .iter()
        .filter(|t| t.placement == citus::Placement::Reference)
        .map(|t| t.name.as_str())
        .collect();
    out.push_str(&format!(
        "{distributed} tenant tables distributed by user_id; reference tables: {}\n",
        if reference.is_empty() {
            "none".to_owned()
        } else {
            reference.join(", ")
        }
    ));

    if let Some(p) = &r.propagate_set_commands {
        out.push_str(&format!("citus.propagate_set_commands = {p}\n"));
    }
    if r.problems.is_empty() {
        out.push_str(&format!(
            "ok: every tenant table is distributed by user_id and colocated with {}\n",
            citus::ANCHOR
        ));
    }
    for p in &r.problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    out
}
