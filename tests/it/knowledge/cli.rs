//! `support-agent ingest` and `support-agent knowledge …` end to end, with the real model.

use std::process::{Command, Stdio};

use serde_json::Value;

use super::support::{real_model_dir, write};
use crate::cli::{Run, create_user};
use crate::common::TestDb;

fn run(t: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_support-agent"))
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &t.app_url)
        .env("EMBED_MODEL_DIR", real_model_dir())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run support-agent");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn ingest_search_list_and_delete_from_the_command_line() {
    let t = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(TestDb::new());
    let user = create_user(&t, "kb@example.com");
    let docs = tempfile::tempdir().expect("tempdir");
    let folder = docs.path().to_str().expect("utf-8 path");
    write(
        docs.path(),
        "refunds.md",
        "# Refunds\n\n## Timing\n\nRefunds are paid back to the card within 5 business days.",
    );
    write(
        docs.path(),
        "weather.txt",
        "The office is closed when the weather is stormy.",
    );
    write(docs.path(), "logo.png", [0x89, b'P', b'N', b'G']);

    let v = run(&t, &["ingest", "--user", &user, folder, "--json"], &[]).json();
    assert_eq!(v["documents"]["added"], 2, "{v}");
    assert_eq!(v["documents"]["failed"], 1, "{v}");
    assert!(
        v["chunks"].as_u64().expect("chunks") >= 2 && v["seconds"].is_number(),
        "{v}"
    );
    let again = run(&t, &["ingest", "--user", &user, folder, "--json"], &[]).json();
    assert_eq!(again["documents"]["unchanged"], 2, "{again}");

    let found = run(
        &t,
        &[
            "knowledge",
            "search",
            "--user",
            &user,
            "--limit",
            "1",
            "--json",
            "how do I get my money back?",
        ],
        &[],
    )
    .json();
    let results = found["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["title"], "Refunds");
    assert_eq!(results[0]["heading_path"], serde_json::json!(["Refunds"]));
    assert!(
        results[0]["text"]
            .as_str()
            .expect("text")
            .contains("## Timing")
    );
    assert_eq!(results[0]["citation_id"], results[0]["chunk_id"]);

    let listed = run(&t, &["knowledge", "list", "--user", &user, "--json"], &[]).json();
    let documents = listed["documents"].as_array().expect("documents");
    assert_eq!(documents.len(), 2);
    let id = documents[0]["id"].as_str().expect("id");
    let deleted = run(
        &t,
        &[
            "knowledge",
            "delete",
            "--user",
            &user,
            "--document",
            id,
            "--json",
        ],
        &[],
    )
    .json();
    assert_eq!(deleted["deleted"], Value::String(id.to_owned()));
    run(
        &t,
        &["knowledge", "delete", "--user", &user, "--document", id],
        &[],
    )
    .fails_with("document not found");

    run(
        &t,
        &["knowledge", "search", "--user", &user, "--limit", "21", "x"],
        &[],
    )
    .fails_with("limit");
}

#[test]
fn a_missing_model_and_a_failing_endpoint_give_one_line_without_secrets() {
    let t = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(TestDb::new());
    let user = create_user(&t, "kb2@example.com");
    let missing = run(
        &t,
        &["knowledge", "search", "--user", &user, "refund"],
        &[("EMBED_MODEL_DIR", "/nonexistent/model")],
    );
    missing.fails_with("scripts/fetch-model.sh");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    drop(listener);
    let failing = run(
        &t,
        &["knowledge", "search", "--user", &user, "refund"],
        &[
            ("EMBEDDER", "openai"),
            ("EMBED_BASE_URL", &url),
            ("EMBED_API_KEY", "sk-very-secret"),
            ("EMBED_TIMEOUT", "1s"),
            ("RUST_LOG", "error"),
        ],
    );
    failing.fails_with("unavailable");
    assert!(
        !failing.stderr.contains("sk-very-secret") && !failing.stdout.contains("sk-very-secret")
    );
}
