//! MCP over Streamable HTTP: `/mcp` behind the bearer check of [`guard`](super::guard), and the
//! RFC 9728 protected-resource metadata; mounted into the one HTTP server ([`crate::http`]).
//!
//! The MCP service runs without sessions (`legacy_session_mode = false`): 2026-07-28 clients have
//! none anyway, and 2025-11-25 clients get a stateless reply to `initialize` and send every later
//! request on its own. Nothing is kept between requests, so nothing needs binding to a user, and
//! every request is authenticated by its own credential.

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::guard::{self, Guard};
use super::{SupportServer, TenantSource};
use crate::accounts::Accounts;
use crate::tools::Ctx;

/// What the MCP routes need from the HTTP server.
pub struct McpRoutes {
    pub ctx: Ctx,
    pub accounts: Arc<Accounts>,
    /// The server's public base URL, without a trailing slash.
    pub base: String,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub authorization_servers: Vec<String>,
    pub max_body_bytes: usize,
    pub shutdown: CancellationToken,
}

/// `/mcp` and `/.well-known/oauth-protected-resource[/mcp]`.
pub fn router(r: McpRoutes) -> Router {
    let guard = Arc::new(Guard {
        accounts: r.accounts,
        ctx: r.ctx.clone(),
        resource: format!("{}/mcp", r.base),
        resource_metadata_url: format!("{}/.well-known/oauth-protected-resource", r.base),
        authorization_servers: r.authorization_servers,
    });
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(r.allowed_hosts)
        .with_allowed_origins(r.allowed_origins)
        .enforce_origin_validation()
        .with_max_request_body_bytes(r.max_body_bytes)
        .with_cancellation_token(r.shutdown);
    let handler = SupportServer::new(r.ctx, TenantSource::PerRequest);
    let mcp = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let mcp = Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(
            guard.clone(),
            guard::require_bearer,
        ));
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(guard::resource_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(guard::resource_metadata),
        )
        .with_state(guard)
        .merge(mcp)
}
