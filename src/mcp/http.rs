//! MCP over Streamable HTTP: `/mcp` behind the Origin check and bearer verification of
//! [`guard`](super::guard), the RFC 9728 metadata, `/healthz`, and graceful shutdown.
//!
//! The MCP service runs without sessions (`legacy_session_mode = false`): 2026-07-28 clients have
//! none anyway, and 2025-11-25 clients get a stateless reply to `initialize` and send every later
//! request on its own. Nothing is kept between requests, so nothing needs binding to a user, and
//! every request is authenticated by its own token.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::guard::{self, Guard, normalise_origin};
use super::{SupportServer, TenantSource};
use crate::Db;
use crate::audit::AuditLog;
use crate::auth::JwtAuth;
use crate::tools::Ctx;

/// Largest request body accepted, in bytes (larger gets 413): far above any valid tool call,
/// whose longest argument is a 20,000-character draft.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// How the HTTP server is exposed.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Browser origins allowed to call `/mcp` (e.g. `https://app.example.com`).
    pub allowed_origins: Vec<String>,
    /// Accepted `Host` values (`name` or `name:port`), against DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// Authorization servers named in the protected-resource metadata.
    pub authorization_servers: Vec<String>,
    /// The URL clients reach this server at (scheme, host, port); defaults to the bound address.
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            authorization_servers: Vec::new(),
            public_url: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// A bound, not yet running, HTTP server.
pub struct HttpServer {
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    audit: AuditLog,
}

impl HttpServer {
    /// Binds `addr` (port 0 picks a free port) and builds the routes. Tool calls are audited
    /// through a batched writer, whatever audit `ctx` came with.
    pub async fn bind(
        addr: SocketAddr,
        config: HttpConfig,
        ctx: Ctx,
        auth: JwtAuth,
    ) -> std::io::Result<Self> {
        let db = ctx.db().clone();
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let base = base.trim_end_matches('/').to_owned();
        let guard = Arc::new(Guard {
            auth,
            allowed_origins: config
                .allowed_origins
                .iter()
                .map(|o| normalise_origin(o))
                .collect(),
            resource: format!("{base}/mcp"),
            resource_metadata_url: format!("{base}/.well-known/oauth-protected-resource"),
            authorization_servers: config.authorization_servers.clone(),
        });
        let shutdown = CancellationToken::new();
        let mcp_config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_allowed_hosts(config.allowed_hosts.clone())
            .with_allowed_origins(guard.allowed_origins.clone())
            .enforce_origin_validation()
            .with_max_request_body_bytes(config.max_body_bytes)
            .with_cancellation_token(shutdown.child_token());
        let audit = AuditLog::spawn(db.clone());
        let ctx = ctx.with_audit(audit.clone());
        let handler = SupportServer::new(ctx.clone(), TenantSource::PerRequest);
        let mcp = StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            mcp_config,
        );
        let mcp = Router::new()
            .nest_service("/mcp", mcp)
            .layer(middleware::from_fn_with_state(ctx, guard::limit_requests))
            .layer(middleware::from_fn_with_state(
                guard.clone(),
                guard::require_bearer,
            ))
            .layer(middleware::from_fn_with_state(
                guard.clone(),
                guard::check_origin,
            ));
        let router = Router::new()
            .route(
                "/.well-known/oauth-protected-resource",
                get(guard::resource_metadata),
            )
            .route(
                "/.well-known/oauth-protected-resource/mcp",
                get(guard::resource_metadata),
            )
            .with_state(guard)
            .route("/healthz", get(healthz).with_state(db))
            .merge(mcp);
        Ok(Self {
            listener,
            router,
            shutdown,
            audit,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` completes, then stops taking connections, ends open streams, lets
    /// requests in flight finish and writes the audit records still queued.
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let token = self.shutdown.clone();
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                stop.await;
                token.cancel();
            })
            .await;
        self.audit.flush().await;
        served
    }
}

/// 200 when the database answers, 503 when it does not.
async fn healthz(State(db): State<Db>) -> (StatusCode, &'static str) {
    match db.ping().await {
        Ok(_) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}
