//! Issue J3, each finding as the test that stops it: tokens that can be revoked and cannot live
//! too long, an audit that loses nothing of other tenants and covers resources and prompts,
//! ingestion that stays inside its folders and survives a hostile PDF, one Connect account per
//! tenant, and servers that never read the owner role's URL.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support_agent::audit::{self, CallKind, NewToolCall, Outcome, Transport};
use support_agent::knowledge::IngestOptions;
use support_agent::knowledge::sandbox::PdfSandbox;

use crate::cli::{JWT_SECRET, create_user, run, run_env};
use crate::common::{TestDb, new_tenant};
use crate::knowledge::support::WordHashEmbedder;
use crate::mcp::support::{Server, seed, token_for};

/// `serve --stdio` for `token`, answering one JSON-RPC request per call.
struct StdioServer {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl StdioServer {
    fn start(t: &TestDb, token: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_support-agent"))
            .args(["serve", "--stdio"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &t.app_url)
            .env("JWT_SECRET", JWT_SECRET)
            .env("SUPPORT_AGENT_TOKEN", token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve --stdio");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut s = Self {
            child,
            stdin,
            stdout,
        };
        s.ask(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "j3", "version": "1"}}}),
        );
        s.tell(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn tell(&mut self, msg: Value) {
        writeln!(self.stdin, "{msg}").expect("write");
        self.stdin.flush().expect("flush");
    }

    fn ask(&mut self, msg: Value) -> Value {
        self.tell(msg);
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read");
        serde_json::from_str(&line).expect("a JSON-RPC line")
    }

    fn list_tickets(&mut self, id: u32) -> Value {
        self.ask(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                        "params": {"name": "list_tickets", "arguments": {}}}))
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_the_next_request_over_http_and_stdio() {
    let t = TestDb::new().await;
    // Over stdio: an operator-issued token, revoked by its jti alone while the server runs.
    let user = create_user(&t, "revoke@acme.test");
    let issued = run(&t, &["token", "issue", "--user", &user, "--json"]).json();
    let (token, jti) = (
        issued["token"].as_str().expect("token"),
        issued["jti"].as_str().expect("jti"),
    );
    assert!(issued["expires_at"].is_string());
    let mut stdio = StdioServer::start(&t, token);
    let ok = stdio.list_tickets(1);
    assert!(
        ok["result"]["structuredContent"]["tickets"].is_array(),
        "{ok}"
    );
    let revoked = run(&t, &["token", "revoke", "--jti", jti, "--json"]).json();
    assert_eq!(revoked["user_id"], user.as_str());
    let refused = stdio.list_tickets(2);
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("can no longer be used") && message.contains("revoked"),
        "{refused}"
    );

    // Over HTTP: a token of another tenant, revoked by jti and user, then all of a tenant's.
    let s = seed(&t.db, "Acme").await;
    let server = Server::spawn(&t.db).await;
    let (a, b) = (token_for(&s.tenant), token_for(&s.tenant));
    let (status, _) = server.rpc(&a, "tools/list", json!({})).await;
    assert_eq!(status, 200);
    let verified = crate::mcp::support::auth().verify(&a).expect("valid");
    let tenant = s.tenant.id().to_string();
    let jti = verified.jti.to_string();
    let one = run(
        &t,
        &[
            "token", "revoke", "--jti", &jti, "--user", &tenant, "--json",
        ],
    )
    .json();
    assert_eq!(one["revoked"], true);
    assert_eq!(server.rpc(&a, "tools/list", json!({})).await.0, 401);
    assert_eq!(
        server.rpc(&b, "tools/list", json!({})).await.0,
        200,
        "only that token"
    );
    let all = run(
        &t,
        &["token", "revoke", "--all", "--user", &tenant, "--json"],
    )
    .json();
    assert_eq!(all["revoked"], "all");
    assert_eq!(
        server.rpc(&b, "tools/list", json!({})).await.0,
        401,
        "every earlier token"
    );
}

#[tokio::test]
async fn tokens_cannot_outlive_token_max_ttl() {
    let t = TestDb::new().await;
    let user = create_user(&t, "ttl@acme.test");
    run(&t, &["token", "issue", "--user", &user, "--ttl", "91d"]).fails_with("TOKEN_MAX_TTL");
    let r = run_env(
        Some(&t),
        &["token", "issue", "--user", &user, "--ttl", "2h"],
        None,
        &[("TOKEN_MAX_TTL", "1h")],
    );
    r.fails_with("longer than TOKEN_MAX_TTL");
    assert!(run(&t, &["token", "issue", "--user", &user, "--ttl", "90d"]).ok);
}

#[tokio::test]
async fn one_tenants_failing_audit_rows_cost_no_other_tenant_its_rows() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Doomed").await;
    let b = new_tenant(&t.db, "Fine").await;
    // A's account is gone by the time its calls are written: its rows cannot be written.
    let mut tx = t.db.begin(&a).await.expect("begin");
    support_agent::users::store::delete(&mut tx)
        .await
        .expect("delete A");
    tx.commit().await.expect("commit");
    let call = |tool: &'static str| NewToolCall {
        kind: CallKind::Tool,
        tool,
        args_hmac: "0".repeat(64),
        outcome: Outcome::Ok,
        latency_us: 10,
        transport: Transport::Http,
    };
    let batch = vec![
        (b, call("list_tickets")),
        (a, call("get_ticket")),
        (b, call("get_ticket")),
        (a, call("list_tickets")),
    ];
    let written = audit::store::record_batch(&t.db, &batch).await;
    assert_eq!(
        written,
        audit::store::BatchWritten {
            rows: 2,
            in_one_statement: false
        },
        "A's rows fail the batch's statement; it is written again tenant by tenant"
    );
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT user_id, tool FROM tool_calls ORDER BY tool")
            .fetch_all(&t.owner)
            .await
            .expect("rows");
    assert_eq!(
        rows,
        vec![
            (b.id(), "get_ticket".to_owned()),
            (b.id(), "list_tickets".to_owned())
        ],
        "B keeps both of its rows"
    );
}

#[tokio::test]
async fn a_batch_of_many_tenants_calls_is_written_each_row_under_its_own_tenant() {
    let t = TestDb::new().await;
    let tenants = [
        new_tenant(&t.db, "A").await,
        new_tenant(&t.db, "B").await,
        new_tenant(&t.db, "C").await,
    ];
    let call = |tool: &'static str, outcome| NewToolCall {
        kind: CallKind::Tool,
        tool,
        args_hmac: "0".repeat(64),
        outcome,
        latency_us: 7,
        transport: Transport::Http,
    };
    // Interleaved, as the writer's queue holds them when many tenants call at once.
    let mut batch = Vec::new();
    for i in 0..9 {
        let tool = ["list_tickets", "get_ticket", "lookup_customer"][i / 3];
        batch.push((tenants[i % 3], call(tool, Outcome::Ok)));
    }
    batch.push((tenants[1], call("search_knowledge", Outcome::NotFound)));
    let written = audit::store::record_batch(&t.db, &batch).await;
    assert_eq!(
        written,
        audit::store::BatchWritten {
            rows: batch.len() as u64,
            in_one_statement: true
        }
    );
    for (i, tenant) in tenants.iter().enumerate() {
        // Read back under the tenant's own context: its rows, and no other tenant's.
        let mut tx = t.db.begin(tenant).await.expect("begin");
        let mut seen: Vec<(uuid::Uuid, String, Outcome)> = audit::store::recent(&mut tx, 100)
            .await
            .expect("recent")
            .into_iter()
            .map(|c| (c.user_id, c.tool, c.outcome))
            .collect();
        tx.commit().await.expect("commit");
        seen.sort_by(|a, b| a.1.cmp(&b.1));
        let mut expected: Vec<(uuid::Uuid, String, Outcome)> = batch
            .iter()
            .filter(|(t, _)| t == tenant)
            .map(|(t, c)| (t.id(), c.tool.to_owned(), c.outcome))
            .collect();
        expected.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(seen, expected, "tenant {i}");
    }
    assert_eq!(t.count("tool_calls").await, batch.len() as i64);
}

#[tokio::test]
async fn writing_a_batch_of_audit_rows_leaves_no_tenant_context_behind() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "A").await;
    let c = crate::common::new_customer(&t.db, &a, "Bob", "bob@example.com").await;
    let mut conn = t.db.pool().acquire().await.expect("conn");
    sqlx::raw_sql("BEGIN")
        .execute(&mut *conn)
        .await
        .expect("begin");
    let written: i64 = sqlx::query_scalar(
        "SELECT record_tool_calls($1, $2, '{tool}', '{get_ticket}', $3, '{ok}', '{1}', '{http}')",
    )
    .bind(vec![a.id()])
    .bind(vec![uuid::Uuid::now_v7()])
    .bind(vec!["0".repeat(64)])
    .fetch_one(&mut *conn)
    .await
    .expect("record_tool_calls");
    assert_eq!(written, 1);
    // Later statements of the same transaction do not run as the batch's last tenant.
    let (context, customers): (Option<String>, i64) = sqlx::query_as(
        "SELECT current_setting('app.current_user_id', true), (SELECT count(*) FROM customers)",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("after the batch");
    assert_eq!(context.as_deref(), Some(""));
    assert_eq!(customers, 0, "customer {} is not visible", c.id);
    sqlx::raw_sql("COMMIT")
        .execute(&mut *conn)
        .await
        .expect("commit");
    assert_eq!(t.count("tool_calls").await, 1);
}

#[tokio::test]
async fn resource_reads_and_prompt_fetches_are_audited_like_tool_calls() {
    let t = TestDb::new().await;
    let s = seed(&t.db, "Acme").await;
    let server = Server::spawn(&t.db).await;
    let token = token_for(&s.tenant);
    let uri = format!("ticket://{}", s.ticket.id);
    let (status, read) = server
        .rpc(&token, "resources/read", json!({"uri": uri}))
        .await;
    assert_eq!(status, 200, "{read}");
    let missing = format!("customer://{}", uuid::Uuid::now_v7());
    server
        .rpc(&token, "resources/read", json!({"uri": missing}))
        .await;
    let (status, prompt) = server
        .rpc(
            &token,
            "prompts/get",
            json!({"name": "draft_reply", "arguments": {"ticket_id": s.ticket.id.to_string()}}),
        )
        .await;
    assert_eq!(status, 200, "{prompt}");
    let mut server = server;
    server.stop();
    if let Some(done) = server.done.take() {
        done.await.expect("join").expect("served");
    }
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT kind, tool, outcome FROM tool_calls WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(s.tenant.id())
    .fetch_all(&t.owner)
    .await
    .expect("rows");
    assert_eq!(
        rows,
        vec![
            ("resource".into(), "ticket".into(), "ok".into()),
            ("resource".into(), "customer".into(), "not_found".into()),
            ("prompt".into(), "draft_reply".into(), "ok".into()),
        ]
    );
}

/// A PDF whose only page's content stream inflates to about a gigabyte.
fn decompression_bomb() -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    let line = b"BT /F1 12 Tf (x) Tj ET\n".repeat(1000);
    for _ in 0..45_000 {
        z.write_all(&line).expect("deflate");
    }
    let stream = z.finish().expect("deflate");
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
           /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_vec(),
        [
            format!(
                "<< /Length {} /Filter /FlateDecode >>\nstream\n",
                stream.len()
            )
            .into_bytes(),
            stream,
            b"\nendstream".to_vec(),
        ]
        .concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn sandbox(timeout: Duration, memory: u64) -> IngestOptions {
    IngestOptions {
        pdf_sandbox: Some(PdfSandbox {
            program: PathBuf::from(env!("CARGO_BIN_EXE_support-agent")),
            timeout,
            max_memory_bytes: memory,
        }),
        max_file_bytes: 1024 * 1024 * 1024,
        ..IngestOptions::default()
    }
}

async fn ingest(
    t: &TestDb,
    dir: &std::path::Path,
    options: &IngestOptions,
) -> support_agent::knowledge::IngestReport {
    let tenant = new_tenant(&t.db, "Kb").await;
    support_agent::knowledge::ingest(
        &t.db,
        &WordHashEmbedder,
        &tenant,
        &[dir.to_path_buf()],
        options,
        &indicatif::ProgressBar::hidden(),
    )
    .await
    .expect("ingestion goes on")
}

#[tokio::test]
async fn a_hostile_pdf_is_stopped_within_its_limits_while_the_rest_of_the_folder_is_ingested() {
    let t = TestDb::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("good.md"),
        "# Refunds\n\nRefunds take five days.",
    )
    .expect("md");
    std::fs::write(dir.path().join("bomb.pdf"), decompression_bomb()).expect("pdf");
    // Its memory limit stops the parser.
    let report = ingest(
        &t,
        dir.path(),
        &sandbox(Duration::from_secs(60), 256 * 1024 * 1024),
    )
    .await;
    assert_eq!(report.documents.added, 1, "{:?}", report.failures);
    let failure = &report.failures[0];
    assert!(failure.path.ends_with("bomb.pdf"));
    assert!(failure.reason.contains("limit"), "{}", failure.reason);
    // Given all the memory it wants, its time limit stops it.
    let started = std::time::Instant::now();
    let report = ingest(
        &t,
        dir.path(),
        &sandbox(Duration::from_secs(1), 8 * 1024 * 1024 * 1024),
    )
    .await;
    assert_eq!(report.documents.added, 1);
    assert!(
        report.failures[0].reason.contains("KB_PDF_TIMEOUT"),
        "{}",
        report.failures[0].reason
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the run went on after the limit"
    );
}

#[tokio::test]
async fn ingestion_skips_links_out_of_its_folders_and_files_over_the_size_limit() {
    let t = TestDb::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("inside.md"), "# Inside\n\nShipping takes two days.").expect("md");
    std::fs::create_dir(d.join("sub")).expect("sub");
    std::os::unix::fs::symlink("/etc/passwd", d.join("sub/passwd.txt")).expect("link out");
    std::os::unix::fs::symlink(d.join("inside.md"), d.join("again.md")).expect("link in");
    std::os::unix::fs::symlink(d, d.join("sub/loop")).expect("link to a parent");
    std::fs::write(d.join("big.txt"), "x".repeat(5000)).expect("big");
    let options = IngestOptions {
        max_file_bytes: 4096,
        ..IngestOptions::default()
    };
    let report = ingest(&t, d, &options).await;
    assert_eq!(
        report.documents.added, 1,
        "inside.md, once: {:?}",
        report.failures
    );
    let reason = |name: &str| {
        report
            .failures
            .iter()
            .find(|f| f.path.ends_with(name))
            .map(|f| f.reason.clone())
            .unwrap_or_else(|| panic!("{name} not reported: {:?}", report.failures))
    };
    assert!(reason("passwd.txt").contains("outside the given folders"));
    assert!(reason("big.txt").contains("KB_MAX_FILE_BYTES"));
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM chunks WHERE text LIKE '%root:%'")
        .fetch_one(&t.owner)
        .await
        .expect("count");
    assert_eq!(stored, 0, "nothing of /etc/passwd was read");
}

#[tokio::test]
async fn a_second_tenant_cannot_attach_a_connect_account_that_is_taken() {
    let t = TestDb::new().await;
    let a = create_user(&t, "a@acme.test");
    let b = create_user(&t, "b@acme.test");
    let env = [("SECRETS_KEY", crate::stripe::MASTER_KEY)];
    let connect = |user: &str| {
        run_env(
            Some(&t),
            &[
                "stripe",
                "connect",
                "--user",
                user,
                "--account",
                "acct_1SharedAccount00",
            ],
            None,
            &env,
        )
    };
    assert!(connect(&a).ok);
    connect(&b).fails_with("already connected to another tenant");
}

#[test]
fn servers_and_workers_have_no_owner_role_setting_to_read() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_support-agent"))
            .args(args)
            .output()
            .expect("help");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for cmd in ["serve", "worker"] {
        let text = help(&[cmd, "--help"]);
        assert!(
            !text.contains("DATABASE_OWNER_URL") && !text.contains("database-owner-url"),
            "{cmd}: {text}"
        );
    }
    assert!(help(&["migrate", "--help"]).contains("DATABASE_OWNER_URL"));
}
