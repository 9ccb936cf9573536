//! Commands about the installation itself: migrations, tokens, operator statistics.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use uuid::Uuid;

use super::{parse_uuid, print_json};
use crate::auth::JwtAuth;
use crate::config::{DbSettings, JwtSettings, parse_duration};
use crate::{Db, db, stats, users};

/// The service-role pool, checked for pgvector.
pub(super) async fn service_db(settings: &DbSettings) -> anyhow::Result<Db> {
    let pool = db::connect(
        "DATABASE_URL",
        settings.service_url()?,
        settings.database_max_connections,
    )
    .await?;
    db::check_pgvector(&pool).await?;
    Ok(Db::new(pool))
}

pub(super) async fn owner_pool(settings: &DbSettings) -> anyhow::Result<sqlx::PgPool> {
    Ok(db::connect("DATABASE_OWNER_URL", settings.owner_url()?, 2).await?)
}

pub(super) async fn migrate(settings: &DbSettings) -> anyhow::Result<()> {
    let owner = owner_pool(settings).await?;
    db::migrate(&owner).await?;
    eprintln!("database is up to date");
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Print a signed token for a tenant (and nothing else) on stdout.
    Issue {
        /// The tenant's users.id.
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        /// How long the token is valid: 90s, 15m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        ttl: Duration,
    },
}

pub(super) async fn token(db: &DbSettings, jwt: &JwtSettings, cmd: TokenCmd) -> anyhow::Result<()> {
    let TokenCmd::Issue { user, ttl } = cmd;
    let auth = JwtAuth::from_settings(jwt)?;
    let db = service_db(db).await?;
    users::store::resolve_operator_tenant(&db, user)
        .await
        .with_context(|| format!("no user {user}"))?;
    println!("{}", auth.issue(user, ttl)?);
    Ok(())
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The window, in days, that tickets, customers and messages are counted over.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub(super) async fn stats(settings: &DbSettings, args: StatsArgs) -> anyhow::Result<()> {
    let owner = owner_pool(settings).await?;
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
