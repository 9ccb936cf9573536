//! A loopback server that speaks Stripe's wire format: bearer keys and `Stripe-Account` checked
//! per account, form-encoded query parameters, list envelopes with `has_more` and
//! `starting_after`, Stripe's error bodies, and scripted faults (429, 500, a slow answer,
//! `Stripe-Should-Retry: false`).
//!
//! It runs on a thread and runtime of its own, so that what it logs never mixes with the logs a
//! test captures from the client.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::data;

/// One Stripe account and the credentials that reach it.
#[derive(Clone, Default)]
pub struct Account {
    /// The `Authorization` header value that reaches it, e.g. `Bearer rk_test_…`.
    pub authorization: String,
    /// The `Stripe-Account` header it needs (Connect), if any.
    pub stripe_account: Option<String>,
    pub customers: Vec<Value>,
    pub charges: Vec<Value>,
    pub refunds: Vec<Value>,
    pub disputes: Vec<Value>,
    pub products: Vec<Value>,
    pub subscriptions: Vec<Value>,
    pub invoices: Vec<Value>,
    /// Restricted key permissions it lacks, e.g. `rak_refund_write`: requests needing one get
    /// Stripe's 403.
    pub lacks: Vec<&'static str>,
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub stripe_account: Option<String>,
    pub idempotency_key: Option<String>,
}

impl Seen {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does instead of answering normally, once per queued fault.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// An error status with Stripe's error body and, maybe, `Stripe-Should-Retry`.
    Status(u16, Option<bool>),
    /// Answers normally, after this long.
    Slow(Duration),
    /// Does what was asked at once, but answers only after this long: a client that gives up
    /// first has lost the answer to a request that took effect.
    LoseAnswer(Duration),
}

/// A write's first answer, kept under its idempotency key as Stripe keeps it.
struct Kept {
    /// Method, path and parameters of the first request: another request under the same key
    /// must match them.
    request: (String, String, Vec<(String, String)>),
    status: StatusCode,
    body: Value,
}

#[derive(Default)]
pub(super) struct Shared {
    pub accounts: Vec<Account>,
    pub seen: Vec<Seen>,
    pub faults: VecDeque<Fault>,
    /// Faults for writes (POST, DELETE) only.
    pub write_faults: VecDeque<Fault>,
    /// (authorization, Stripe-Account, Idempotency-Key) → the first answer.
    kept: HashMap<(String, Option<String>, String), Kept>,
}

/// The running server.
pub struct FakeStripe {
    /// Base URL, e.g. `http://127.0.0.1:40123/`.
    pub base: String,
    state: Arc<Mutex<Shared>>,
}

impl FakeStripe {
    /// Starts a server for these accounts on a port of its own.
    pub fn start(accounts: Vec<Account>) -> Self {
        let state = Arc::new(Mutex::new(Shared {
            accounts,
            ..Shared::default()
        }));
        let shared = Arc::clone(&state);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send");
                let app = Router::new().fallback(handle).with_state(shared);
                axum::serve(listener, app).await.expect("serve");
            });
        });
        let addr = rx.recv().expect("the server starts");
        Self {
            base: format!("http://{addr}/"),
            state,
        }
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().expect("lock").seen.clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear_seen(&self) {
        self.state.lock().expect("lock").seen.clear();
    }

    /// The account whose credentials are `authorization` (and, for Connect, `stripe_account`),
    /// as the server holds it now (writes change it).
    pub fn account(&self, authorization: &str, stripe_account: Option<&str>) -> Account {
        let s = self.state.lock().expect("lock");
        s.accounts
            .iter()
            .find(|a| {
                a.authorization == authorization && a.stripe_account.as_deref() == stripe_account
            })
            .cloned()
            .expect("an account with these credentials")
    }

    /// Changes an account in place (e.g. a charge refunded elsewhere meanwhile).
    pub fn change(&self, authorization: &str, f: impl FnOnce(&mut Account)) {
        let mut s = self.state.lock().expect("lock");
        let a = s
            .accounts
            .iter_mut()
            .find(|a| a.authorization == authorization)
            .expect("an account with this key");
        f(a);
    }

    /// Queues faults for the next writes only (reads are answered normally meanwhile).
    pub fn fail_next_writes(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().expect("lock").write_faults.extend(faults);
    }

    /// Queues faults, answered one per request before normal service resumes.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().expect("lock").faults.extend(faults);
    }
}

async fn handle(
    State(state): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut query: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    query.extend(form_urlencoded::parse(&body).into_owned());
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query,
        authorization: header("authorization"),
        stripe_account: header("stripe-account"),
        idempotency_key: header("idempotency-key"),
    };
    let fault = {
        let mut s = state.lock().expect("lock");
        s.seen.push(seen.clone());
        match s.faults.pop_front() {
            Some(f) => Some(f),
            None if seen.method != "GET" => s.write_faults.pop_front(),
            None => None,
        }
    };
    let lose = match fault {
        Some(Fault::Status(status, should_retry)) => return fault_response(status, should_retry),
        Some(Fault::Slow(wait)) => {
            tokio::time::sleep(wait).await;
            None
        }
        Some(Fault::LoseAnswer(wait)) => Some(wait),
        None => None,
    };
    let response = respond(&state, &seen);
    if let Some(wait) = lose {
        tokio::time::sleep(wait).await;
    }
    response
}

/// The answer to `seen`, writes done and idempotency keys kept as Stripe does.
fn respond(state: &Mutex<Shared>, seen: &Seen) -> Response {
    let mut s = state.lock().expect("lock");
    let write = seen.method != "GET";
    let key = seen.idempotency_key.clone().filter(|_| write).map(|k| {
        (
            seen.authorization.clone().unwrap_or_default(),
            seen.stripe_account.clone(),
            k,
        )
    });
    let request = (seen.method.clone(), seen.path.clone(), seen.query.clone());
    if let Some(kept) = key.as_ref().and_then(|k| s.kept.get(k)) {
        // Stripe answers a repeated key with the first answer, and refuses it for another
        // request.
        if kept.request != request {
            let body = data::error(
                "idempotency_error",
                None,
                "Keys for idempotent requests can only be used with the same parameters they \
                 were first used with.",
            );
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
        let mut response = (kept.status, axum::Json(kept.body.clone())).into_response();
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
        return response;
    }
    if !write {
        return super::routes::answer(&s.accounts, seen);
    }
    let (status, body) = super::routes::write(&mut s.accounts, seen);
    // Stripe keeps the answer of a request that it processed (not of a 5xx it may retry).
    if let Some(k) = key
        && status.as_u16() < 500
    {
        s.kept.insert(
            k,
            Kept {
                request,
                status,
                body: body.clone(),
            },
        );
    }
    (status, axum::Json(body)).into_response()
}

fn fault_response(status: u16, should_retry: Option<bool>) -> Response {
    let body = match status {
        429 => data::error(
            "rate_limit_error",
            Some("rate_limit"),
            "Too many requests hit the API too quickly.",
        ),
        409 => data::error(
            "invalid_request_error",
            Some("lock_timeout"),
            "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.",
        ),
        _ => data::error(
            "api_error",
            None,
            "An unknown error occurred on Stripe's end.",
        ),
    };
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (code, axum::Json(body)).into_response();
    if let Some(retry) = should_retry {
        let value = if retry { "true" } else { "false" };
        response.headers_mut().insert(
            "stripe-should-retry",
            axum::http::HeaderValue::from_static(value),
        );
    }
    response
}
