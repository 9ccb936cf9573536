//! Worker overhead: tickets per second through the whole triage loop (claim, load the thread,
//! one model turn with a tool call, a second that submits, guard, store the draft and the triage
//! fields, complete the job) against a loopback model that answers at once, and the share of the
//! time spent outside the model.
//!
//!     cargo run --release --example bench_triage -- [TICKETS] [CONCURRENCY]
//!
//! It makes a scratch database from DATABASE_OWNER_URL (.env), and drops it at the end.

use std::str::FromStr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use support_agent::config::Secret;
use support_agent::customers::{self, NewCustomer};
use support_agent::llm::{ChatModel, LlmSettings};
use support_agent::tickets::{self, NewTicket};
use support_agent::tools::Ctx;
use support_agent::triage::Engine;
use support_agent::triage::handler::TriageHandler;
use support_agent::triage::{Limits, agent};
use support_agent::users::{self, NewUser};
use support_agent::worker::{Worker, WorkerOptions};
use support_agent::{Db, db};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let mut args = std::env::args().skip(1);
    let tickets: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(500);
    let concurrency: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(4);
    let owner_url = std::env::var("DATABASE_OWNER_URL")?;
    let app_url = std::env::var("DATABASE_URL")?;
    let name = format!("sa_bench_triage_{}", std::process::id());
    let base =
        |url: &str, db: &str| format!("{}/{db}", url.rsplit_once('/').map_or(url, |(b, _)| b));
    let mut admin = PgConnection::connect(&base(&owner_url, "postgres")).await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let result = run(
        &base(&owner_url, &name),
        &base(&app_url, &name),
        tickets,
        concurrency,
    )
    .await;
    sqlx::query(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await
        .ok();
    result
}

async fn run(owner_url: &str, app_url: &str, n: usize, concurrency: usize) -> anyhow::Result<()> {
    let owner = PgPoolOptions::new()
        .max_connections(2)
        .connect(owner_url)
        .await?;
    db::migrate(&owner).await?;
    let pool = db::connect("DATABASE_URL", &Secret::from_str(app_url)?, 16, None).await?;
    let db = Db::new(pool);
    let (tenant, _) = users::store::create(
        &db,
        &NewUser {
            name: "Bench",
            email: "bench@example.com",
            password: None,
        },
    )
    .await?;
    let mut tx = db.begin(&tenant).await?;
    let c = customers::store::create(
        &mut tx,
        &NewCustomer {
            name: "Bob",
            email: "bob@example.com",
            ..Default::default()
        },
    )
    .await?;
    for i in 0..n {
        let new = NewTicket {
            customer_id: c.id,
            subject: &format!("Refund for order {i}"),
            description: Some("I was charged twice."),
            priority: None,
        };
        tickets::store::create(&mut tx, &new).await?;
    }
    tx.commit().await?;

    let base_url = instant_model().await?;
    let settings = LlmSettings {
        llm_base_url: Some(base_url),
        llm_api_key: None,
        llm_model: "instant".into(),
        llm_timeout: Duration::from_secs(10),
    };
    let model = ChatModel::new(&settings);
    let handler = TriageHandler::new(
        Ctx::new(db.clone()),
        Engine::Llm(Box::new(model.clone())),
        Limits::default(),
    );
    let opts = WorkerOptions {
        concurrency,
        worker_id: "bench".into(),
        ..WorkerOptions::default()
    };
    let worker = Worker::new(db.clone(), handler, opts);
    let started = Instant::now();
    let summary = worker.run_until_empty().await?;
    let whole = started.elapsed();

    // The same number of model calls alone, at the same concurrency: the model's share.
    let calls = 2 * n;
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for chunk in 0..concurrency {
        let model = model.clone();
        let per = calls / concurrency + usize::from(chunk < calls % concurrency);
        set.spawn(async move {
            for _ in 0..per {
                let opening = agent::opening("bench".into());
                model
                    .complete(opening, agent::offered_tools(), 256)
                    .await
                    .ok();
            }
        });
    }
    while set.join_next().await.is_some() {}
    let model_only = started.elapsed();
    let per_s = summary.done as f64 / whole.as_secs_f64();
    println!(
        "tickets {n}, concurrency {concurrency}, done {}",
        summary.done
    );
    println!(
        "whole loop: {:.2?} -> {per_s:.0} tickets/s ({:.2} ms per ticket)",
        whole,
        whole.as_secs_f64() * 1e3 / n as f64
    );
    println!("model calls alone ({calls}): {:.2?}", model_only);
    println!(
        "share of time outside the model: {:.0}%",
        100.0 * (1.0 - model_only.as_secs_f64() / whole.as_secs_f64())
    );
    Ok(())
}

/// An OpenAI-compatible server that answers at once: a get_ticket call first, then a submit.
async fn instant_model() -> anyhow::Result<String> {
    async fn answer(axum::Json(req): axum::Json<Value>) -> axum::Json<Value> {
        let msgs = req["messages"].as_array().map_or(0, Vec::len);
        let ticket = req["messages"][1]["content"]
            .as_str()
            .and_then(|s| s.split("ticket ").nth(1))
            .and_then(|s| s.get(..36))
            .unwrap_or("");
        let call = if msgs <= 2 {
            json!({"name": "get_ticket", "arguments": json!({"ticket_id": ticket}).to_string()})
        } else {
            let args = json!({"reply": "Thanks, we are on it.", "category": "duplicate_charge", "priority": "high",
                "sentiment": "negative", "language": "en", "confidence": 0.9, "needs_human": false});
            json!({"name": "submit_triage", "arguments": args.to_string()})
        };
        axum::Json(
            json!({"id": "x", "object": "chat.completion", "created": 1, "model": "instant",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "c1", "type": "function", "function": call}]}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}),
        )
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        axum::serve(
            listener,
            Router::new().route("/v1/chat/completions", post(answer)),
        )
        .await
    });
    Ok(format!("http://{addr}/v1"))
}
