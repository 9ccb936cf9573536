//! `messages add`: a customer's or an agent's message on a ticket.

use clap::{Subcommand, ValueEnum};
use uuid::Uuid;

use super::context::{TenantArgs, service_db};
use super::{parse_uuid, print_json};
use crate::config::DbSettings;
use crate::messages::{self, Sender};

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
}

pub(super) async fn run(settings: &DbSettings, cmd: MessagesCmd) -> anyhow::Result<()> {
    let MessagesCmd::Add {
        tenant,
        ticket,
        sender,
        content,
    } = cmd;
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
