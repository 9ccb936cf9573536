//! Shared by the MCP tests: a seeded tenant, tokens, and the real HTTP server on port 0.

use std::net::SocketAddr;

use serde_json::{Value, json};
use support_agent::auth::JwtAuth;
use support_agent::config::{JwtSettings, Secret};
use support_agent::customers::Customer;
use support_agent::http::{HttpConfig, HttpServer};
use support_agent::tickets::Ticket;
use support_agent::tools::Ctx;
use support_agent::{Db, Tenant};
use tokio::sync::oneshot;

use crate::common::{new_customer, new_tenant, new_ticket};

pub const SECRET: &str = "mcp-test-secret-0123456789abcdef0123456789";
pub const ISSUER: &str = "support-agent";
pub const AUDIENCE: &str = "support-agent-mcp";
pub const ALLOWED_ORIGIN: &str = "https://app.example.com";

pub fn jwt_settings() -> JwtSettings {
    JwtSettings {
        jwt_secret: Some(Secret::new(SECRET)),
        jwt_issuer: ISSUER.into(),
        jwt_audience: AUDIENCE.into(),
        jwt_public_keys: String::new(),
        jwt_signing_key: None,
        token_max_ttl: std::time::Duration::from_secs(90 * 86_400),
    }
}

pub fn auth() -> JwtAuth {
    JwtAuth::from_settings(&jwt_settings()).expect("jwt settings")
}

pub fn token_for(tenant: &Tenant) -> String {
    auth()
        .issue(tenant.id(), std::time::Duration::from_secs(600), None)
        .expect("token")
        .token
}

/// A tenant with one customer and one open ticket.
pub struct Seeded {
    pub tenant: Tenant,
    pub customer: Customer,
    pub ticket: Ticket,
}

pub async fn seed(db: &Db, name: &str) -> Seeded {
    let tenant = new_tenant(db, name).await;
    let email = format!("{}@example.com", name.to_lowercase());
    let customer = new_customer(db, &tenant, &format!("{name} Customer"), &email).await;
    let ticket = new_ticket(db, &tenant, customer.id, &format!("{name} refund")).await;
    Seeded {
        tenant,
        customer,
        ticket,
    }
}

/// The HTTP server running in this process; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub url: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    pub done: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn spawn(db: &Db) -> Self {
        Self::spawn_with(Ctx::new(db.clone())).await
    }

    /// A server whose tools run with `ctx`.
    pub async fn spawn_with(ctx: Ctx) -> Self {
        Self::spawn_configured(ctx, |_| {}).await
    }

    /// The test configuration, changed by `change`.
    pub async fn spawn_configured(ctx: Ctx, change: impl FnOnce(&mut HttpConfig)) -> Self {
        let mut config = HttpConfig {
            allowed_origins: vec![ALLOWED_ORIGIN.into()],
            authorization_servers: vec!["https://auth.example.com".into()],
            max_body_bytes: 64 * 1024,
            ..HttpConfig::default()
        };
        change(&mut config);
        let server = HttpServer::bind("127.0.0.1:0".parse().expect("addr"), config, ctx, auth())
            .await
            .expect("bind");
        let addr = server.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel();
        let done = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            url: format!("http://{addr}/mcp"),
            client: {
                support_agent::tls::install_crypto_provider();
                reqwest::Client::new()
            },
            stop: Some(tx),
            done: Some(done),
        }
    }

    /// A handle on the same running server (it stops when the first is dropped).
    pub fn same(&self) -> Self {
        Self {
            addr: self.addr,
            url: self.url.clone(),
            client: self.client.clone(),
            stop: None,
            done: None,
        }
    }

    /// `http://addr` followed by `path`.
    pub fn at(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Asks for a graceful shutdown.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// POSTs a raw body to /mcp as a 2025-11-25 client would.
    pub async fn post_raw(
        &self,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-11-25")
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request")
    }

    /// A JSON-RPC request; returns the status and the parsed body (Null when not JSON).
    pub async fn rpc(&self, token: &str, method: &str, params: Value) -> (u16, Value) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let res = self.post_raw(Some(token), body.to_string()).await;
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `tools/call`; returns the JSON-RPC `result` (or panics on a protocol error).
    pub async fn call(&self, token: &str, tool: &str, args: Value) -> Value {
        let (status, body) = self
            .rpc(
                token,
                "tools/call",
                json!({"name": tool, "arguments": args}),
            )
            .await;
        assert_eq!(status, 200, "{tool}: {body}");
        body.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{tool}: no result in {body}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The text of a tool result's first content block.
pub fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Asserts an `isError` result whose text contains `needle`.
pub fn assert_tool_error(result: &Value, needle: &str) {
    assert_eq!(result["isError"], json!(true), "expected isError: {result}");
    assert!(
        text(result).contains(needle),
        "expected {needle:?} in {result}"
    );
}
