//! `actions list | approve | reject`: a person's decision on the refunds and cancellations the
//! agent or an MCP client proposed, from the command line.

use anyhow::bail;
use clap::Subcommand;
use uuid::Uuid;

use super::context::{TenantArgs, service_db};
use super::{Cli, parse_uuid, print_json};
use crate::actions::{self, Action, ActionFilter, ActionStatus};
use crate::stripe::Stripe;
use crate::tools::Ctx;

#[derive(Debug, Clone, Subcommand)]
pub enum ActionsCmd {
    /// The tenant's actions, newest first.
    List {
        #[command(flatten)]
        tenant: TenantArgs,
        /// Only actions in this status.
        #[arg(long, value_enum)]
        status: Option<ActionStatus>,
        /// Only the actions of this ticket.
        #[arg(long, value_parser = parse_uuid)]
        ticket: Option<Uuid>,
        /// How many, 1 to 100.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=100))]
        limit: i64,
    },
    /// Approve a pending action and carry it out at Stripe now, exactly once. Needs SECRETS_KEY
    /// and a Stripe key with the write permission the action needs (README, Stripe).
    Approve {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The action's id (`actions list` shows them).
        #[arg(long, value_parser = parse_uuid)]
        action: Uuid,
    },
    /// Reject a pending action; nothing is sent to Stripe.
    Reject {
        #[command(flatten)]
        tenant: TenantArgs,
        #[arg(long, value_parser = parse_uuid)]
        action: Uuid,
        /// Why, kept on the action.
        #[arg(long)]
        reason: Option<String>,
    },
}

pub(super) async fn run(cli: &Cli, cmd: ActionsCmd) -> anyhow::Result<()> {
    let db = service_db(&cli.db).await?;
    let mut ctx = Ctx::new(db.clone());
    match cmd {
        ActionsCmd::List {
            tenant: args,
            status,
            ticket,
            limit,
        } => {
            let tenant = args.tenant(&db).await?;
            let filter = ActionFilter {
                status,
                ticket_id: ticket,
            };
            let page = actions::list(&ctx, &tenant, &filter, limit, None).await?;
            if args.json {
                return print_json(&serde_json::json!({"actions": page.items}));
            }
            if page.items.is_empty() {
                eprintln!("no actions");
            }
            for a in &page.items {
                println!("{}", line(a));
            }
            Ok(())
        }
        ActionsCmd::Approve {
            tenant: args,
            action,
        } => {
            if cli.stripe.secrets_key.is_none() {
                bail!(
                    "SECRETS_KEY is not set: it opens the tenant's Stripe key (run scripts/setup.sh)"
                );
            }
            ctx = ctx.with_stripe(Stripe::from_settings(&cli.stripe)?);
            let tenant = args.tenant(&db).await?;
            let a = actions::approve(&ctx, &tenant, action, "operator").await?;
            if args.json {
                print_json(&a)?;
            } else {
                println!("{}", line(&a));
            }
            match a.status {
                ActionStatus::Succeeded => Ok(()),
                ActionStatus::Executing => bail!(
                    "not finished: {}; the worker finishes it with the same idempotency key",
                    a.error.as_deref().unwrap_or("Stripe did not answer")
                ),
                _ => bail!(
                    "the action failed: {}",
                    a.error.as_deref().unwrap_or("no reason given")
                ),
            }
        }
        ActionsCmd::Reject {
            tenant: args,
            action,
            reason,
        } => {
            let tenant = args.tenant(&db).await?;
            let a = actions::reject(&ctx, &tenant, action, "operator", reason.as_deref()).await?;
            if args.json {
                return print_json(&a);
            }
            println!("{}", line(&a));
            Ok(())
        }
    }
}

/// One action on one line: id, status, what, on which ticket, and how it ended.
fn line(a: &Action) -> String {
    let mut out = format!(
        "{}  {:<9}  {}  ticket {}  proposed by {}",
        a.id,
        a.status.as_str(),
        a.summary(),
        a.ticket_id,
        a.proposed_by
    );
    if let Some(id) = &a.stripe_result_id {
        out.push_str(&format!("  → {id}"));
    }
    if let Some(e) = &a.error {
        out.push_str(&format!("  ({e})"));
    }
    out
}
