//! `support-agent serve`: the MCP server, over stdio for one tenant or over Streamable HTTP for
//! every tenant that presents a valid token.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{ArgGroup, Args};

use super::Cli;
use super::context::{operator_tenant, service_db, tool_ctx};
use super::signal::shutdown_signal;
use std::sync::Arc;

use crate::accounts::Accounts;
use crate::auth::JwtAuth;
use crate::config::Secret;
use crate::http::edge::IpRange;
use crate::http::{DEFAULT_MAX_BODY_BYTES, HttpConfig, HttpServer};
use crate::mcp;

/// The environment variable that holds the tenant's token for `--stdio`. It is read from the
/// environment only (never a flag, which `ps` would show).
pub const TOKEN_ENV: &str = "SUPPORT_AGENT_TOKEN";

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("transport").required(true).args(["stdio", "http"])))]
pub struct ServeArgs {
    /// Serve MCP on stdin/stdout for the one tenant whose token is in SUPPORT_AGENT_TOKEN
    /// (Claude Desktop). Logs go to stderr.
    #[arg(long)]
    stdio: bool,

    /// Serve MCP (at /mcp) and the REST API (at /api/v1) over HTTP on ADDR; every request but
    /// sign-up and login needs `Authorization: Bearer <access token or API key>`.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
    http: Option<SocketAddr>,

    /// Browser origins allowed to call /mcp and /api (CORS), comma-separated (e.g.
    /// https://app.example.com). Requests with any other Origin get 403; requests without one
    /// (non-browser clients) pass.
    #[arg(long, env = "MCP_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,

    /// Host header values accepted (name or name:port), comma-separated: add the public host
    /// name when serving beyond loopback.
    #[arg(
        long,
        env = "MCP_ALLOWED_HOSTS",
        value_delimiter = ',',
        default_value = "localhost,127.0.0.1,::1"
    )]
    allowed_hosts: Vec<String>,

    /// Authorization servers that issue tokens for this server, comma-separated URLs, published
    /// in /.well-known/oauth-protected-resource.
    #[arg(long, env = "MCP_AUTHORIZATION_SERVERS", value_delimiter = ',')]
    authorization_servers: Vec<String>,

    /// The URL clients reach this server at, e.g. https://support.example.com (defaults to
    /// http://ADDR); the resource is its /mcp.
    #[arg(long, env = "MCP_PUBLIC_URL")]
    public_url: Option<String>,

    /// Largest request body accepted on every route but uploads, in bytes.
    #[arg(long, env = "MCP_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For names the
    /// client, for the sign-up and login throttles; from anyone else it is ignored.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_range)]
    trusted_proxies: Vec<IpRange>,
}

fn parse_range(s: &str) -> Result<IpRange, String> {
    IpRange::parse(s)
}

pub(super) async fn run(cli: &Cli, args: ServeArgs) -> anyhow::Result<()> {
    let auth = JwtAuth::from_settings(&cli.jwt)?;
    if args.stdio {
        // Verify the token before touching the database or stdout: no valid token, no server.
        let token = std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(Secret::new)
            .with_context(|| {
                format!("{TOKEN_ENV} is not set: issue one with `support-agent token issue`")
            })?;
        let verified = auth
            .verify(token.expose().trim())
            .with_context(|| format!("{TOKEN_ENV} is not a valid token"))?;
        let db = service_db(&cli.db).await?;
        operator_tenant(&db, verified.tenant.id())
            .await
            .with_context(|| format!("{TOKEN_ENV} names no existing user"))?;
        let accounts = Accounts::new(db.clone(), Arc::new(auth), cli.accounts.clone());
        let principal = accounts
            .authenticate(token.expose().trim())
            .await
            .map_err(|e| anyhow::anyhow!("{TOKEN_ENV} cannot be used: {e}"))?;
        let ctx = tool_ctx(db, cli)?;
        return mcp::stdio::serve(ctx, accounts, token, principal.tenant).await;
    }
    let addr = args.http.context("give --stdio or --http [ADDR]")?;
    let db = service_db(&cli.db).await?;
    let ctx = tool_ctx(db, cli)?;
    let config = HttpConfig {
        allowed_origins: args.allowed_origins,
        allowed_hosts: args.allowed_hosts,
        authorization_servers: args.authorization_servers,
        public_url: args.public_url,
        max_body_bytes: args.max_body_bytes,
        trusted_proxies: args.trusted_proxies,
        accounts: cli.accounts.clone(),
    };
    let server = HttpServer::bind(addr, config, ctx, auth)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(addr = %server.local_addr()?, "serving MCP over HTTP at /mcp");
    server.run(shutdown_signal()).await?;
    Ok(())
}
