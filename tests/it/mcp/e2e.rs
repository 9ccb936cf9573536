//! End to end with an independent client: the Python SDK (mcp==2.3.0, installed into .venv by
//! scripts/mcp-client-venv.sh) runs tests/mcp_client/e2e.py against the real server, over stdio
//! (the built binary as its subprocess) and over HTTP (spawned here on port 0), negotiating
//! 2026-07-28 (`mode="auto"`) and 2025-11-25 (`mode="legacy"`).

use std::path::Path;
use std::process::Command;

use super::support::{AUDIENCE, ISSUER, SECRET, Seeded, Server, seed, token_for};
use crate::common::TestDb;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Installs the pinned SDK (first run only) and returns the venv's interpreter.
fn python() -> String {
    let out = Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/mcp-client-venv.sh"))
        .output()
        .expect("run scripts/mcp-client-venv.sh");
    assert!(
        out.status.success(),
        "installing mcp==2.3.0 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn run_e2e(t: &TestDb, s: &Seeded, transport: &str, mode: &str, url: &str) {
    let python = python();
    let cwd = tempfile::tempdir().expect("tempdir");
    let out = Command::new(python)
        .arg(Path::new(ROOT).join("tests/mcp_client/e2e.py"))
        .args(["--transport", transport, "--mode", mode, "--url", url])
        .args(["--ticket", &s.ticket.id.to_string()])
        .args(["--customer", &s.customer.id.to_string()])
        .args(["--binary", env!("CARGO_BIN_EXE_support-agent")])
        // The stdio server inherits these; the cwd has no .env to read instead.
        .current_dir(cwd.path())
        .env("SUPPORT_AGENT_TOKEN", token_for(&s.tenant))
        .env("DATABASE_URL", &t.app_url)
        .env_remove("DATABASE_OWNER_URL")
        .env("JWT_SECRET", SECRET)
        .env("JWT_ISSUER", ISSUER)
        .env("JWT_AUDIENCE", AUDIENCE)
        .env("RUST_LOG", "warn")
        .env(
            "EMBED_MODEL_DIR",
            Path::new(ROOT).join("models/all-MiniLM-L6-v2"),
        )
        .output()
        .expect("run e2e.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "e2e.py {transport} {mode} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("e2e ok: {transport} {mode}")),
        "{stdout}"
    );
}

async fn over_http(mode: &'static str) {
    let t = TestDb::new().await;
    let s = seed(&t.db, "Acme").await;
    // The stdio server loads the model itself; this in-process one is given it here.
    let model = Path::new(ROOT).join("models/all-MiniLM-L6-v2");
    let embedder = support_agent::knowledge::embed::LocalEmbedder::load(&model)
        .expect("the embedding model (scripts/fetch-model.sh)");
    let ctx = support_agent::tools::Ctx::new(t.db.clone())
        .with_knowledge(std::sync::Arc::new(embedder), Default::default());
    let server = Server::spawn_with(ctx).await;
    let url = server.url.clone();
    // The client blocks; the server keeps running on this runtime's other threads.
    tokio::task::spawn_blocking(move || run_e2e(&t, &s, "http", mode, &url))
        .await
        .expect("e2e");
    drop(server);
}

async fn over_stdio(mode: &'static str) {
    let t = TestDb::new().await;
    let s = seed(&t.db, "Acme").await;
    tokio::task::spawn_blocking(move || run_e2e(&t, &s, "stdio", mode, ""))
        .await
        .expect("e2e");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_http_negotiating_2026_07_28() {
    over_http("auto").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_http_negotiating_2025_11_25() {
    over_http("legacy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_stdio_negotiating_2026_07_28() {
    over_stdio("auto").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_stdio_negotiating_2025_11_25() {
    over_stdio("legacy").await;
}

#[test]
fn stdio_refuses_to_start_without_a_valid_token() {
    let cwd = tempfile::tempdir().expect("tempdir");
    for token in [None, Some("not-a-token")] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_support-agent"));
        cmd.args(["serve", "--stdio"])
            .current_dir(cwd.path())
            .env("JWT_SECRET", SECRET)
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env_remove("SUPPORT_AGENT_TOKEN");
        if let Some(token) = token {
            cmd.env("SUPPORT_AGENT_TOKEN", token);
        }
        let out = cmd.output().expect("run");
        assert!(!out.status.success(), "{token:?}: started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("SUPPORT_AGENT_TOKEN"),
            "{token:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "nothing on the protocol stream");
    }
}
