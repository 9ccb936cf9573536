//! What commands start from: the pools, the operator's `--user` resolved to a tenant, and the
//! tool context built once from the settings.

use anyhow::Context as _;
use clap::Args;
use uuid::Uuid;

use std::sync::Arc;

use super::Cli;
use super::parse_uuid;
use crate::audit::{AuditKey, AuditLog};
use crate::channels::Channels;
use crate::config::{DbSettings, OwnerDb};
use crate::limits::LimitedEmbedder;
use crate::stripe::{Stripe, Vault};
use crate::tools::Ctx;
use crate::{Db, Tenant, db, users};

/// `--user` and `--json`, shared by every command that acts for one tenant.
#[derive(Debug, Clone, Args)]
pub struct TenantArgs {
    /// The tenant's id (users.id; `users list` shows them).
    #[arg(long, value_parser = parse_uuid)]
    pub user: Uuid,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

impl TenantArgs {
    /// The tenant `--user` names, checked to exist. `--user` is trusted operator input.
    pub async fn tenant(&self, db: &Db) -> anyhow::Result<Tenant> {
        operator_tenant(db, self.user).await
    }
}

/// The tenant `user` names, checked to exist, or "no user …".
pub async fn operator_tenant(db: &Db, user: Uuid) -> anyhow::Result<Tenant> {
    users::store::resolve_operator_tenant(db, user)
        .await
        .with_context(|| format!("no user {user}"))
}

/// The service-role pool, checked for pgvector.
pub async fn service_db(settings: &DbSettings) -> anyhow::Result<Db> {
    let pool = db::connect(
        "DATABASE_URL",
        settings.service_url()?,
        settings.database_max_connections,
        Some(settings.session_limits()),
    )
    .await?;
    db::check_pgvector(&pool).await?;
    Ok(Db::new(pool))
}

/// The owner-role pool, for migrations and the operator's cross-tenant commands.
pub async fn owner_pool(owner: &OwnerDb) -> anyhow::Result<sqlx::PgPool> {
    Ok(db::connect("DATABASE_OWNER_URL", owner.url()?, 2, None).await?)
}

/// The vault (when SECRETS_KEY is set; an invalid one stops the command) and the email settings.
pub fn channels(cli: &Cli) -> anyhow::Result<Channels> {
    let vault = match &cli.stripe.secrets_key {
        Some(_) => Some(Arc::new(Vault::new(
            cli.stripe.secrets_key.as_ref(),
            cli.stripe.secrets_key_previous.as_ref(),
        )?)),
        None => None,
    };
    Ok(Channels::new(vault, cli.email.clone())?)
}

/// The tool layer's context for `db`, built once: Stripe when SECRETS_KEY is set (an invalid one
/// stops the command), the knowledge base when the embedding model loads. A missing part is
/// logged, and the tools that need it answer that it is not configured.
pub fn tool_ctx(db: Db, cli: &Cli) -> anyhow::Result<Ctx> {
    let mut ctx = Ctx::new(db.clone()).with_limits(cli.limits.clone());
    match &cli.audit.audit_key {
        Some(key) => {
            let key = Arc::new(AuditKey::from_setting(key)?);
            ctx = ctx.with_audit(AuditLog::direct(db, key));
        }
        None => tracing::warn!(
            "AUDIT_KEY is not set: audit digests use a key of this process only (run scripts/setup.sh)"
        ),
    }
    ctx = ctx.with_channels(channels(cli)?);
    if cli.stripe.secrets_key.is_some() {
        ctx = ctx.with_stripe(Stripe::from_settings(&cli.stripe)?);
    } else {
        tracing::warn!("SECRETS_KEY is not set: the Stripe tools are unavailable");
    }
    match cli.embed.build() {
        Ok(embedder) => {
            let embedder = LimitedEmbedder::wrap(embedder, cli.limits.embed_concurrency);
            ctx = ctx.with_knowledge(embedder, cli.search.clone());
        }
        Err(e) => tracing::warn!(error = %e, "search_knowledge is unavailable"),
    }
    Ok(ctx)
}
