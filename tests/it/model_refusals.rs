//! A model error that is the operator's to fix (an unknown model, a bad key, a model without tool
//! calls, a URL that is not the API) still ends each job in exactly one draft: the holding reply,
//! the ticket flagged for a person, the cause on the job for `jobs list`, and one log line per
//! cause rather than one per job.

use std::process::{Command, Stdio};

use support_agent::jobs;
use support_agent::messages::Sender;
use support_agent::prompts::replies;
use support_agent::triage::Limits;
use support_agent::worker::Outcome;

use crate::common::{new_customer, new_ticket};
use crate::fake_llm::{FakeLlm, Reply};
use crate::triage::{thread, worker, world};

#[tokio::test]
async fn an_unknown_model_a_bad_key_or_a_model_without_tools_ends_the_job_with_the_holding_reply() {
    for (reply, setting) in [
        (
            Reply::Refuse(404, "model_not_found", "model \"qwen9\" not found"),
            "LLM_MODEL",
        ),
        (
            Reply::Refuse(401, "invalid_api_key", "Incorrect API key provided"),
            "LLM_API_KEY",
        ),
        (
            Reply::Refuse(
                400,
                "",
                "registry.ollama.ai/library/gemma2:2b does not support tools",
            ),
            "does not support tool calls",
        ),
        (
            Reply::PlainStatus(404, "404 page not found"),
            "LLM_BASE_URL",
        ),
    ] {
        let w = world("Where is my refund?").await;
        let llm = FakeLlm::start(vec![]).await;
        llm.otherwise(reply);
        let (job, outcome) = worker(&w.t.db, &llm, Limits::default())
            .run_one()
            .await
            .expect("run")
            .expect("job");
        assert_eq!(outcome, Outcome::Done, "{setting}: not dead, not retried");
        let (ticket, msgs) = thread(&w.t.db, &w.a, &w.a_ticket).await;
        let drafts: Vec<_> = msgs
            .iter()
            .filter(|m| m.sender_type == Sender::Ai)
            .collect();
        assert_eq!(drafts.len(), 1, "{setting}: exactly one draft");
        assert_eq!(drafts[0].content, replies::HOLDING.trim(), "{setting}");
        assert!(ticket.needs_human, "{setting}: flagged for a person");
        let row = jobs::store::get(&w.t.owner, job.id).await.expect("job row");
        let note = row.last_error.unwrap_or_default();
        assert!(
            note.contains("the model refused the request") && note.contains(setting),
            "{setting}: the note names the cause: {note}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_names_its_engine_at_start_and_logs_a_refusal_once_for_many_jobs() {
    let w = world("Where is my refund?").await;
    let customer = new_customer(&w.t.db, &w.a, "Cy Cole", "cy@acme-customer.test").await;
    new_ticket(&w.t.db, &w.a, customer.id, "Second ticket").await;
    new_ticket(&w.t.db, &w.a, customer.id, "Third ticket").await;
    let llm = FakeLlm::start(vec![]).await;
    llm.otherwise(Reply::Refuse(404, "model_not_found", "model not found"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Command::new(env!("CARGO_BIN_EXE_support-agent"));
    worker
        .args(["worker", "--once", "--concurrency", "1"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &w.t.app_url)
        .env("LLM_BASE_URL", &llm.base_url)
        .env("LLM_MODEL", "qwen9")
        .env("LLM_TIMEOUT", "10s")
        .stdin(Stdio::null());
    // Off the runtime's threads: the loopback model answers on them meanwhile.
    let out = tokio::task::spawn_blocking(move || worker.output())
        .await
        .expect("join")
        .expect("run the worker");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "triage engine: chat model qwen9 at {}",
            llm.base_url
        )),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("the model refused the request").count(),
        1,
        "one line for one cause, three jobs: {stderr}"
    );
    assert!(
        stderr.contains("jobs done 3, retrying 0, dead 0"),
        "{stderr}"
    );

    let listed = Command::new(env!("CARGO_BIN_EXE_support-agent"))
        .args(["jobs", "list"])
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_OWNER_URL", &w.t.owner_url)
        .output()
        .expect("jobs list");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.contains("the model refused the request (HTTP 404 model_not_found"))
            .count(),
        3,
        "jobs list shows the cause on each job: {listed}"
    );
}
