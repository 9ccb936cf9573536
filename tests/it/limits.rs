//! Every per-tenant limit reached (SECURITY.md D5), with the error that names it and says when it
//! resets: 429 + Retry-After over HTTP, a tool error over stdio and through the tool layer, a note
//! on the job for the worker; and the database's own limits on the service role's connections.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support_agent::audit::Transport;
use support_agent::config::Secret;
use support_agent::knowledge::embed::EmbedFuture;
use support_agent::knowledge::{Embedder, SharedEmbedder};
use support_agent::limits::{LimitSettings, LimitedEmbedder};
use support_agent::messages::{self, Sender};
use support_agent::tools::{self, Caller, Ctx, GetTicketArgs, ToolError};
use support_agent::triage::handler::TriageHandler;
use support_agent::triage::{Engine, Limits};
use support_agent::worker::{Outcome, Worker, WorkerOptions};
use support_agent::{StoreError, db};
use tokio::sync::Mutex;

use crate::common::{TestDb, new_tenant};
use crate::fake_llm::{FakeLlm, Reply, submit};
use crate::mcp::support::{Server, seed, token_for};

fn limits(change: impl FnOnce(&mut LimitSettings)) -> LimitSettings {
    let mut s = LimitSettings::default();
    change(&mut s);
    s
}

#[tokio::test]
async fn over_http_a_tenant_past_its_requests_per_minute_gets_429_with_retry_after() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let b = seed(&t.db, "Beta").await;
    let ctx = Ctx::new(t.db.clone()).with_limits(limits(|l| l.tenant_requests_per_minute = 3));
    let server = Server::spawn_with(ctx).await;
    let (ta, tb) = (token_for(&a.tenant), token_for(&b.tenant));
    for _ in 0..3 {
        let (status, _) = server.rpc(&ta, "tools/list", json!({})).await;
        assert_eq!(status, 200);
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let res = server.post_raw(Some(&ta), body.to_string()).await;
    assert_eq!(res.status().as_u16(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert_eq!(retry, 20, "one request every 20 s at 3 per minute");
    assert_eq!(
        res.headers()["content-type"].to_str().expect("ascii"),
        "application/problem+json"
    );
    let problem: Value = res.json().await.expect("problem document");
    assert_eq!(problem["limit"], "TENANT_REQUESTS_PER_MINUTE");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("3 requests per minute") && d.contains("20 s")),
        "{problem}"
    );
    let (status, _) = server.rpc(&tb, "tools/list", json!({})).await;
    assert_eq!(status, 200, "another tenant has its own bucket");
}

#[tokio::test]
async fn over_stdio_a_tenant_past_its_requests_per_minute_gets_a_tool_error() {
    let t = TestDb::new().await;
    let user = crate::cli::create_user(&t, "stdio-limit@acme.test");
    let token = crate::cli::run(&t, &["token", "issue", "--user", &user]);
    assert!(token.ok, "{}", token.stderr);
    let mut child = Command::new(env!("CARGO_BIN_EXE_support-agent"))
        .args(["serve", "--stdio"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &t.app_url)
        .env("JWT_SECRET", crate::cli::JWT_SECRET)
        .env("SUPPORT_AGENT_TOKEN", token.stdout.trim())
        .env("TENANT_REQUESTS_PER_MINUTE", "2")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve --stdio");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut ask = |request: Value| -> Option<Value> {
        writeln!(stdin, "{request}").expect("write");
        stdin.flush().expect("flush");
        request.get("id")?;
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read");
        Some(serde_json::from_str(&line).expect("a JSON-RPC line"))
    };
    ask(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "limits-test", "version": "1"}}}),
    );
    ask(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let call = |id: u32| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "list_tickets", "arguments": {}}})
    };
    let results: Vec<Value> = (1..=3).filter_map(|id| ask(call(id))).collect();
    drop(stdin);
    let _ = child.wait();
    assert_eq!(results.len(), 3);
    for ok in &results[..2] {
        assert_ne!(ok["result"]["isError"], json!(true), "{ok}");
    }
    let refused = &results[2]["result"];
    assert_eq!(refused["isError"], json!(true), "{refused}");
    let text = refused["content"][0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("TENANT_REQUESTS_PER_MINUTE") && text.contains("try again in 30 s"),
        "{text}"
    );
}

#[tokio::test]
async fn get_ticket_returns_the_latest_messages_and_a_cursor_for_older_ones() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let mut tx = t.db.begin(&a.tenant).await.expect("begin");
    for i in 1..=7 {
        messages::store::add(&mut tx, a.ticket.id, Sender::Agent, &format!("note {i}"))
            .await
            .expect("message");
    }
    tx.commit().await.expect("commit");
    let ctx = Ctx::new(t.db.clone()).with_limits(limits(|l| l.get_ticket_max_messages = 3));
    let staff = Caller::staff(a.tenant, Transport::Http);
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let args = GetTicketArgs {
            ticket_id: a.ticket.id,
            messages_cursor: cursor.clone(),
        };
        let page = tools::get_ticket(&ctx, &staff, args).await.expect("page");
        pages.push(
            page.messages
                .iter()
                .map(|m| m.content.clone())
                .collect::<Vec<_>>(),
        );
        match page.messages_next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        pages,
        vec![
            vec!["note 5", "note 6", "note 7"],
            vec!["note 2", "note 3", "note 4"],
            vec!["note 1"],
        ],
        "latest first by page, oldest first within one"
    );
    let bad = GetTicketArgs {
        ticket_id: a.ticket.id,
        messages_cursor: Some("not a cursor".into()),
    };
    let err = tools::get_ticket(&ctx, &staff, bad)
        .await
        .expect_err("bad cursor");
    assert!(
        matches!(err, ToolError::InvalidArgument { ref field, .. } if field == "messages_cursor")
    );
}

#[tokio::test]
async fn draft_reply_refuses_a_draft_past_max_drafts_per_ticket() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let ctx = Ctx::new(t.db.clone()).with_limits(limits(|l| l.max_drafts_per_ticket = 2));
    let staff = Caller::staff(a.tenant, Transport::Http);
    let draft = || json!({"ticket_id": a.ticket.id, "content": "We are on it."});
    for _ in 0..2 {
        tools::call(&ctx, &staff, "draft_reply", draft())
            .await
            .expect("within the limit");
    }
    let err = tools::call(&ctx, &staff, "draft_reply", draft())
        .await
        .expect_err("over the limit");
    let message = err.to_string();
    assert!(
        message.contains("MAX_DRAFTS_PER_TICKET (2)") && message.contains("approve or discard"),
        "{message}"
    );
    assert_eq!(t.count("messages").await, 2, "nothing half-written");
}

/// A worker whose triage runs with `settings` against the scripted model.
fn worker(t: &TestDb, llm: &FakeLlm, settings: LimitSettings) -> Worker<TriageHandler> {
    let model = crate::triage::model(&llm.base_url, Duration::from_secs(5));
    let ctx = Ctx::new(t.db.clone()).with_limits(settings);
    let handler = TriageHandler::new(ctx, Engine::Llm(Box::new(model)), Limits::default());
    Worker::new(t.db.clone(), handler, WorkerOptions::default())
}

async fn job_note(t: &TestDb, job: uuid::Uuid) -> String {
    sqlx::query_scalar::<_, Option<String>>("SELECT last_error FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&t.owner)
        .await
        .expect("job")
        .unwrap_or_default()
}

#[tokio::test]
async fn a_job_that_would_pass_the_daily_token_limit_ends_with_the_holding_reply_and_a_note() {
    let w = crate::triage::world("Where is my refund?").await;
    let t = &w.t;
    // Every scripted answer reports 120 tokens; the tenant may use 200 a day.
    let llm = FakeLlm::start(vec![]).await;
    llm.otherwise(Reply::Tools(vec![submit(
        "It is on its way.",
        &[],
        "refund_status",
    )]));
    let worker = worker(t, &llm, limits(|l| l.tenant_llm_tokens_per_day = 200));
    let (first, outcome) = worker.run_one().await.expect("run").expect("job");
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(
        job_note(t, first.id).await,
        "",
        "120 of 200 tokens: no limit"
    );

    let ask_again = |text: &'static str| async move {
        let mut tx = t.db.begin(&w.a).await.expect("begin");
        messages::store::add(&mut tx, w.a_ticket.id, Sender::Customer, text)
            .await
            .expect("customer message");
        tx.commit().await.expect("commit");
    };
    ask_again("Any news?").await;
    let (second, _) = worker.run_one().await.expect("run").expect("job");
    let note = job_note(t, second.id).await;
    assert!(
        note.contains("TENANT_LLM_TOKENS_PER_DAY (200 tokens)") && note.contains("00:00 UTC"),
        "{note}"
    );
    assert_eq!(
        llm.requests().len(),
        2,
        "the answer that crossed the line was not used"
    );

    ask_again("Hello?").await;
    let (third, _) = worker.run_one().await.expect("run").expect("job");
    assert!(
        job_note(t, third.id)
            .await
            .contains("TENANT_LLM_TOKENS_PER_DAY")
    );
    assert_eq!(
        llm.requests().len(),
        2,
        "no model call once the day's budget is spent"
    );
    let (ticket, msgs) = crate::triage::thread(&t.db, &w.a, &w.a_ticket).await;
    let holding = support_agent::prompts::replies::HOLDING.trim();
    let drafts: Vec<_> = msgs
        .iter()
        .filter(|m| m.sender_type == Sender::Ai)
        .collect();
    assert_eq!(drafts.len(), 3);
    assert!(drafts[1..].iter().all(|d| d.content == holding));
    assert!(ticket.needs_human, "flagged for a person");
    let used: i64 = sqlx::query_scalar("SELECT tokens FROM llm_usage WHERE user_id = $1")
        .bind(w.a.id())
        .fetch_one(&t.owner)
        .await
        .expect("ledger");
    assert_eq!(used, 240, "both answers counted against the day");
}

#[tokio::test]
async fn a_triage_job_on_a_ticket_full_of_drafts_writes_none_and_flags_the_ticket() {
    let w = crate::triage::world("Where is my refund?").await;
    let t = &w.t;
    let mut tx = t.db.begin(&w.a).await.expect("begin");
    messages::store::add(&mut tx, w.a_ticket.id, Sender::Ai, "An earlier draft.")
        .await
        .expect("draft");
    tx.commit().await.expect("commit");
    let llm = FakeLlm::start(vec![]).await;
    llm.otherwise(Reply::Tools(vec![submit(
        "New draft.",
        &[],
        "refund_status",
    )]));
    let worker = worker(t, &llm, limits(|l| l.max_drafts_per_ticket = 1));
    let (job, outcome) = worker.run_one().await.expect("run").expect("job");
    assert_eq!(outcome, Outcome::Done);
    assert!(
        job_note(t, job.id)
            .await
            .contains("MAX_DRAFTS_PER_TICKET (1)")
    );
    let (ticket, msgs) = crate::triage::thread(&t.db, &w.a, &w.a_ticket).await;
    assert_eq!(
        msgs.iter().filter(|m| m.sender_type == Sender::Ai).count(),
        1
    );
    assert!(ticket.needs_human);
}

/// Counts how many embed calls run at once, and in which order they started.
struct Slow {
    running: AtomicUsize,
    most: AtomicUsize,
    started: Mutex<Vec<String>>,
}

impl Embedder for Slow {
    fn model(&self) -> &str {
        "slow"
    }
    fn dims(&self) -> usize {
        1
    }
    fn max_tokens(&self) -> usize {
        256
    }
    fn count_tokens(&self, text: &str) -> usize {
        text.len()
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move {
            self.started.lock().await.push(texts[0].clone());
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(40)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(vec![vec![1.0]; texts.len()])
        })
    }
}

#[tokio::test]
async fn a_search_waits_for_at_most_the_ingestion_batch_in_progress() {
    let slow = Arc::new(Slow {
        running: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
        started: Mutex::new(Vec::new()),
    });
    let limited: SharedEmbedder = LimitedEmbedder::wrap(slow.clone(), 1);
    let ingest = {
        let e = limited.clone();
        tokio::spawn(async move {
            for i in 0..5 {
                e.embed(&[format!("batch {i}")]).await.expect("batch");
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    limited.embed(&["search".to_owned()]).await.expect("search");
    ingest.await.expect("ingest");
    let order = slow.started.lock().await.clone();
    assert_eq!(order[..2], ["batch 0", "search"], "{order:?}");
    assert_eq!(slow.most.load(Ordering::SeqCst), 1, "EMBED_CONCURRENCY = 1");
}

#[tokio::test]
async fn the_database_cancels_a_statement_past_db_statement_timeout() {
    let t = TestDb::new().await;
    let limits = db::SessionLimits {
        statement_timeout: Duration::from_millis(200),
        idle_in_transaction: Duration::from_millis(300),
    };
    let pool = db::connect(
        "DATABASE_URL",
        &Secret::new(t.app_url.clone()),
        2,
        Some(limits),
    )
    .await
    .expect("pool");
    let err = sqlx::query("SELECT pg_sleep(2)")
        .execute(&pool)
        .await
        .map_err(StoreError::from)
        .expect_err("cancelled");
    assert!(
        matches!(
            err,
            StoreError::Timeout {
                setting: "DB_STATEMENT_TIMEOUT"
            }
        ),
        "{err:?}"
    );
    let tool_error = ToolError::from(err).to_string();
    assert!(tool_error.contains("DB_STATEMENT_TIMEOUT"), "{tool_error}");

    // A transaction left idle past its limit is ended, and what it wrote is gone.
    let tenant = new_tenant(&support_agent::Db::new(pool.clone()), "Idle").await;
    let db = support_agent::Db::new(pool);
    let mut tx = db.begin(&tenant).await.expect("begin");
    sqlx::query("UPDATE users SET name = 'changed' WHERE id = $1")
        .bind(tenant.id())
        .execute(tx.conn())
        .await
        .expect("update");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(tx.commit().await.is_err(), "the session was ended");
    let name: String = sqlx::query_scalar("SELECT name FROM users WHERE id = $1")
        .bind(tenant.id())
        .fetch_one(&t.owner)
        .await
        .expect("name");
    assert_eq!(name, "Idle");
}
