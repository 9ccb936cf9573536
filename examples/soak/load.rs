//! The offered load: each operation on its own fixed schedule (open loop: a call is sent at its
//! time whether or not earlier ones have answered, and its latency counts from that time), for a
//! random tenant with that tenant's own token; and one ingestion uploading documents in turn.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::record::Recorder;

/// Calls in flight at most; past it a call is an error (`client: too many in flight`) rather
/// than a hidden queue in the load generator.
pub const MAX_IN_FLIGHT: usize = 2_000;

/// Customer messages added to one ticket at most (MAX_DRAFTS_PER_TICKET is 20).
const MESSAGES_PER_TICKET: u8 = 3;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    ListTickets,
    LookupCustomer,
    SearchKnowledge,
    CreateTicket,
    AddMessage,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::ListTickets => "mcp list_tickets",
            Op::LookupCustomer => "mcp lookup_customer",
            Op::SearchKnowledge => "mcp search_knowledge",
            Op::CreateTicket => "rest create_ticket",
            Op::AddMessage => "rest add_message",
        }
    }
}

/// The name the ingestion's uploads are recorded under.
pub const UPLOAD: &str = "rest upload_document";

const QUESTIONS: &[&str] = &[
    "how long do refunds take",
    "I was charged twice for my order",
    "where is my parcel",
    "can I pause my subscription",
    "how do I change my card",
    "someone logged into my account",
    "why did my bank dispute the payment",
    "do you ship abroad",
    "cancel my plan",
    "the coffee arrived damaged",
    "reset my password",
    "invoice for my company",
];

/// What every call needs.
pub struct Driver {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub tokens: Vec<String>,
    pub customers: u32,
    pub recorder: Arc<Recorder>,
    pub in_flight: Arc<Semaphore>,
    /// Tickets the soak created, with the customer messages added to each, to write on.
    recent: Mutex<VecDeque<(usize, Uuid, u8)>>,
}

impl Driver {
    pub fn new(
        http: reqwest::Client,
        base: String,
        tokens: Vec<String>,
        customers: u32,
        recorder: Arc<Recorder>,
    ) -> Self {
        Self {
            http,
            base,
            tokens,
            customers,
            recorder,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            recent: Mutex::default(),
        }
    }

    /// Sends `op` `per_second` times a second from the recorder's start until `until`.
    pub fn offer(self: &Arc<Self>, op: Op, per_second: f64, until: Instant) {
        if per_second <= 0.0 {
            return;
        }
        let me = self.clone();
        let interval = Duration::from_secs_f64(1.0 / per_second);
        tokio::spawn(async move {
            let mut next = me.recorder.start() + interval.mul_f64(rand::random());
            while next < until {
                tokio::time::sleep_until(next.into()).await;
                let scheduled = next;
                next += interval;
                let Ok(permit) = me.in_flight.clone().try_acquire_owned() else {
                    me.recorder.call(
                        op.name(),
                        scheduled,
                        Err("client: too many in flight".into()),
                    );
                    continue;
                };
                let me = me.clone();
                tokio::spawn(async move {
                    let result = me.call(op).await;
                    drop(permit);
                    match result {
                        Ok(true) => me
                            .recorder
                            .call(op.name(), scheduled, Ok(scheduled.elapsed())),
                        Ok(false) => {} // nothing to write on yet
                        Err(e) => me.recorder.call(op.name(), scheduled, Err(e)),
                    }
                });
            }
        });
    }

    /// One call; `Ok(false)` when there was nothing to do.
    async fn call(&self, op: Op) -> Result<bool, String> {
        let (tenant, args) = {
            let mut rng = rand::rng();
            let tenant = rng.random_range(0..self.tokens.len());
            let args = match op {
                Op::ListTickets => {
                    let status = ["open", "pending", "solved", "closed"][rng.random_range(0..4)];
                    json!({"status": status, "limit": 20})
                }
                Op::LookupCustomer => {
                    json!({"email": format!("c{}@example.com", rng.random_range(1..=self.customers))})
                }
                Op::SearchKnowledge => {
                    json!({"query": QUESTIONS[rng.random_range(0..QUESTIONS.len())], "limit": 5})
                }
                Op::CreateTicket => json!({
                    "customer_email": format!("c{}@example.com", rng.random_range(1..=self.customers)),
                    "subject": "My order has not arrived",
                    "description": "I ordered a bag of coffee ten days ago and it has not arrived. Can you check where it is, or refund me?",
                }),
                Op::AddMessage => json!({
                    "sender_type": "customer",
                    "content": "Any news? I was also charged twice, I think.",
                }),
            };
            (tenant, args)
        };
        match op {
            Op::ListTickets => self.mcp(tenant, "list_tickets", args).await,
            Op::LookupCustomer => self.mcp(tenant, "lookup_customer", args).await,
            Op::SearchKnowledge => self.mcp(tenant, "search_knowledge", args).await,
            Op::CreateTicket => {
                let v = self.post(tenant, "/api/v1/tickets", &args).await?;
                let id = v["id"]
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .ok_or("no ticket id in the answer")?;
                let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
                recent.push_back((tenant, id, 0));
                if recent.len() > 10_000 {
                    recent.pop_front();
                }
                Ok(true)
            }
            Op::AddMessage => {
                let Some((tenant, ticket)) = self.ticket_to_write_on() else {
                    return Ok(false);
                };
                let path = format!("/api/v1/tickets/{ticket}/messages");
                self.post(tenant, &path, &args).await?;
                Ok(true)
            }
        }
    }

    /// A ticket the soak created with fewer than [`MESSAGES_PER_TICKET`] messages added.
    fn ticket_to_write_on(&self) -> Option<(usize, Uuid)> {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((tenant, id, n)) = recent.pop_front() {
            if n < MESSAGES_PER_TICKET {
                recent.push_back((tenant, id, n + 1));
                return Some((tenant, id));
            }
        }
        None
    }

    async fn mcp(&self, tenant: usize, tool: &str, args: Value) -> Result<bool, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": tool, "arguments": args}});
        let res = self
            .http
            .post(format!("{}/mcp", self.base))
            .bearer_auth(&self.tokens[tenant])
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-11-25")
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        let status = res.status();
        if !status.is_success() {
            return Err(format!("http {}", status.as_u16()));
        }
        let v: Value = res.json().await.map_err(|_| "bad json".to_owned())?;
        if v["result"]["isError"] != json!(false) {
            return Err(if v["error"].is_object() {
                format!("json-rpc error {}", v["error"]["code"])
            } else {
                "tool error".to_owned()
            });
        }
        Ok(true)
    }

    async fn post(&self, tenant: usize, path: &str, body: &Value) -> Result<Value, String> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.tokens[tenant])
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = res.status();
        if !status.is_success() {
            return Err(format!("http {}", status.as_u16()));
        }
        res.json().await.map_err(|_| "bad json".to_owned())
    }

    /// The one ingestion: tenant 0 uploads a document (one of the demo's articles, made new by its
    /// revision number so that it is embedded again), waits for the answer, and uploads the next,
    /// `per_minute` at most, until `until`. Latency is the upload's own (it is closed loop).
    pub fn ingest(
        self: &Arc<Self>,
        articles: Vec<(String, String)>,
        per_minute: f64,
        until: Instant,
    ) {
        if per_minute <= 0.0 || articles.is_empty() {
            return;
        }
        let me = self.clone();
        let interval = Duration::from_secs_f64(60.0 / per_minute);
        // New names in every run, so that a reused database has no such document yet.
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        tokio::spawn(async move {
            let mut next = me.recorder.start();
            for n in 0usize.. {
                if next >= until {
                    break;
                }
                tokio::time::sleep_until(next.into()).await;
                let started = Instant::now();
                let (name, text) = &articles[n % articles.len()];
                let doc = format!("{text}\n\nRevision {n} of this article.\n");
                let result = me.upload(&format!("soak-{run}-{n}-{name}"), &doc).await;
                me.recorder
                    .call(UPLOAD, started, result.map(|()| started.elapsed()));
                next = (next + interval).max(Instant::now());
            }
        });
    }

    async fn upload(&self, name: &str, text: &str) -> Result<(), String> {
        let boundary = format!("soak{}", Uuid::new_v4().simple());
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: text/markdown\r\n\r\n{text}\r\n--{boundary}--\r\n"
        );
        let res = self
            .http
            .post(format!("{}/api/v1/knowledge/documents", self.base))
            .bearer_auth(&self.tokens[0])
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        match res.status().as_u16() {
            // 201: ingested; 200: the same text was there already.
            200 | 201 => res.bytes().await.map(|_| ()).map_err(transport),
            s => Err(format!("http {s}")),
        }
    }
}

fn transport(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else {
        "transport".into()
    }
}
