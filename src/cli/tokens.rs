//! `token issue | revoke`: access tokens an operator hands out (for `serve --stdio`, scripts,
//! MCP clients), and taking them back.

use std::time::Duration;

use anyhow::Context;
use clap::{ArgGroup, Subcommand};
use serde_json::json;
use uuid::Uuid;

use super::context::{TenantArgs, operator_tenant, owner_pool, service_db};
use super::{parse_uuid, print_json};
use crate::accounts::{issued, revocations};
use crate::auth::JwtAuth;
use crate::config::{DbSettings, JwtSettings, OwnerDb, parse_duration};

#[derive(Debug, Clone, Subcommand)]
pub enum TokenCmd {
    /// Print a signed token for a tenant (and nothing else) on stdout.
    Issue {
        /// The tenant's users.id.
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        /// How long the token is valid: 90s, 15m, 24h, 7d (at most TOKEN_MAX_TTL).
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        ttl: Duration,
        /// Print `{token, jti, expires_at}` as one JSON object instead of the token alone.
        #[arg(long)]
        json: bool,
    },
    /// Revoke one token by its `jti`, or every token of a tenant with `--all`: refused from the
    /// next request on, over HTTP and stdio.
    #[command(group(ArgGroup::new("which").required(true).args(["jti", "all"])))]
    Revoke {
        /// The token's id (`token issue --json` prints it). A token from a login also needs
        /// `--user`.
        #[arg(long, value_parser = parse_uuid)]
        jti: Option<Uuid>,
        /// Every token issued to the tenant until now (logins and API keys are not affected:
        /// end sessions by logging out, delete keys through the API).
        #[arg(long, requires = "user")]
        all: bool,
        /// The tenant the token belongs to.
        #[arg(long, value_parser = parse_uuid)]
        user: Option<Uuid>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        owner: OwnerDb,
    },
}

pub(super) async fn run(db: &DbSettings, jwt: &JwtSettings, cmd: TokenCmd) -> anyhow::Result<()> {
    match cmd {
        TokenCmd::Issue { user, ttl, json } => issue(db, jwt, user, ttl, json).await,
        TokenCmd::Revoke {
            jti,
            all,
            user,
            json,
            owner,
        } => revoke(db, &owner, jti, all, user, json).await,
    }
}

async fn issue(
    db: &DbSettings,
    jwt: &JwtSettings,
    user: Uuid,
    ttl: Duration,
    json: bool,
) -> anyhow::Result<()> {
    if ttl > jwt.token_max_ttl {
        anyhow::bail!(
            "--ttl {}s is longer than TOKEN_MAX_TTL ({}s): issue a shorter token, or raise the setting",
            ttl.as_secs(),
            jwt.token_max_ttl.as_secs()
        );
    }
    let auth = JwtAuth::from_settings(jwt)?;
    let db = service_db(db).await?;
    let tenant = operator_tenant(&db, user).await?;
    let issued = auth.issue(user, ttl, None)?;
    let mut tx = db.begin(&tenant).await?;
    issued::record(&mut tx, issued.jti, issued.expires_at).await?;
    tx.commit().await?;
    if json {
        return print_json(&issued);
    }
    println!("{}", issued.token);
    Ok(())
}

async fn revoke(
    settings: &DbSettings,
    owner: &OwnerDb,
    jti: Option<Uuid>,
    all: bool,
    user: Option<Uuid>,
    json: bool,
) -> anyhow::Result<()> {
    let db = service_db(settings).await?;
    if all {
        let args = TenantArgs {
            user: user.context("--all needs --user")?,
            json,
        };
        let tenant = args.tenant(&db).await?;
        let mut tx = db.begin(&tenant).await?;
        revocations::revoke_all(&mut tx).await?;
        revocations::prune(&mut tx).await?;
        tx.commit().await?;
        if json {
            return print_json(&json!({"user_id": args.user, "revoked": "all"}));
        }
        println!(
            "every token of user {} issued until now is revoked",
            args.user
        );
        return Ok(());
    }
    let jti = jti.context("give --jti or --all")?;
    let owner = owner_pool(owner).await?;
    let (user, expires_at) = match (issued::find(&owner, jti).await?, user) {
        (Some((owner_of, expires)), None) => (owner_of, expires),
        (Some((owner_of, expires)), Some(u)) if owner_of == u => (u, expires),
        (Some(_), Some(u)) => anyhow::bail!("token {jti} does not belong to user {u}"),
        // A login's token is not recorded; it expires within ACCESS_TOKEN_TTL anyway, so keep
        // its revocation for the longest time a token can live.
        (None, Some(u)) => (u, chrono::Utc::now() + chrono::Duration::days(366)),
        (None, None) => anyhow::bail!(
            "no token {jti} was issued by `token issue`: give --user for a token from a login"
        ),
    };
    let tenant = operator_tenant(&db, user).await?;
    let mut tx = db.begin(&tenant).await?;
    revocations::revoke(&mut tx, jti, expires_at).await?;
    tx.commit().await?;
    if json {
        return print_json(&json!({"user_id": user, "jti": jti, "revoked": true}));
    }
    println!("token {jti} of user {user} is revoked");
    Ok(())
}
