//! The REST API's resources (issue F2) against the real server on port 0.

mod desk;
mod input;
mod schemathesis;
mod two_tenants;

use reqwest::Method;
use serde_json::{Value, json};
use support_agent::knowledge::SearchSettings;
use support_agent::tools::Ctx;

use crate::accounts::support::{Answer, Api, access};
use crate::common::TestDb;
use crate::knowledge::support::hash_embedder;

/// A server whose tools have the word-hash embedder, and a signed-in tenant with one customer
/// and one ticket.
pub struct Desk {
    pub api: Api,
    pub token: String,
    pub user_id: String,
    pub customer: Value,
    pub ticket: Value,
}

pub async fn server(t: &TestDb) -> Api {
    let ctx = Ctx::new(t.db.clone()).with_knowledge(hash_embedder(), SearchSettings::default());
    Api {
        server: crate::mcp::support::Server::spawn_configured(ctx, |_| {}).await,
    }
}

impl Desk {
    pub async fn open(api: Api, email: &str) -> Self {
        let tokens = api.register(email).await;
        let token = access(&tokens);
        let user_id = tokens["user"]["id"].as_str().expect("id").to_owned();
        let customer = api
            .post(
                "/customers",
                Some(&token),
                json!({"name": "Maya Lopez", "email": format!("maya@{}", email.split('@').nth(1).unwrap_or("x.test")), "phone": "+1 555 0100"}),
            )
            .await;
        assert_eq!(customer.status, 201, "{}", customer.text);
        let ticket = api
            .post(
                "/tickets",
                Some(&token),
                json!({"customer_id": customer.body["id"], "subject": "Charged twice", "description": "Two charges in May."}),
            )
            .await;
        assert_eq!(ticket.status, 201, "{}", ticket.text);
        Self {
            api,
            token,
            user_id,
            customer: customer.body,
            ticket: ticket.body,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.api.send(method, path, Some(&self.token), body).await
    }

    pub fn ticket_id(&self) -> &str {
        self.ticket["id"].as_str().expect("ticket id")
    }

    pub fn customer_id(&self) -> &str {
        self.customer["id"].as_str().expect("customer id")
    }

    pub fn tenant(&self) -> support_agent::Tenant {
        support_agent::Tenant::from_trusted_operator_input(self.user_id.parse().expect("uuid"))
    }

    /// An ai draft on the ticket, as the worker would write it.
    pub async fn draft(&self, t: &TestDb, text: &str) -> String {
        let mut tx = t.db.begin(&self.tenant()).await.expect("begin");
        let m = support_agent::messages::store::add_draft(
            &mut tx,
            self.ticket_id().parse().expect("uuid"),
            self.ticket_id().parse().expect("uuid"),
            text,
            &json!([]),
        )
        .await
        .expect("draft")
        .expect("new");
        tx.commit().await.expect("commit");
        m.id.to_string()
    }

    /// Uploads a Markdown document.
    pub async fn upload(&self, name: &str, text: &str) -> Answer {
        let (kind, body) = crate::common::multipart_file(name, "text/markdown", text.as_bytes());
        let res = self
            .api
            .server
            .client
            .post(self.api.server.at("/api/v1/knowledge/documents"))
            .bearer_auth(&self.token)
            .header("content-type", kind)
            .body(body)
            .send()
            .await
            .expect("upload");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }
}
