//! `outcomes --user … [--days 30] [--json]`: what became of a tenant's drafts — the figures of
//! the inbox's Outcomes page and `GET /api/v1/outcomes`, from the same function.

use clap::Args;

use super::context::{TenantArgs, service_db};
use super::print_json;
use crate::config::DbSettings;
use crate::stats::outcomes::{self, OutcomeFigures};

#[derive(Debug, Clone, Args)]
pub struct OutcomesArgs {
    #[command(flatten)]
    tenant: TenantArgs,
    /// The period, in days: drafts written since then (1 to 3650).
    #[arg(long, default_value_t = 30)]
    days: u32,
}

pub(super) async fn run(settings: &DbSettings, args: OutcomesArgs) -> anyhow::Result<()> {
    let db = service_db(settings).await?;
    let tenant = args.tenant.tenant(&db).await?;
    let mut tx = db.begin(&tenant).await?;
    let o = outcomes::compute(&mut tx, args.days).await?;
    tx.commit().await?;
    if args.tenant.json {
        return print_json(&o);
    }
    println!(
        "last {} days (drafts written since {})",
        o.days,
        o.since.format("%Y-%m-%d %H:%M UTC")
    );
    println!("{}", line("all", &o.all));
    for c in &o.by_category {
        println!("{}", line(&c.category, &c.figures));
    }
    Ok(())
}

fn line(label: &str, f: &OutcomeFigures) -> String {
    let d = &f.drafts;
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{:.0}%", v * 100.0));
    let secs = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}s"));
    format!(
        "{label:<24} drafts {}  approved unchanged {}  approved edited {} ({} of characters changed)  \
         discarded {}  waiting {}  first approved reply median {} p90 {}  resolved by the agent {} \
         of {} tickets",
        d.written,
        d.approved_unchanged,
        d.approved_edited,
        pct(f.edited_share_changed),
        d.discarded,
        d.waiting,
        secs(f.first_reply.median_seconds),
        secs(f.first_reply.p90_seconds),
        pct(f.resolved_by_agent_share),
        f.tickets_with_drafts
    )
}
