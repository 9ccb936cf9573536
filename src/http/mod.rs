//! The one HTTP server (`serve --http`): MCP at `/mcp`, the REST API at `/api/v1`, the inbox
//! pages at `/` (`/login`, `/tickets`, …), `/healthz`, on one port, one pool and one graceful
//! shutdown. The edge rules — request ids, the `Host` and
//! `Origin` allow-lists, CORS for the configured origins, the body limit — apply to every route.

mod authn;
pub use authn::bearer;
pub mod edge;
mod json;
pub mod openapi;
mod pages;
mod path;
pub mod problem;
mod query;
mod routes;
mod webhooks;

pub use routes::contract;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Db;
use crate::accounts::{AccountSettings, Accounts};
use crate::audit::AuditLog;
use crate::auth::JwtAuth;
use crate::knowledge::IngestOptions;
use crate::mcp;
use crate::tools::Ctx;
use edge::{Edge, IpRange, normalise_origin};
use problem::Problem;

/// Largest request body accepted, in bytes (larger gets 413): far above any valid request,
/// whose longest field is a 20,000-character message. Uploads have their own limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// How the HTTP server is exposed.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Browser origins allowed to call the server (e.g. `https://app.example.com`).
    pub allowed_origins: Vec<String>,
    /// Accepted `Host` values (`name` or `name:port`), against DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// Authorization servers named in the protected-resource metadata.
    pub authorization_servers: Vec<String>,
    /// The URL clients reach this server at (scheme, host, port); defaults to the bound address.
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpRange>,
    pub accounts: AccountSettings,
    /// How uploads are ingested (limits and the PDF sandbox).
    pub ingest: IngestOptions,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            authorization_servers: Vec::new(),
            public_url: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            trusted_proxies: Vec::new(),
            accounts: AccountSettings::default(),
            ingest: IngestOptions::default(),
        }
    }
}

/// What the REST handlers share.
#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub accounts: Arc<Accounts>,
    pub edge: Arc<Edge>,
    pub ingest: Arc<IngestOptions>,
    /// The largest body read (a signed intake request's, to check its signature).
    pub max_body_bytes: usize,
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
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let base = base.trim_end_matches('/').to_owned();
        let db = ctx.db().clone();
        let audit = ctx.audit().batched();
        let ctx = ctx.with_audit(audit.clone());
        let accounts = Arc::new(Accounts::new(
            db.clone(),
            Arc::new(auth),
            config.accounts.clone(),
        ));
        let edge = Arc::new(Edge {
            allowed_hosts: config
                .allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            allowed_origins: config
                .allowed_origins
                .iter()
                .map(|o| normalise_origin(o))
                .collect(),
            trusted_proxies: config.trusted_proxies.clone(),
            public_origin: Some(normalise_origin(&base)),
        });
        let shutdown = CancellationToken::new();
        // An upload is a file of at most KB_MAX_FILE_BYTES plus its multipart framing.
        let upload_limit = usize::try_from(config.ingest.max_file_bytes.saturating_add(64 * 1024))
            .unwrap_or(usize::MAX);
        let state = AppState {
            ctx: ctx.clone(),
            accounts: accounts.clone(),
            edge: edge.clone(),
            ingest: Arc::new(config.ingest.clone()),
            max_body_bytes: config.max_body_bytes,
        };
        let inbox = pages::router(
            pages::Pages {
                app: state.clone(),
                secure: base.starts_with("https://"),
                base: base.clone(),
            },
            upload_limit,
        );
        let mcp = mcp::http::router(mcp::http::McpRoutes {
            ctx,
            accounts,
            base,
            allowed_hosts: edge.allowed_hosts.clone(),
            allowed_origins: edge.allowed_origins.clone(),
            authorization_servers: config.authorization_servers.clone(),
            max_body_bytes: config.max_body_bytes,
            shutdown: shutdown.child_token(),
        });
        let router = Router::new()
            .merge(webhooks::router(state.clone()))
            .nest("/api/v1", routes::api(state, upload_limit))
            .merge(mcp)
            .merge(inbox)
            .route("/healthz", get(healthz).with_state(db))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(config.max_body_bytes))
            .layer(middleware::from_fn_with_state(edge, edge::host_and_origin))
            .layer(middleware::from_fn(edge::request_id));
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
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
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

async fn not_found() -> Response {
    Problem::not_found("route").into_response()
}

async fn method_not_allowed() -> Response {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this route does not take that method",
    )
    .into_response()
}
