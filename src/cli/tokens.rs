//! `token issue`: access tokens for the MCP server.

use std::time::Duration;

use clap::Subcommand;
use uuid::Uuid;

use super::context::{operator_tenant, service_db};
use super::{parse_uuid, print_json};
use crate::auth::JwtAuth;
use crate::config::{DbSettings, JwtSettings, parse_duration};

#[derive(Debug, Clone, Subcommand)]
pub enum TokenCmd {
    /// Print a signed token for a tenant (and nothing else) on stdout.
    Issue {
        /// The tenant's users.id.
        #[arg(long, value_parser = parse_uuid)]
        user: Uuid,
        /// How long the token is valid: 90s, 15m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        ttl: Duration,
        /// Print `{token, jti, expires_at}` as one JSON object instead of the token alone.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(db: &DbSettings, jwt: &JwtSettings, cmd: TokenCmd) -> anyhow::Result<()> {
    let TokenCmd::Issue { user, ttl, json } = cmd;
    let auth = JwtAuth::from_settings(jwt)?;
    let db = service_db(db).await?;
    operator_tenant(&db, user).await?;
    let issued = auth.issue(user, ttl, None)?;
    if json {
        return print_json(&issued);
    }
    println!("{}", issued.token);
    Ok(())
}
