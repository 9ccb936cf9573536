//! The demo end to end from a fresh database, twice.

use std::process::Command;

use support_agent::messages::Sender;
use support_agent::{Tenant, tickets, users};

use crate::common::TestDb;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run_demo(t: &TestDb) -> String {
    run_demo_with(t, &[])
}

fn run_demo_with(t: &TestDb, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_support-agent"))
        .args(["demo", "--dir", &format!("{ROOT}/examples/demo")])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &t.app_url)
        .env("DATABASE_OWNER_URL", &t.owner_url)
        .env("EMBED_MODEL_DIR", format!("{ROOT}/models/all-MiniLM-L6-v2"))
        .envs(env.iter().copied())
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_demo_triages_every_new_ticket_offline_and_can_run_again() {
    let t = TestDb::new().await;
    let first = run_demo(&t);
    assert!(first.contains("(21 created now)"), "{first}");
    assert!(first.contains("Knowledge: 6 documents added"), "{first}");
    assert!(first.contains("offline, retrieval-only"), "{first}");
    assert!(first.contains("7 jobs done, 0 to retry, 0 dead"), "{first}");
    assert!(first.contains("claude_desktop_config.json"), "{first}");
    claude_entry_is_complete(&first);
    let id = users::store::find_id_by_email(&t.owner, "support@northwind-demo.example")
        .await
        .expect("query")
        .expect("tenant");
    let tenant = Tenant::from_trusted_operator_input(id);
    let page = {
        let mut tx = t.db.begin(&tenant).await.expect("begin");
        let filter = tickets::TicketFilter {
            status: Some(tickets::Status::Open),
            ..Default::default()
        };
        let page = tickets::store::list(&mut tx, &filter, 100, None)
            .await
            .expect("list");
        tx.commit().await.expect("commit");
        page
    };
    assert_eq!(page.items.len(), 21);
    let mut drafted = 0;
    for ticket in &page.items {
        let mut tx = t.db.begin(&tenant).await.expect("begin");
        let thread = tickets::store::get_thread(&mut tx, ticket.id)
            .await
            .expect("thread");
        tx.commit().await.expect("commit");
        let drafts: Vec<_> = thread
            .messages
            .iter()
            .filter(|m| m.sender_type == Sender::Ai)
            .collect();
        if let Some(d) = drafts.first() {
            drafted += 1;
            assert_eq!(drafts.len(), 1);
            assert!(
                d.content.starts_with("[Retrieval-only draft"),
                "labelled: {}",
                d.content
            );
            assert!(ticket.triaged_at.is_some() && ticket.category.is_some());
        }
    }
    assert_eq!(
        drafted, 7,
        "the new tickets are drafted; the history is not"
    );
    // The duplicate-charge ticket quotes the duplicate-charge policy and its category is learnt
    // from the labelled history.
    assert!(
        first.contains("If you were charged twice for the same order"),
        "{first}"
    );
    assert!(first.contains("category duplicate_charge"), "{first}");

    assert!(
        first.contains("has no inbox login: set DEMO_PASSWORD"),
        "{first}"
    );

    // With DEMO_PASSWORD, the demo tenant gets it as its inbox login, and says so.
    let second = run_demo_with(&t, &[("DEMO_PASSWORD", "demo-password-0123")]);
    assert!(
        second.contains("email support@northwind-demo.example password demo-password-0123"),
        "{second}"
    );
    let mut tx = t.db.begin(&tenant).await.expect("begin");
    let ok = users::store::verify_password(
        &mut tx,
        &support_agent::config::Secret::new("demo-password-0123"),
    )
    .await
    .expect("verify");
    tx.commit().await.expect("commit");
    assert!(ok, "the demo tenant's password is DEMO_PASSWORD");
    assert!(second.contains("(0 created now)"), "{second}");
    assert!(
        second.contains("0 documents added, 0 updated, 6 unchanged"),
        "{second}"
    );
    assert!(second.contains("0 jobs done"), "{second}");
    assert_eq!(t.count("messages").await, 7, "no second draft");
}

/// The Claude Desktop entry the demo prints: the README's (server name, every setting by name),
/// with this binary and the configured model folder, and placeholders for the secrets.
fn claude_entry_is_complete(out: &str) {
    let (_, rest) = out
        .split_once("claude_desktop_config.json")
        .expect("the entry");
    let start = rest.find('{').expect("JSON");
    let end = rest
        .find("\nor serve it over HTTP")
        .expect("the end of the entry");
    let entry: serde_json::Value = serde_json::from_str(&rest[start..end]).expect("valid JSON");
    let server = &entry["mcpServers"]["support"];
    assert_eq!(server["command"], env!("CARGO_BIN_EXE_support-agent"));
    assert_eq!(server["args"], serde_json::json!(["serve", "--stdio"]));
    let env = server["env"].as_object().expect("env");
    let mut names: Vec<&str> = env.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "AUDIT_KEY",
            "DATABASE_URL",
            "EMBED_MODEL_DIR",
            "JWT_AUDIENCE",
            "JWT_ISSUER",
            "JWT_SECRET",
            "SECRETS_KEY",
            "SUPPORT_AGENT_TOKEN"
        ]
    );
    assert_eq!(
        env["EMBED_MODEL_DIR"],
        format!("{ROOT}/models/all-MiniLM-L6-v2")
    );
    assert_eq!(
        env["DATABASE_URL"], "<DATABASE_URL from .env>",
        "no secret printed"
    );
    assert_eq!(
        env["JWT_SECRET"], "<JWT_SECRET from .env>",
        "no secret printed"
    );
}
