//! `stats`: tickets per tenant and system-wide totals, read across tenants as the owner role.

use clap::Args;

use super::context::owner_pool;
use super::print_json;
use crate::config::OwnerDb;
use crate::stats;

#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    owner: OwnerDb,
    /// The window, in days, that tickets, customers and messages are counted over.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run(args: StatsArgs) -> anyhow::Result<()> {
    let owner = owner_pool(&args.owner).await?;
    let s = stats::compute(&owner, args.days).await?;
    if args.json {
        return print_json(&s);
    }
    let t = &s.totals;
    println!(
        "last {} days (since {})",
        s.days,
        s.since.format("%Y-%m-%d %H:%M UTC")
    );
    println!(
        "users {}  customers {}  tickets {} (open {}, resolved {})  messages {} (ai drafts {})",
        t.users,
        t.customers,
        t.tickets,
        t.open_tickets,
        t.resolved_tickets,
        t.messages,
        t.ai_drafts
    );
    println!(
        "{:<36}  {:>7}  {:>5}  {:>8}  email",
        "user", "tickets", "open", "resolved"
    );
    for u in &s.per_user {
        println!(
            "{:<36}  {:>7}  {:>5}  {:>8}  {}",
            u.user_id, u.tickets, u.open_tickets, u.resolved_tickets, u.email
        );
    }
    Ok(())
}
