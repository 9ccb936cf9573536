//! `tickets create | list | show`: a tenant's tickets.

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use super::context::{TenantArgs, service_db};
use super::{parse_uuid, print_json};
use crate::config::DbSettings;
use crate::customers::{self, CustomerRef};
use crate::secrets;
use crate::tickets::{self, NewTicket, Priority, Status, TicketFilter};

#[derive(Debug, Clone, Subcommand)]
pub enum TicketsCmd {
    /// Open a ticket for a customer, named by id or email.
    Create {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The customer's id or email address.
        #[arg(long)]
        customer: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, value_enum)]
        priority: Option<Priority>,
    },
    /// List a tenant's tickets, newest first.
    List {
        #[command(flatten)]
        tenant: TenantArgs,
        #[arg(long, value_enum)]
        status: Option<Status>,
        #[arg(long, value_enum)]
        priority: Option<Priority>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// The next_cursor of a previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show a ticket with its customer and messages.
    Show {
        #[command(flatten)]
        tenant: TenantArgs,
        #[arg(long, value_parser = parse_uuid)]
        ticket: Uuid,
    },
}

pub(super) async fn run(settings: &DbSettings, cmd: TicketsCmd) -> anyhow::Result<()> {
    let db = service_db(settings).await?;
    match cmd {
        TicketsCmd::Create {
            tenant,
            customer,
            subject,
            description,
            priority,
        } => {
            let reference = CustomerRef::parse("customer", &customer)
                .with_context(|| format!("unknown customer '{customer}'"))?;
            let mut tx = db.begin(&tenant.tenant(&db).await?).await?;
            let customer = customers::store::find(&mut tx, &reference)
                .await
                .with_context(|| format!("unknown customer '{reference}'"))?;
            let new = NewTicket {
                customer_id: customer.id,
                subject: &subject,
                description: description.as_deref(),
                priority,
            };
            let ticket = tickets::store::create(&mut tx, &new).await?;
            tx.commit().await?;
            if tenant.json {
                return print_json(&ticket);
            }
            println!(
                "created ticket {} for {} ({}) #{}",
                ticket.id, customer.email, ticket.priority, ticket.number
            );
        }
        TicketsCmd::List {
            tenant,
            status,
            priority,
            limit,
            cursor,
        } => {
            let mut tx = db.begin(&tenant.tenant(&db).await?).await?;
            let filter = TicketFilter {
                status,
                priority,
                customer_id: None,
                ..Default::default()
            };
            let page = tickets::store::list(&mut tx, &filter, limit, cursor.as_deref()).await?;
            tx.commit().await?;
            if tenant.json {
                let mut value = json!({"tickets": page.items, "next_cursor": page.next_cursor});
                secrets::redact_json(&mut value);
                return print_json(&value);
            }
            for t in &page.items {
                let subject = secrets::redact(&t.subject);
                println!(
                    "{}  #{:<5} {:<8} {:<7} {subject}",
                    t.id, t.number, t.status, t.priority
                );
            }
            if let Some(next) = page.next_cursor {
                println!("next page: --cursor {next}");
            }
        }
        TicketsCmd::Show { tenant, ticket } => {
            let mut tx = db.begin(&tenant.tenant(&db).await?).await?;
            let thread = tickets::store::get_thread(&mut tx, ticket).await?;
            tx.commit().await?;
            if tenant.json {
                // Credentials a customer pasted are masked here too (SECURITY.md D3).
                let mut value = serde_json::to_value(&thread)?;
                secrets::redact_json(&mut value);
                return print_json(&value);
            }
            print_thread(&thread);
        }
    }
    Ok(())
}

fn print_thread(thread: &tickets::TicketThread) {
    let t = &thread.ticket;
    let masked = |text: &str| secrets::redact(text).into_owned();
    println!(
        "{} #{} [{} / {}] {}",
        t.id,
        t.number,
        t.status,
        t.priority,
        masked(&t.subject)
    );
    println!(
        "customer: {} <{}>",
        thread.customer.name, thread.customer.email
    );
    if !t.description.is_empty() {
        println!("\n{}", masked(&t.description));
    }
    for m in &thread.messages {
        let mut state = m
            .draft_state
            .map(|s| format!(" ({s:?})").to_lowercase())
            .unwrap_or_default();
        if let Some(d) = m.delivery_state {
            state.push_str(&format!(" [delivery: {}]", d.as_str()));
        }
        println!(
            "\n--- {:?}{} {}\n{}",
            m.sender_type,
            state,
            m.created_at,
            masked(&m.content)
        );
    }
}
