//! `messages add | list`: a customer's or an agent's message on a ticket, and a ticket's thread.

use clap::{Subcommand, ValueEnum};
use uuid::Uuid;

use super::context::{TenantArgs, service_db};
use super::{parse_uuid, print_json};
use crate::config::DbSettings;
use crate::messages::{self, Sender};
use crate::secrets;

/// Who a message added from the command line is from; `ai` messages come from the worker only.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HumanSender {
    Customer,
    Agent,
}

impl From<HumanSender> for Sender {
    fn from(s: HumanSender) -> Self {
        match s {
            HumanSender::Customer => Sender::Customer,
            HumanSender::Agent => Sender::Agent,
        }
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum MessagesCmd {
    /// Add a message to a ticket.
    Add {
        #[command(flatten)]
        tenant: TenantArgs,
        #[arg(long, value_parser = parse_uuid)]
        ticket: Uuid,
        #[arg(long, value_enum)]
        sender: HumanSender,
        #[arg(long)]
        content: String,
    },
    /// List a ticket's messages, oldest first, ai drafts with their state.
    List {
        #[command(flatten)]
        tenant: TenantArgs,
        #[arg(long, value_parser = parse_uuid)]
        ticket: Uuid,
    },
}

pub(super) async fn run(settings: &DbSettings, cmd: MessagesCmd) -> anyhow::Result<()> {
    let (tenant, ticket, sender, content) = match cmd {
        MessagesCmd::Add {
            tenant,
            ticket,
            sender,
            content,
        } => (tenant, ticket, sender, content),
        MessagesCmd::List { tenant, ticket } => return list(settings, tenant, ticket).await,
    };
    let db = service_db(settings).await?;
    let mut tx = db.begin(&tenant.tenant(&db).await?).await?;
    let message = messages::store::add(&mut tx, ticket, sender.into(), &content).await?;
    tx.commit().await?;
    if tenant.json {
        return print_json(&message);
    }
    println!(
        "added message {} to ticket {}",
        message.id, message.ticket_id
    );
    Ok(())
}

async fn list(settings: &DbSettings, args: TenantArgs, ticket: Uuid) -> anyhow::Result<()> {
    let db = service_db(settings).await?;
    let mut tx = db.begin(&args.tenant(&db).await?).await?;
    let rows = messages::store::list_for_ticket(&mut tx, ticket).await?;
    tx.commit().await?;
    if args.json {
        // Credentials a customer pasted are masked here too (SECURITY.md D3).
        let mut value = serde_json::json!({ "messages": rows });
        secrets::redact_json(&mut value);
        return print_json(&value);
    }
    for m in &rows {
        let state = m
            .draft_state
            .map(|s| format!(" ({s:?})").to_lowercase())
            .unwrap_or_default();
        println!(
            "--- {} {:?}{state} {}\n{}\n",
            m.id,
            m.sender_type,
            m.created_at,
            secrets::redact(&m.content)
        );
    }
    Ok(())
}
