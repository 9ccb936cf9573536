//! What `serve --http` writes to its log for MCP requests: its own lines, not three of the
//! protocol library's for every request.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::TestDb;

#[tokio::test(flavor = "multi_thread")]
async fn serve_logs_no_lines_of_the_mcp_library_for_each_request() {
    let t = TestDb::new().await;
    let user = crate::cli::create_user(&t, "logs@acme.test");
    let token = crate::cli::run(&t, &["token", "issue", "--user", &user]);
    assert!(token.ok, "{}", token.stderr);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_support-agent"))
        .args(["serve", "--http", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &t.app_url)
        .env("JWT_SECRET", crate::cli::JWT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve --http");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut log = String::new();
    let addr = loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).expect("read the log");
        assert!(n > 0, "serve stopped before listening: {log}");
        log.push_str(&line);
        if line.contains("serving MCP over HTTP")
            && let Some(addr) = line.split("addr=").nth(1)
        {
            break addr.trim().to_owned();
        }
    };
    support_agent::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    for id in 1..=3 {
        let res = http
            .post(format!("http://{addr}/mcp"))
            .bearer_auth(token.stdout.trim())
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-11-25")
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": "list_tickets", "arguments": {}}}))
            .send()
            .await
            .expect("call");
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["result"]["isError"], json!(false), "{v}");
    }
    let _ = child.kill();
    let _ = child.wait();
    stderr
        .read_to_string(&mut log)
        .expect("the rest of the log");
    for noise in [
        "Service initialized",
        "input stream terminated",
        "serve finished",
    ] {
        assert!(!log.contains(noise), "{noise:?} logged: {log}");
    }
}
