//! A server, and a client that speaks the account routes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support_agent::tools::Ctx;

use crate::common::TestDb;
use crate::mcp::support::Server;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Api {
    pub server: Server,
}

/// A response's status, headers and parsed body (Null when the body is empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Api {
    pub async fn start(t: &TestDb) -> Self {
        Self {
            server: Server::spawn(&t.db).await,
        }
    }

    pub async fn start_with(
        t: &TestDb,
        change: impl FnOnce(&mut support_agent::http::HttpConfig),
    ) -> Self {
        Self {
            server: Server::spawn_configured(Ctx::new(t.db.clone()), change).await,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .server
            .client
            .request(method, self.server.at(&format!("/api/v1{path}")));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            body,
        }
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> Answer {
        self.send(Method::POST, path, bearer, Some(body)).await
    }

    pub async fn get(&self, path: &str, bearer: &str) -> Answer {
        self.send(Method::GET, path, Some(bearer), None).await
    }

    /// Registers `email` and returns the token answer.
    pub async fn register(&self, email: &str) -> Value {
        let a = self
            .post(
                "/auth/register",
                None,
                json!({"name": "Acme Support", "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.body
    }

    /// A `tools/call` on /mcp with `bearer`: the HTTP status and the body.
    pub async fn mcp(&self, bearer: &str, tool: &str, args: Value) -> (u16, Value) {
        self.server
            .rpc(
                bearer,
                "tools/call",
                json!({"name": tool, "arguments": args}),
            )
            .await
    }
}

pub fn access(tokens: &Value) -> String {
    tokens["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

pub fn refresh(tokens: &Value) -> String {
    tokens["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}
