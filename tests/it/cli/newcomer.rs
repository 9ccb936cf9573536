//! The commands a newcomer reaches for on the way through the README (issue 24): finding a
//! tenant's id again, paging customers, reading a thread, and retrying a job that has a draft.

use serde_json::Value;

use super::{Run, create_user, run, run_env};
use crate::common::TestDb;

const MODEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/all-MiniLM-L6-v2");
const NOBODY: &str = "0190f1f4-8e3a-7c1e-9d2b-5a6f7e8d9c0b";

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

fn customer(t: &TestDb, user: &str, email: &str) -> String {
    let args = ["customers", "create", "--user", user, "--name", "Bob Baker"];
    let mut args = args.to_vec();
    args.extend(["--email", email, "--json"]);
    id(&run(t, &args).json())
}

fn ticket(t: &TestDb, user: &str, customer: &str) -> String {
    let args = [
        "tickets",
        "create",
        "--user",
        user,
        "--customer",
        customer,
        "--subject",
        "Charged twice",
        "--json",
    ];
    id(&run(t, &args).json())
}

/// `worker --once`, offline, with the built-in model.
fn work(t: &TestDb) -> Run {
    let run = run_env(
        Some(t),
        &["worker", "--once"],
        None,
        &[("EMBED_MODEL_DIR", MODEL_DIR)],
    );
    assert!(run.ok, "worker: {}", run.stderr);
    run
}

fn ai_drafts(t: &TestDb, user: &str, ticket: &str) -> Vec<Value> {
    let v = run(
        t,
        &[
            "messages", "list", "--user", user, "--ticket", ticket, "--json",
        ],
    )
    .json();
    v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["sender_type"] == "ai")
        .cloned()
        .collect()
}

#[tokio::test]
async fn users_list_finds_every_tenants_id_again_as_the_owner_role() {
    let t = TestDb::new().await;
    let a = create_user(&t, "a@acme.test");
    let b = create_user(&t, "b@bolt.test");
    let v = run(&t, &["users", "list", "--json"]).json();
    let ids: Vec<&str> = v["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [a.as_str(), b.as_str()], "oldest first");
    assert!(v["users"][0].get("password_hash").is_none());
    let text = run(&t, &["users", "list"]);
    assert!(text.ok && text.stdout.contains(&b) && text.stdout.contains("b@bolt.test"));

    // Only the owner role sees every tenant: without its URL the command says what it needs.
    let no_owner = run_env(
        None,
        &["users", "list"],
        None,
        &[("DATABASE_URL", t.app_url.as_str())],
    );
    no_owner.fails_with("DATABASE_OWNER_URL");
}

#[tokio::test]
async fn customers_list_pages_with_the_cursor_it_prints() {
    let t = TestDb::new().await;
    let user = create_user(&t, "owner@acme.test");
    let emails = ["c1@example.com", "c2@example.com", "c3@example.com"];
    for email in emails {
        customer(&t, &user, email);
    }
    let list = |extra: &[&str]| {
        let mut args = vec![
            "customers",
            "list",
            "--user",
            &user,
            "--limit",
            "2",
            "--json",
        ];
        args.extend(extra);
        run(&t, &args).json()
    };
    let first = list(&[]);
    assert_eq!(first["customers"].as_array().expect("page").len(), 2);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = list(&["--cursor", &cursor]);
    assert_eq!(second["customers"][0]["email"], "c3@example.com");
    assert!(second["next_cursor"].is_null(), "the last page");

    let text = run(&t, &["customers", "list", "--user", &user, "--limit", "2"]);
    assert!(
        text.stdout
            .contains(&format!("next page: --cursor {cursor}"))
    );
    run(
        &t,
        &["customers", "list", "--user", &user, "--cursor", "nope"],
    )
    .fails_with("invalid cursor");
}

#[tokio::test]
async fn messages_list_shows_a_tickets_thread_and_an_unknown_ticket_is_not_found() {
    let t = TestDb::new().await;
    let user = create_user(&t, "owner@acme.test");
    let c = customer(&t, &user, "bob@example.com");
    let tk = ticket(&t, &user, &c);
    let added = run(
        &t,
        &[
            "messages",
            "add",
            "--user",
            &user,
            "--ticket",
            &tk,
            "--sender",
            "customer",
            "--content",
            "Still waiting",
            "--json",
        ],
    )
    .json();
    let v = run(
        &t,
        &[
            "messages", "list", "--user", &user, "--ticket", &tk, "--json",
        ],
    )
    .json();
    assert_eq!(v["messages"][0]["id"], added["id"]);
    assert_eq!(v["messages"][0]["content"], "Still waiting");
    let text = run(&t, &["messages", "list", "--user", &user, "--ticket", &tk]);
    assert!(text.ok && text.stdout.contains("Customer") && text.stdout.contains("Still waiting"));
    run(
        &t,
        &["messages", "list", "--user", &user, "--ticket", NOBODY],
    )
    .fails_with("ticket not found");
}

#[tokio::test]
async fn ingest_and_knowledge_refuse_a_user_that_does_not_exist() {
    let t = TestDb::new().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo/knowledge");
    let env = [("EMBED_MODEL_DIR", MODEL_DIR)];
    for args in [
        vec!["ingest", "--user", NOBODY, dir],
        vec!["knowledge", "list", "--user", NOBODY],
        vec!["knowledge", "search", "--user", NOBODY, "refund"],
        vec!["knowledge", "reembed", "--user", NOBODY],
    ] {
        run_env(Some(&t), &args, None, &env).fails_with(&format!("no user {NOBODY}"));
    }
    assert_eq!(t.count("documents").await, 0, "nothing written");
}

#[tokio::test]
async fn jobs_retry_of_a_done_job_says_the_draft_is_kept_or_replaced_and_never_replaces_a_decided_one()
 {
    let t = TestDb::new().await;
    let user = create_user(&t, "owner@acme.test");
    let c = customer(&t, &user, "bob@example.com");
    let tk = ticket(&t, &user, &c);
    work(&t);
    let first = ai_drafts(&t, &user, &tk);
    assert_eq!(first.len(), 1);
    let jobs = run(&t, &["jobs", "list", "--json"]).json();
    let job = jobs["jobs"][0]["id"].as_str().expect("job").to_owned();

    let kept = run(&t, &["jobs", "retry", &job]);
    assert!(kept.ok, "{}", kept.stderr);
    assert!(
        kept.stdout.contains("is kept") && kept.stdout.contains("--replace-draft"),
        "{}",
        kept.stdout
    );
    work(&t);
    assert_eq!(
        ai_drafts(&t, &user, &tk)[0]["id"],
        first[0]["id"],
        "the same draft"
    );

    let replaced = run(&t, &["jobs", "retry", &job, "--replace-draft", "--json"]).json();
    assert_eq!(replaced["id"], job.as_str());
    assert_eq!(replaced["status"], "queued");
    assert_eq!(replaced["draft"]["fate"], "replaced");
    assert_eq!(replaced["draft"]["message_id"], first[0]["id"]);
    work(&t);
    let second = ai_drafts(&t, &user, &tk);
    assert_eq!(second.len(), 1, "one draft, a new one");
    assert_ne!(second[0]["id"], first[0]["id"]);

    let message = second[0]["id"].as_str().expect("id");
    run(
        &t,
        &[
            "drafts",
            "discard",
            "--user",
            &user,
            "--message",
            message,
            "--json",
        ],
    )
    .json();
    let refused = run(&t, &["jobs", "retry", &job, "--replace-draft"]);
    refused.fails_with("a person decided it");
    let jobs = run(&t, &["jobs", "list", "--json"]).json();
    assert_eq!(
        jobs["jobs"][0]["status"], "done",
        "a refused retry changes nothing"
    );
    let decided = run(&t, &["jobs", "retry", &job, "--json"]).json();
    assert_eq!(decided["draft"]["fate"], "kept");
    assert!(
        decided["draft_note"]
            .as_str()
            .is_some_and(|n| n.contains("discarded") && n.contains("kept"))
    );
}
