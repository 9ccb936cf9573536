//! `drafts approve | discard`: a person's decision on an ai draft, from the command line.

use clap::Subcommand;
use uuid::Uuid;

use super::context::{TenantArgs, service_db};
use super::{parse_uuid, print_json};
use crate::config::DbSettings;
use crate::messages::{self, Decision};
use crate::{desk, tools};

#[derive(Debug, Clone, Subcommand)]
pub enum DraftsCmd {
    /// Approve a draft (with a last edit given by --content); it is then sent by email when the
    /// tenant has an email channel.
    Approve {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The draft's message id.
        #[arg(long, value_parser = parse_uuid)]
        message: Uuid,
        /// Replace the draft's text before approving it.
        #[arg(long)]
        content: Option<String>,
    },
    /// Discard a draft.
    Discard {
        #[command(flatten)]
        tenant: TenantArgs,
        #[arg(long, value_parser = parse_uuid)]
        message: Uuid,
    },
}

pub(super) async fn run(settings: &DbSettings, cmd: DraftsCmd) -> anyhow::Result<()> {
    let (args, message, decision, content) = match cmd {
        DraftsCmd::Approve {
            tenant,
            message,
            content,
        } => (tenant, message, Decision::Approve, content),
        DraftsCmd::Discard { tenant, message } => (tenant, message, Decision::Discard, None),
    };
    let db = service_db(settings).await?;
    let tenant = args.tenant(&db).await?;
    let mut tx = db.begin(&tenant).await?;
    let ticket = messages::store::find(&mut tx, message).await?.ticket_id;
    tx.commit().await?;
    let m = desk::decide_draft(
        &db,
        &tenant,
        ticket,
        message,
        decision,
        content.as_deref(),
        "operator",
    )
    .await?;
    if args.json {
        return print_json(&tools::MessageView::from(m));
    }
    let what = match decision {
        Decision::Approve => "approved",
        Decision::Discard => "discarded",
    };
    println!("draft {message} on ticket {ticket} {what}");
    Ok(())
}
