//! Shared by the inbox tests: the server, a cookie-keeping page client, and a seeded desk.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::json;
use support_agent::desk;
use support_agent::knowledge::SearchSettings;
use support_agent::messages::{self, Message};
use support_agent::tools::Ctx;
use support_agent::{Db, Tenant, users};
use uuid::Uuid;

use crate::accounts::support::PASSWORD;
use crate::common::{TestDb, multipart_file, new_customer, new_ticket};
use crate::knowledge::support::hash_embedder;
use crate::mcp::support::Server;

/// The server, with the word-hash embedder for the knowledge base.
pub async fn server(t: &TestDb) -> Server {
    server_with(t, |_| {}).await
}

pub async fn server_with(
    t: &TestDb,
    change: impl FnOnce(&mut support_agent::http::HttpConfig),
) -> Server {
    let ctx = Ctx::new(t.db.clone()).with_knowledge(hash_embedder(), SearchSettings::default());
    server_ctx(ctx, change).await
}

/// The server of `ctx`.
pub async fn server_ctx(
    ctx: Ctx,
    change: impl FnOnce(&mut support_agent::http::HttpConfig),
) -> Server {
    Server::spawn_configured(ctx, change).await
}

/// An answer to a page request.
pub struct Got {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Got {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// A browser without a browser: keeps the cookies it is given, follows no redirects, and knows
/// the CSRF token of the last page it read.
pub struct Browser {
    pub base: String,
    client: reqwest::Client,
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(server: &Server) -> Self {
        Self {
            base: server.at(""),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for c in headers.get_all(SET_COOKIE) {
            let Some((pair, _)) = c
                .to_str()
                .ok()
                .map(|c| c.split_once(';').unwrap_or((c, "")))
            else {
                continue;
            };
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
    }

    async fn finish(&mut self, res: reqwest::Response) -> Got {
        let status = res.status();
        let headers = res.headers().clone();
        self.keep(&headers);
        let body = res.text().await.expect("body");
        Got {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Got {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.header())
            .send()
            .await
            .expect("GET");
        self.finish(res).await
    }

    /// POSTs a form as a page of this site would, with its CSRF token (the cookie's).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Got {
        let csrf = self.cookie("sa_csrf").unwrap_or("").to_owned();
        let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, Some(&self.base.clone())).await
    }

    /// POSTs exactly `fields`, with `origin` as the Origin header when given.
    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Got {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.expect("POST");
        self.finish(res).await
    }

    /// POSTs one file as `multipart/form-data` (field `file`), as the upload form does; the
    /// CSRF token, if any, is in `path`'s query.
    pub async fn upload(&mut self, path: &str, name: &str, bytes: &[u8]) -> Got {
        let (kind, body) = multipart_file(name, "application/octet-stream", bytes);
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.header())
            .header("origin", self.base.clone())
            .header("content-type", kind)
            .body(body)
            .send()
            .await
            .expect("POST");
        self.finish(res).await
    }

    /// Signs up through the page; the browser is then signed in.
    pub async fn sign_up(&mut self, name: &str, email: &str) -> Got {
        self.get("/signup").await;
        let got = self
            .post(
                "/signup",
                &[("name", name), ("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
        got
    }
}

/// The tenant of an account signed up through the page.
pub async fn tenant_of(t: &TestDb, email: &str) -> Tenant {
    let id = users::store::find_id_by_email(&t.owner, email)
        .await
        .expect("query")
        .expect("the account exists");
    Tenant::from_trusted_operator_input(id)
}

/// A ticket with an ai draft answering it, as the worker writes one, citing `citations`.
pub async fn ticket_with_draft(
    db: &Db,
    tenant: &Tenant,
    customer: (&str, &str),
    subject: &str,
    draft: &str,
    citations: serde_json::Value,
) -> (Uuid, Message) {
    let c = match find_customer(db, tenant, customer.1).await {
        Some(id) => id,
        None => new_customer(db, tenant, customer.0, customer.1).await.id,
    };
    let ticket = new_ticket(db, tenant, c, subject).await;
    let mut tx = db.begin(tenant).await.expect("begin");
    let m = messages::store::add_draft(&mut tx, ticket.id, ticket.id, draft, &citations)
        .await
        .expect("draft")
        .expect("new");
    tx.commit().await.expect("commit");
    (ticket.id, m)
}

async fn find_customer(db: &Db, tenant: &Tenant, email: &str) -> Option<Uuid> {
    let mut tx = db.begin(tenant).await.expect("begin");
    let c = support_agent::customers::store::find_by_email(&mut tx, email)
        .await
        .ok()
        .map(|c| c.id);
    tx.commit().await.expect("commit");
    c
}

/// Approves (with `edit` as the last edit, if any) or discards a draft as the REST API does.
pub async fn decide(
    db: &Db,
    tenant: &Tenant,
    ticket: Uuid,
    m: &Message,
    approve: bool,
    edit: Option<&str>,
) {
    let decision = if approve {
        messages::Decision::Approve
    } else {
        messages::Decision::Discard
    };
    desk::decide_draft(db, tenant, ticket, m.id, decision, edit, "operator")
        .await
        .expect("decide");
}

/// No citations.
pub fn none() -> serde_json::Value {
    json!([])
}
