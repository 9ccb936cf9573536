//! `users create | list | delete`: tenants (the people or organisations that run a desk).

use std::io::BufRead;

use anyhow::Context;
use clap::Subcommand;

use super::context::{TenantArgs, owner_pool, service_db};
use super::print_json;
use crate::config::{DbSettings, OwnerDb, Secret};
use crate::users::{self, NewUser};

#[derive(Debug, Clone, Subcommand)]
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
    /// List every tenant (id, name, email), oldest first: how a tenant's id is found again.
    /// Reads across tenants, so it connects as the owner role (DATABASE_OWNER_URL).
    List {
        #[command(flatten)]
        owner: OwnerDb,
        /// At most this many tenants.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print `{"users": [...]}` as one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a tenant and everything it owns (customers, tickets, messages, knowledge base,
    /// Stripe access, jobs, sessions, API keys, audit trail), in one transaction. Its tokens and
    /// keys stop working at once.
    Delete {
        #[command(flatten)]
        tenant: TenantArgs,
    },
}

pub(super) async fn run(settings: &DbSettings, cmd: UsersCmd) -> anyhow::Result<()> {
    let (name, email, password_stdin, json) = match cmd {
        UsersCmd::Create {
            name,
            email,
            password_stdin,
            json,
        } => (name, email, password_stdin, json),
        UsersCmd::Delete { tenant } => return delete(settings, tenant).await,
        UsersCmd::List { owner, limit, json } => return list(&owner, limit, json).await,
    };
    let password = if password_stdin {
        Some(read_secret_line().context("reading the password from stdin")?)
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

async fn list(owner: &OwnerDb, limit: i64, json: bool) -> anyhow::Result<()> {
    let owner = owner_pool(owner).await?;
    let rows = users::store::list_all(&owner, limit).await?;
    if json {
        return print_json(&serde_json::json!({ "users": rows }));
    }
    for u in rows {
        println!(
            "{}  {:<30}  {}  created {}",
            u.id,
            u.name,
            u.email,
            u.created_at.format("%Y-%m-%d")
        );
    }
    Ok(())
}

async fn delete(settings: &DbSettings, args: TenantArgs) -> anyhow::Result<()> {
    let db = service_db(settings).await?;
    let tenant = args.tenant(&db).await?;
    let mut tx = db.begin(&tenant).await?;
    users::store::delete(&mut tx).await?;
    tx.commit().await?;
    if args.json {
        return print_json(&serde_json::json!({"deleted": args.user}));
    }
    println!("deleted user {} and everything it owned", args.user);
    Ok(())
}

/// The first line of stdin, without its line ending: how secrets reach the CLI (a flag would
/// show in `ps`).
pub(super) fn read_secret_line() -> std::io::Result<Secret> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(Secret::new(line.trim_end_matches(['\r', '\n'])))
}
