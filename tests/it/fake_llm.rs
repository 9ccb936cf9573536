//! A loopback OpenAI-compatible chat server, scripted per test: it answers `POST
//! /chat/completions` with the next scripted reply, in the real wire format, and keeps every
//! request body for assertions.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// A model that answers from what it was sent: the request body in, the reply out.
#[derive(Clone)]
pub struct Respond(pub Arc<dyn Fn(&Value) -> Reply + Send + Sync>);

impl std::fmt::Debug for Respond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Respond(..)")
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The answer `Respond` makes of the request (a model that reads its tool results).
    Dynamic(Respond),
    /// The model calls these tools (name, raw arguments), in parallel.
    Tools(Vec<(&'static str, String)>),
    /// The model answers in text.
    Text(String),
    /// An HTTP error with OpenAI's error body.
    Status(u16),
    /// An HTTP error with OpenAI's error body, its `code` and `message` as given (a real
    /// server's refusal: `model_not_found`, `invalid_api_key`, "… does not support tools").
    Refuse(u16, &'static str, &'static str),
    /// A 4xx whose body is not JSON (a URL that is not the API).
    PlainStatus(u16, &'static str),
    /// No answer for this long.
    Hang(Duration),
    /// A 200 whose body is not JSON.
    Garbage,
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    /// Answer once the script is used up.
    otherwise: Option<Reply>,
    requests: Vec<Value>,
}

/// The running server.
#[derive(Clone)]
pub struct FakeLlm {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl FakeLlm {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base_url: format!("http://{addr}/v1"),
            script,
        }
    }

    /// What to answer once the scripted replies are used up.
    pub fn otherwise(&self, reply: Reply) {
        self.script.lock().expect("lock").otherwise = Some(reply);
    }

    pub fn requests(&self) -> Vec<Value> {
        self.script.lock().expect("lock").requests.clone()
    }
}

/// The tool results in a request, oldest first, as the model was sent them.
pub fn tool_results_of(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A `submit_triage` call with the given reply and citations.
pub fn submit(reply: &str, chunk_ids: &[&str], category: &str) -> (&'static str, String) {
    let args = json!({
        "reply": reply, "chunk_ids": chunk_ids, "charge_ids": [], "category": category,
        "priority": "high", "sentiment": "negative", "language": "en", "confidence": 0.8,
        "needs_human": false
    });
    ("submit_triage", args.to_string())
}

async fn answer(State(script): State<Arc<Mutex<Script>>>, body: Bytes) -> Response {
    let reply = {
        let mut s = script.lock().expect("lock");
        s.requests
            .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
        s.replies.pop_front().or_else(|| s.otherwise.clone())
    };
    let reply = match reply {
        Some(Reply::Dynamic(respond)) => {
            let request = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Some((respond.0)(&request))
        }
        other => other,
    };
    match reply {
        None | Some(Reply::Dynamic(_)) => error(500, "script exhausted"),
        Some(Reply::Status(code)) => error(code, "scripted failure"),
        Some(Reply::Refuse(status, code, message)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            let body = json!({"error": {"message": message, "type": "invalid_request_error",
                                        "param": null, "code": code}});
            (status, axum::Json(body)).into_response()
        }
        Some(Reply::PlainStatus(status, body)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND),
            [("content-type", "text/plain")],
            body,
        )
            .into_response(),
        Some(Reply::Hang(d)) => {
            tokio::time::sleep(d).await;
            error(504, "hung")
        }
        Some(Reply::Garbage) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{\"choices\": [tru",
        )
            .into_response(),
        Some(Reply::Text(text)) => {
            completion(json!({"role": "assistant", "content": text}), "stop")
        }
        Some(Reply::Tools(calls)) => {
            let calls: Vec<Value> = calls
                .iter()
                .enumerate()
                .map(|(i, (name, args))| {
                    json!({"id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": args}})
                })
                .collect();
            completion(
                json!({"role": "assistant", "content": null, "tool_calls": calls}),
                "tool_calls",
            )
        }
    }
}

fn completion(message: Value, finish: &str) -> Response {
    let body = json!({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000, "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn error(code: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = if code == 429 {
        "rate_limit_exceeded"
    } else {
        "server_error"
    };
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": kind}});
    (status, axum::Json(body)).into_response()
}
