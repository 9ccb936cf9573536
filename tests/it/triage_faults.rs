//! Q5: a worker process killed mid-job leaves exactly one draft once another worker recovers it.

use std::process::{Command, Stdio};
use std::time::Duration;

use support_agent::messages::Sender;
use support_agent::triage::Limits;
use support_agent::worker::Outcome;

use crate::fake_llm::{FakeLlm, Reply, submit};
use crate::triage::{thread, worker, world};

#[tokio::test]
async fn a_worker_killed_mid_job_leaves_exactly_one_draft_after_recovery() {
    let w = world("Where is my refund?").await;
    // The first model call never answers: the worker is busy with the job when it is killed.
    let llm = FakeLlm::start(vec![Reply::Hang(Duration::from_secs(120))]).await;
    llm.otherwise(Reply::Tools(vec![submit(
        "recovered",
        &[],
        "refund_status",
    )]));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_support-agent"))
        .args(["worker", "--lease", "5m", "--concurrency", "1"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &w.t.app_url)
        .env("LLM_BASE_URL", &llm.base_url)
        .env("LLM_API_KEY", "test-key")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn worker");
    for _ in 0..200 {
        if !llm.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(llm.requests().len(), 1, "the worker is mid-job");
    child.kill().expect("kill -9 the worker");
    child.wait().expect("reap");

    let recovering = worker(&w.t.db, &llm, Limits::default());
    assert!(
        recovering.run_one().await.expect("run").is_none(),
        "the dead worker's lease is still live"
    );
    w.t.expire_leases().await;
    let (job, outcome) = recovering
        .run_one()
        .await
        .expect("run")
        .expect("the expired job is taken over");
    assert_eq!((outcome, job.attempts), (Outcome::Done, 2));
    let (_, msgs) = thread(&w.t.db, &w.a, &w.a_ticket).await;
    assert_eq!(
        msgs.iter().filter(|m| m.sender_type == Sender::Ai).count(),
        1,
        "exactly one draft"
    );
}
