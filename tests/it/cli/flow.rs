//! The operator's path: user → customer → ticket → message → stats, and a token.

use support_agent::auth::JwtAuth;
use support_agent::config::{JwtSettings, Secret};

use super::{JWT_SECRET, create_user, run, run_in};
use crate::common::TestDb;

#[tokio::test]
async fn an_operator_creates_a_user_customer_ticket_and_message_then_reads_stats() {
    let t = TestDb::new().await;
    let user = run_in(
        Some(&t),
        &[
            "users",
            "create",
            "--name",
            "Acme",
            "--email",
            "Owner@Acme.test",
            "--password-stdin",
            "--json",
        ],
        Some("a long enough password\n"),
    )
    .json();
    let user_id = user["id"].as_str().expect("id");
    assert_eq!(user["email"], "owner@acme.test");
    assert!(user.get("password_hash").is_none(), "no hash in output");

    let customer = run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            user_id,
            "--name",
            "Bob Stone",
            "--email",
            "bob@example.com",
            "--phone",
            "+1 555 0100",
            "--stripe-customer",
            "cus_Bob123",
            "--json",
        ],
    )
    .json();
    let customer_id = customer["id"].as_str().expect("id");
    assert_eq!(customer["stripe_customer_id"], "cus_Bob123");

    // The customer may be named by email as well as by id.
    let ticket = run(
        &t,
        &[
            "tickets",
            "create",
            "--user",
            user_id,
            "--customer",
            "BOB@example.com",
            "--subject",
            "Refund for order 42",
            "--description",
            "Charged twice",
            "--priority",
            "high",
            "--json",
        ],
    )
    .json();
    let ticket_id = ticket["id"].as_str().expect("id");
    assert_eq!(ticket["customer_id"], customer_id);
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["status"], "open");

    let message = run(
        &t,
        &[
            "messages",
            "add",
            "--user",
            user_id,
            "--ticket",
            ticket_id,
            "--sender",
            "customer",
            "--content",
            "Any news?",
            "--json",
        ],
    )
    .json();
    assert!(message["id"].is_string());
    assert_eq!(message["sender_type"], "customer");

    let thread = run(
        &t,
        &[
            "tickets", "show", "--user", user_id, "--ticket", ticket_id, "--json",
        ],
    )
    .json();
    assert_eq!(thread["messages"].as_array().expect("messages").len(), 1);
    let listed = run(&t, &["tickets", "list", "--user", user_id, "--json"]).json();
    assert_eq!(listed["tickets"][0]["id"], ticket_id);

    let stats = run(&t, &["stats", "--days", "7", "--json"]).json();
    assert_eq!(stats["days"], 7);
    assert_eq!(stats["totals"]["users"], 1);
    assert_eq!(stats["totals"]["tickets"], 1);
    assert_eq!(stats["totals"]["open_tickets"], 1);
    assert_eq!(stats["totals"]["messages"], 1);
    assert_eq!(stats["per_user"][0]["user_id"], user_id);
    assert_eq!(stats["per_user"][0]["tickets"], 1);
    let human = run(&t, &["stats"]);
    assert!(
        human.ok && human.stdout.contains(user_id),
        "{}",
        human.stderr
    );

    let token = run(&t, &["token", "issue", "--user", user_id, "--ttl", "1h"]);
    assert!(token.ok, "{}", token.stderr);
    assert_eq!(token.stdout.lines().count(), 1, "only the token");
    let auth = JwtAuth::from_settings(&JwtSettings {
        jwt_secret: Some(Secret::new(JWT_SECRET)),
        jwt_issuer: "support-agent".into(),
        jwt_audience: "support-agent".into(),
        jwt_public_keys: String::new(),
        jwt_signing_key: None,
        token_max_ttl: std::time::Duration::from_secs(90 * 86_400),
    })
    .expect("settings");
    let tenant = auth
        .verify(token.stdout.trim())
        .expect("the issued token verifies");
    assert_eq!(tenant.tenant.id().to_string(), user_id);
}

#[tokio::test]
async fn migrate_is_idempotent_and_stats_counts_every_tenant() {
    let t = TestDb::new().await;
    let m = run(&t, &["migrate"]);
    assert!(m.ok, "{}", m.stderr);
    let a = create_user(&t, "a@acme.test");
    let b = create_user(&t, "b@bolt.test");
    for (user, email) in [(&a, "x@example.com"), (&b, "y@example.com")] {
        run(
            &t,
            &[
                "customers",
                "create",
                "--user",
                user,
                "--name",
                "X",
                "--email",
                email,
                "--json",
            ],
        )
        .json();
        run(
            &t,
            &[
                "tickets",
                "create",
                "--user",
                user,
                "--customer",
                email,
                "--subject",
                "s",
                "--json",
            ],
        )
        .json();
    }
    let stats = run(&t, &["stats", "--json"]).json();
    assert_eq!(stats["totals"]["users"], 2);
    assert_eq!(stats["totals"]["tickets"], 2);
    assert_eq!(stats["per_user"].as_array().expect("per user").len(), 2);
}

#[tokio::test]
async fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let t = TestDb::new().await;
    // The worker logs at info level as it starts; its stderr here is a pipe, not a terminal.
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/all-MiniLM-L6-v2");
    let r = super::run_env(
        Some(&t),
        &["worker", "--once"],
        None,
        &[("EMBED_MODEL_DIR", model)],
    );
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stderr.contains("worker starting"), "{}", r.stderr);
    assert!(!r.stderr.contains('\x1b'), "ANSI escapes in {:?}", r.stderr);
}
