//! The whole product on Citus (issue 25), against a Citus coordinator.
//!
//! `CITUS_TEST_URL` is the owner role's URL of a database on a coordinator that has the citus
//! and vector extensions and its worker nodes added; `CITUS_TEST_APP_URL` is the service role's
//! URL of the same database (README, Scaling out, shows how to set one up). Unset, the test says
//! so and passes without running: CI has no Citus. The database is used as it is, not made per
//! test, so every tenant here is new and nothing asserts on totals across tenants.

use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use support_agent::config::Secret;
use support_agent::{Db, Tenant, db};
use uuid::Uuid;

use crate::cli::{Run, run, run_env};
use crate::common::TestDb;
use crate::mcp::support::{Server, assert_tool_error, token_for};

const MODEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/all-MiniLM-L6-v2");

async fn citus() -> Option<TestDb> {
    let _ = dotenvy::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/.env"));
    let Ok(owner_url) = std::env::var("CITUS_TEST_URL") else {
        eprintln!("skipped: CITUS_TEST_URL is not set (no Citus coordinator to test against)");
        return None;
    };
    let app_url = std::env::var("CITUS_TEST_APP_URL")
        .expect("CITUS_TEST_APP_URL: the service role's URL of the CITUS_TEST_URL database");
    let pool = db::connect(
        "CITUS_TEST_APP_URL",
        &Secret::new(app_url.clone()),
        5,
        Some(db::SessionLimits::default()),
    )
    .await
    .expect("service pool");
    let owner = PgPoolOptions::new()
        .max_connections(2)
        .connect(&owner_url)
        .await
        .expect("owner pool");
    Some(TestDb {
        app_url,
        owner_url,
        db: Db::new(pool),
        owner,
    })
}

fn ok(r: Run) -> Run {
    assert!(r.ok, "{}", r.stderr);
    r
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// A tenant with one customer and one ticket, made through the operator's commands.
fn operator_flow(t: &TestDb, name: &str) -> (String, String) {
    let tag = Uuid::new_v4().simple().to_string();
    let email = format!("{name}-{tag}@citus.test").to_lowercase();
    let user = id(&run(
        t,
        &[
            "users", "create", "--name", name, "--email", &email, "--json",
        ],
    )
    .json());
    let customer = format!("buyer-{tag}@example.com");
    run(
        t,
        &[
            "customers",
            "create",
            "--user",
            &user,
            "--name",
            "Bob Baker",
            "--email",
            &customer,
            "--json",
        ],
    )
    .json();
    let ticket = id(&run(
        t,
        &[
            "tickets",
            "create",
            "--user",
            &user,
            "--customer",
            &customer,
            "--subject",
            &format!("{name}: charged twice"),
            "--description",
            "My card was charged twice for one order. How do refunds work?",
            "--json",
        ],
    )
    .json());
    let listed = run(t, &["tickets", "list", "--user", &user, "--json"]).json();
    let ids: Vec<&str> = listed["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [ticket.as_str()], "{name} sees its one ticket");
    (user, ticket)
}

/// The text of EXPLAIN for `sql` with the tenant's id as `$1`, in the tenant's transaction.
async fn explain(t: &TestDb, tenant: &Tenant, sql: &str) -> String {
    let mut tx = t.db.begin(tenant).await.expect("begin");
    let lines: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")))
        .bind(tenant.id())
        .fetch_all(tx.conn())
        .await
        .unwrap_or_else(|e| panic!("EXPLAIN {sql}: {e}"));
    tx.rollback().await.expect("rollback");
    lines.join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_product_runs_on_citus_distributed_by_tenant() {
    let Some(t) = citus().await else {
        return;
    };

    // Migrate in Citus mode, twice: the second run changes nothing.
    let first = ok(run(&t, &["migrate", "--citus"]));
    eprintln!("migrate --citus: {}", first.stderr.trim());
    let again = ok(run(&t, &["migrate", "--citus"]));
    assert!(
        again.stderr.contains("already distributed"),
        "{}",
        again.stderr
    );
    let doctor = run(&t, &["doctor", "--json"]).json();
    eprintln!("doctor: {doctor}");
    assert_eq!(doctor["ok"], true, "{doctor}");
    assert_eq!(doctor["report"]["backend"]["kind"], "citus");
    assert!(doctor["report"]["workers"].as_i64().expect("workers") >= 1);
    let human = ok(run(&t, &["doctor"]));
    assert!(
        human.stdout.contains("ok: every tenant table"),
        "{}",
        human.stdout
    );

    // The operator's flow, for two tenants; no warning from a worker on the way.
    let (a_user, a_ticket) = operator_flow(&t, "Acme");
    let (b_user, b_ticket) = operator_flow(&t, "Bolt");
    let a = Tenant::from_trusted_operator_input(a_user.parse().expect("uuid"));
    let b = Tenant::from_trusted_operator_input(b_user.parse().expect("uuid"));
    let listed = ok(run(&t, &["tickets", "list", "--user", &a_user]));
    assert!(
        !listed.stderr.contains("already a transaction"),
        "{}",
        listed.stderr
    );

    // MCP tool calls for both tenants: each sees its own ticket and not the other's.
    let server = Server::spawn(&t.db).await;
    for (tenant, own, other) in [(&a, &a_ticket, &b_ticket), (&b, &b_ticket, &a_ticket)] {
        let token = token_for(tenant);
        let mine = server.call(&token, "list_tickets", json!({})).await;
        let ids: Vec<&str> = mine["structuredContent"]["tickets"]
            .as_array()
            .expect("tickets")
            .iter()
            .map(|t| t["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, [own.as_str()]);
        let got = server
            .call(&token, "get_ticket", json!({"ticket_id": own}))
            .await;
        assert_eq!(got["isError"], false, "{got}");
        let theirs = server
            .call(&token, "get_ticket", json!({"ticket_id": other}))
            .await;
        assert_tool_error(&theirs, "not found");
    }
    drop(server);

    // A knowledge search: a document ingested for A is found for A, not for B.
    let kb = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        kb.path().join("refunds.md"),
        "# Refunds\n\nA double charge is refunded to the card within five business days.\n",
    )
    .expect("write");
    let model = [("EMBED_MODEL_DIR", MODEL_DIR)];
    let kb_path = kb.path().to_str().expect("path");
    ok(run_env(
        Some(&t),
        &["ingest", "--user", &a_user, kb_path],
        None,
        &model,
    ));
    let search = |user: &str| {
        let r = ok(run_env(
            Some(&t),
            &[
                "knowledge",
                "search",
                "--user",
                user,
                "--json",
                "refund for a double charge",
            ],
            None,
            &model,
        ));
        r.stdout
    };
    assert!(search(&a_user).contains("five business days"));
    assert!(!search(&b_user).contains("five business days"));

    // Triage by the worker, offline: A's ticket gets its ai draft.
    let work = ok(run_env(Some(&t), &["worker", "--once"], None, &model));
    assert!(
        !work.stderr.contains("already a transaction"),
        "{}",
        work.stderr
    );
    let thread = run(
        &t,
        &[
            "messages", "list", "--user", &a_user, "--ticket", &a_ticket, "--json",
        ],
    )
    .json();
    let drafts = thread["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["sender_type"] == "ai")
        .count();
    assert_eq!(drafts, 1, "{thread}");
    // The owner's cross-tenant commands.
    let stats = run(&t, &["stats", "--json"]).json();
    assert!(stats["per_user"].as_array().expect("per user").len() >= 2);
    let jobs = run(&t, &["jobs", "list", "--json"]).json();
    assert!(!jobs["jobs"].as_array().expect("jobs").is_empty());

    // Row-level security with no tenant context: nothing, on every node.
    for table in [
        "users",
        "customers",
        "tickets",
        "messages",
        "jobs",
        "chunks",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(t.db.pool())
                .await
                .expect("count");
        assert_eq!(n, 0, "{table} without a tenant context");
    }

    // Tenant statements run as one task on one shard.
    for sql in [
        "SELECT * FROM tickets WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 20",
        "SELECT m.id FROM messages m JOIN tickets t ON t.user_id = m.user_id AND t.id = m.ticket_id \
         WHERE m.user_id = $1 AND t.user_id = $1",
        "SELECT (SELECT count(*) FROM messages m WHERE m.user_id = $1 AND m.ticket_id = t.id) \
         FROM tickets t WHERE t.user_id = $1 FOR UPDATE OF t",
        "INSERT INTO customers (user_id, id, name, email) \
         VALUES ($1, gen_random_uuid(), 'Explain', 'explain@example.com')",
        "WITH due AS (SELECT c.id FROM jobs c WHERE c.user_id = $1 AND c.status = 'queued' \
         ORDER BY c.run_at, c.id LIMIT 5 FOR UPDATE SKIP LOCKED) \
         UPDATE jobs j SET status = 'running' FROM due WHERE j.user_id = $1 AND j.id = due.id",
        "SELECT id FROM chunks WHERE user_id = $1 AND tsv @@ plainto_tsquery('english', 'refund')",
    ] {
        let plan = explain(&t, &a, sql).await;
        assert!(plan.contains("Task Count: 1"), "{sql}\n{plan}");
        eprintln!(
            "Task Count: 1 — {}",
            sql.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
}

#[tokio::test]
async fn on_plain_postgresql_doctor_says_so_and_migrate_citus_refuses() {
    let t = TestDb::new().await;
    let doctor = ok(run(&t, &["doctor"]));
    assert!(
        doctor.stdout.starts_with("plain PostgreSQL "),
        "{}",
        doctor.stdout
    );
    let report = run(&t, &["doctor", "--json"]).json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["report"]["backend"]["kind"], "plain");
    run(&t, &["migrate", "--citus"]).fails_with("no citus extension");
}
