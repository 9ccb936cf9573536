//! MCP over stdio, for Claude Desktop and other local clients: one tenant, whose token was
//! verified before the server started and is checked again on every call (SECURITY.md M2): once
//! it expires or is revoked, every call answers a JSON-RPC error saying so. stdout carries the
//! protocol only; logs go to stderr.

use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::ServiceExt;

use super::{SupportServer, TenantSource};
use crate::Tenant;
use crate::accounts::{Accounts, Refusal};
use crate::config::Secret;
use crate::tools::Ctx;

/// The token a stdio server acts with, and what checks it.
pub struct StdioToken {
    accounts: Accounts,
    token: Secret,
}

impl StdioToken {
    /// Checks the token again: signature and expiry, then revocation and the user's existence.
    pub async fn check(&self) -> Result<(), McpError> {
        match self.accounts.authenticate(self.token.expose().trim()).await {
            Ok(_) => Ok(()),
            Err(Refusal::Auth(e)) => {
                tracing::error!(reason = %e, "SUPPORT_AGENT_TOKEN can no longer be used: refusing calls; issue a new token and restart");
                Err(McpError::invalid_request(
                    format!(
                        "this server's token can no longer be used ({e}): issue a new one with \
                         `support-agent token issue` and restart the server"
                    ),
                    None,
                ))
            }
            Err(Refusal::Store(e)) => {
                tracing::error!(error = %e, "checking the token failed");
                Err(McpError::internal_error("internal error", None))
            }
        }
    }
}

/// Serves MCP on stdin/stdout for `tenant` until the client closes the stream.
pub async fn serve(
    ctx: Ctx,
    accounts: Accounts,
    token: Secret,
    tenant: Tenant,
) -> anyhow::Result<()> {
    // One client, one call at a time: each call is recorded before it returns.
    let direct = ctx.audit().unbatched();
    let ctx = ctx.with_audit(direct);
    let token = Arc::new(StdioToken { accounts, token });
    let server = SupportServer::new(ctx, TenantSource::Fixed(tenant, token));
    let running = server.serve(rmcp::transport::stdio()).await?;
    tracing::info!(%tenant, "serving MCP on stdio");
    running.waiting().await?;
    Ok(())
}
