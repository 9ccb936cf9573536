//! Commands that create and read a tenant's records. `--user` is trusted operator input.

use std::io::BufRead;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use uuid::Uuid;

use super::setup::service_db;
use super::{parse_uuid, print_json};
use crate::config::{DbSettings, Secret};
use crate::customers::{self, NewCustomer};
use crate::messages::{self, Sender};
use crate::tickets::{self, NewTicket, Priority, Status, TicketFilter};
use crate::users::{self, NewUser};
use crate::{Db, Tenant};

#[derive(Debug, Subcommand)]
pub enum UsersCmd {
    /// Create a tenant.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Read a password (at least 8 characters) from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomersCmd {
    /// Create a customer of a tenant.
    Create {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        phone: Option<String>,
        /// The customer's Stripe id (cus_…).
        #[arg(long)]
        stripe_customer: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's customers, oldest first.
    List {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TicketsCmd {
    /// Open a ticket for a customer, named by id or email.
    Create {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        /// The customer's id or email address.
        #[arg(long)]
        customer: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, value_enum)]
        priority: Option<Priority>,
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's tickets, newest first.
    List {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        #[arg(long, value_enum)]
        status: Option<Status>,
        #[arg(long, value_enum)]
        priority: Option<Priority>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// The next_cursor of a previous page.
        #[arg(long)]
        cursor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a ticket with its customer and messages.
    Show {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        #[arg(long, value_parser = parse_uuid)]
        ticket: Uuid,
        #[arg(long)]
        json: bool,
    },
}

/// Who a message added from the command line is from; `ai` messages come from the worker only.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HumanSender {
    Customer,
    Agent,
}

#[derive(Debug, Subcommand)]
pub enum MessagesCmd {
    /// Add a message to a ticket.
    Add {
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        #[arg(long, value_parser = parse_uuid)]
        ticket: Uuid,
        #[arg(long, value_enum)]
        sender: HumanSender,
        #[arg(long)]
        content: String,
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn users(settings: &DbSettings, cmd: UsersCmd) -> anyhow::Result<()> {
    let UsersCmd::Create {
        name,
        email,
        password_stdin,
        json,
    } = cmd;
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        Some(Secret::new(line.trim_end_matches(['\r', '\n'])))
    } else {
        None
    };
    let db = service_db(settings).await?;
    let new = NewUser {
        name: &name,
        email: &email,
        password: password.as_ref(),
    };
    let (_, user) = users::store::create(&db, &new).await?;
    if json {
        return print_json(&user);
    }
    println!("created user {} ({} <{}>)", user.id, user.name, user.email);
    Ok(())
}

async fn tenant(db: &Db, user: Uuid) -> anyhow::Result<Tenant> {
    users::store::resolve_operator_tenant(db, user)
        .await
        .with_context(|| format!("no user {user}"))
}

pub(super) async fn customers(settings: &DbSettings, cmd: CustomersCmd) -> anyhow::Result<()> {
    let db = service_db(settings).await?;
    match cmd {
        CustomersCmd::Create {
            user,
            name,
            email,
            phone,
            stripe_customer,
            json,
        } => {
            let tenant = tenant(&db, user).await?;
            let mut tx = db.begin(&tenant).await?;
            let new = NewCustomer {
                name: &name,
                email: &email,
                phone: phone.as_deref(),
                stripe_customer_id: stripe_customer.as_deref(),
            };
            let customer = customers::store::create(&mut tx, &new).await?;
            tx.commit().await?;
            if json {
                return print_json(&customer);
            }
            println!(
                "created customer {} ({} <{}>)",
                customer.id, customer.name, customer.email
            );
        }
        CustomersCmd::List { user, limit, json } => {
            let tenant = tenant(&db, user).await?;
            let mut tx = db.begin(&tenant).await?;
            let (rows, next) = customers::store::list(&mut tx, limit, None).await?;
            tx.commit().await?;
            if json {
                return print_json(
                    &json!({"customers": rows, "next_cursor": next.map(|c| c.encode())}),
                );
            }
            for c in rows {
                println!("{}  {:<30}  {}", c.id, c.name, c.email);
            }
        }
    }
    Ok(())
}

pub(super) async fn tickets(settings: &DbSettings, cmd: TicketsCmd) -> anyhow::Result<()> {
    let db = service_db(settings).await?;
    match cmd {
        TicketsCmd::Create {
            user,
            customer,
            subject,
            description,
            priority,
            json,
        } => {
            let tenant = tenant(&db, user).await?;
            let mut tx = db.begin(&tenant).await?;
            let customer = match Uuid::parse_str(customer.trim()) {
                Ok(id) => customers::store::get(&mut tx, id).await,
                Err(_) => customers::store::find_by_email(&mut tx, &customer).await,
            }
            .with_context(|| format!("unknown customer '{customer}'"))?;
            let new = NewTicket {
                customer_id: customer.id,
                subject: &subject,
                description: description.as_deref(),
                priority,
            };
            let ticket = tickets::store::create(&mut tx, &new).await?;
            tx.commit().await?;
            if json {
                return print_json(&ticket);
            }
            println!(
                "created ticket {} for {} ({})",
                ticket.id, customer.email, ticket.priority
            );
        }
        TicketsCmd::List {
            user,
            status,
            priority,
            limit,
            cursor,
            json,
        } => {
            let tenant = tenant(&db, user).await?;
            let mut tx = db.begin(&tenant).await?;
            let filter = TicketFilter {
                status,
                priority,
                customer_id: None,
            };
            let page = tickets::store::list(&mut tx, &filter, limit, cursor.as_deref()).await?;
            tx.commit().await?;
            if json {
                return print_json(
                    &json!({"tickets": page.items, "next_cursor": page.next_cursor}),
                );
            }
            for t in &page.items {
                println!("{}  {:<8} {:<7} {}", t.id, t.status, t.priority, t.subject);
            }
            if let Some(next) = page.next_cursor {
                println!("next page: --cursor {next}");
            }
        }
        TicketsCmd::Show { user, ticket, json } => {
            let tenant = tenant(&db, user).await?;
            let mut tx = db.begin(&tenant).await?;
            let thread = tickets::store::get_thread(&mut tx, ticket).await?;
            tx.commit().await?;
            if json {
                return print_json(&thread);
            }
            let t = &thread.ticket;
            println!("{} [{} / {}] {}", t.id, t.status, t.priority, t.subject);
            println!(
                "customer: {} <{}>",
                thread.customer.name, thread.customer.email
            );
            if !t.description.is_empty() {
                println!("\n{}", t.description);
            }
            for m in &thread.messages {
                let state = m
                    .draft_state
                    .map(|s| format!(" ({s:?})").to_lowercase())
                    .unwrap_or_default();
                println!(
                    "\n--- {:?}{} {}\n{}",
                    m.sender_type, state, m.created_at, m.content
                );
            }
        }
    }
    Ok(())
}

pub(super) async fn messages(settings: &DbSettings, cmd: MessagesCmd) -> anyhow::Result<()> {
    let MessagesCmd::Add {
        user,
        ticket,
        sender,
        content,
        json,
    } = cmd;
    let db = service_db(settings).await?;
    let tenant = tenant(&db, user).await?;
    let sender = match sender {
        HumanSender::Customer => Sender::Customer,
        HumanSender::Agent => Sender::Agent,
    };
    let mut tx = db.begin(&tenant).await?;
    let message = messages::store::add(&mut tx, ticket, sender, &content).await?;
    tx.commit().await?;
    if json {
        return print_json(&message);
    }
    println!(
        "added message {} to ticket {}",
        message.id, message.ticket_id
    );
    Ok(())
}
