//! MCP over stdio, for Claude Desktop and other local clients: one tenant, whose token was
//! verified before the server started (SECURITY.md M2). stdout carries the protocol only; logs
//! go to stderr.

use rmcp::ServiceExt;

use super::{SupportServer, TenantSource};
use crate::Tenant;
use crate::audit::AuditLog;
use crate::tools::Ctx;

/// Serves MCP on stdin/stdout for `tenant` until the client closes the stream.
pub async fn serve(ctx: Ctx, tenant: Tenant) -> anyhow::Result<()> {
    // One client, one call at a time: each call is recorded before it returns.
    let direct = AuditLog::direct(ctx.db().clone());
    let ctx = ctx.with_audit(direct);
    let server = SupportServer::new(ctx, TenantSource::Fixed(tenant));
    let running = server.serve(rmcp::transport::stdio()).await?;
    tracing::info!(%tenant, "serving MCP on stdio");
    running.waiting().await?;
    Ok(())
}
