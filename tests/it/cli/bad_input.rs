//! Bad input: one clear line on stderr, a non-zero exit, and nothing half-written.

use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{create_user, run, run_in};
use crate::common::TestDb;

async fn counts(t: &TestDb) -> [i64; 4] {
    [
        t.count("users").await,
        t.count("customers").await,
        t.count("tickets").await,
        t.count("messages").await,
    ]
}

#[tokio::test]
async fn invalid_uuids_unknown_users_and_unknown_customers_are_refused() {
    let t = TestDb::new().await;
    let user = create_user(&t, "a@acme.test");
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            "not-a-uuid",
            "--name",
            "X",
            "--email",
            "x@x.test",
        ],
    )
    .fails_with("is not a UUID");
    let stranger = Uuid::now_v7().to_string();
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &stranger,
            "--name",
            "X",
            "--email",
            "x@x.test",
        ],
    )
    .fails_with("no user");
    run(
        &t,
        &[
            "tickets",
            "create",
            "--user",
            &user,
            "--customer",
            "nobody@example.com",
            "--subject",
            "s",
        ],
    )
    .fails_with("unknown customer");
    run(
        &t,
        &[
            "tickets",
            "create",
            "--user",
            &user,
            "--customer",
            &stranger,
            "--subject",
            "s",
        ],
    )
    .fails_with("unknown customer");
    run(
        &t,
        &[
            "messages",
            "add",
            "--user",
            &user,
            "--ticket",
            &stranger,
            "--sender",
            "agent",
            "--content",
            "c",
        ],
    )
    .fails_with("ticket not found");
    run(
        &t,
        &[
            "messages",
            "add",
            "--user",
            &user,
            "--ticket",
            &stranger,
            "--sender",
            "ai",
            "--content",
            "c",
        ],
    )
    .fails_with("invalid value 'ai'");
    run(
        &t,
        &["token", "issue", "--user", &user, "--ttl", "5 parsecs"],
    )
    .fails_with("unknown unit");
    assert_eq!(counts(&t).await, [1, 0, 0, 0]);
}

#[tokio::test]
async fn duplicate_emails_are_refused_for_users_and_for_a_tenants_customers() {
    let t = TestDb::new().await;
    let a = create_user(&t, "a@acme.test");
    run(
        &t,
        &[
            "users",
            "create",
            "--name",
            "Again",
            "--email",
            "A@ACME.test",
        ],
    )
    .fails_with("already exists");
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &a,
            "--name",
            "X",
            "--email",
            "x@x.test",
            "--json",
        ],
    )
    .json();
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &a,
            "--name",
            "Y",
            "--email",
            "X@x.test",
        ],
    )
    .fails_with("already exists");
    // Another tenant may have a customer with the same email: unique per tenant.
    let b = create_user(&t, "b@bolt.test");
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &b,
            "--name",
            "X",
            "--email",
            "x@x.test",
            "--json",
        ],
    )
    .json();
    assert_eq!(counts(&t).await, [2, 2, 0, 0]);
}

#[tokio::test]
async fn a_tenant_cannot_open_a_ticket_for_another_tenants_customer() {
    let t = TestDb::new().await;
    let a = create_user(&t, "a@acme.test");
    let b = create_user(&t, "b@bolt.test");
    let bc = run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &b,
            "--name",
            "Ben",
            "--email",
            "ben@x.test",
            "--json",
        ],
    )
    .json();
    let bc_id = bc["id"].as_str().expect("id");
    run(
        &t,
        &[
            "tickets",
            "create",
            "--user",
            &a,
            "--customer",
            bc_id,
            "--subject",
            "s",
        ],
    )
    .fails_with("unknown customer");
    run(
        &t,
        &[
            "tickets",
            "create",
            "--user",
            &a,
            "--customer",
            "ben@x.test",
            "--subject",
            "s",
        ],
    )
    .fails_with("unknown customer");
    assert_eq!(counts(&t).await, [2, 1, 0, 0]);
}

#[tokio::test]
async fn oversize_and_empty_fields_are_refused_before_anything_is_written() {
    let t = TestDb::new().await;
    let a = create_user(&t, "a@acme.test");
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &a,
            "--name",
            "Bob",
            "--email",
            "bob@x.test",
            "--json",
        ],
    )
    .json();
    let ticket = run(
        &t,
        &[
            "tickets",
            "create",
            "--user",
            &a,
            "--customer",
            "bob@x.test",
            "--subject",
            "s",
            "--json",
        ],
    )
    .json();
    let ticket_id = ticket["id"].as_str().expect("id");
    let huge = "x".repeat(20_001);
    run(
        &t,
        &[
            "messages",
            "add",
            "--user",
            &a,
            "--ticket",
            ticket_id,
            "--sender",
            "agent",
            "--content",
            &huge,
        ],
    )
    .fails_with("invalid content");
    run(
        &t,
        &[
            "messages",
            "add",
            "--user",
            &a,
            "--ticket",
            ticket_id,
            "--sender",
            "agent",
            "--content",
            "   ",
        ],
    )
    .fails_with("must not be empty");
    let long_subject = "s".repeat(301);
    run(
        &t,
        &[
            "tickets",
            "create",
            "--user",
            &a,
            "--customer",
            "bob@x.test",
            "--subject",
            &long_subject,
        ],
    )
    .fails_with("invalid subject");
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &a,
            "--name",
            &"n".repeat(201),
            "--email",
            "n@x.test",
        ],
    )
    .fails_with("invalid name");
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &a,
            "--name",
            "N",
            "--email",
            "n@x.test",
            "--stripe-customer",
            "acct_1",
        ],
    )
    .fails_with("invalid stripe_customer_id");
    run(
        &t,
        &[
            "users",
            "create",
            "--name",
            "P",
            "--email",
            "p@x.test",
            "--password-stdin",
        ],
    )
    .fails_with("invalid password");
    assert_eq!(counts(&t).await, [1, 1, 1, 0]);
}

#[tokio::test]
async fn sql_metacharacters_are_stored_verbatim_or_refused_where_the_format_forbids_them() {
    let t = TestDb::new().await;
    let a = create_user(&t, "a@acme.test");
    let name = "Robert'); DROP TABLE customers;--";
    let subject = "' OR '1'='1' --";
    let description = "\"; DELETE FROM tickets; -- $1 %s \\x00";
    let content = "'; SELECT pg_sleep(10); -- \u{2028} $$ E'\\''";
    let c = run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &a,
            "--name",
            name,
            "--email",
            "o'brien+x@example.com",
            "--json",
        ],
    )
    .json();
    assert_eq!(c["name"], name);
    assert_eq!(c["email"], "o'brien+x@example.com");
    let tk = run(
        &t,
        &[
            "tickets",
            "create",
            "--user",
            &a,
            "--customer",
            "o'brien+x@example.com",
            "--subject",
            subject,
            "--description",
            description,
            "--json",
        ],
    )
    .json();
    let ticket_id = tk["id"].as_str().expect("id");
    run(
        &t,
        &[
            "messages",
            "add",
            "--user",
            &a,
            "--ticket",
            ticket_id,
            "--sender",
            "customer",
            "--content",
            content,
            "--json",
        ],
    )
    .json();
    let thread = run(
        &t,
        &[
            "tickets", "show", "--user", &a, "--ticket", ticket_id, "--json",
        ],
    )
    .json();
    assert_eq!(thread["ticket"]["subject"], subject);
    assert_eq!(thread["ticket"]["description"], description);
    assert_eq!(thread["messages"][0]["content"], content);
    assert_eq!(thread["customer"]["name"], name);
    // Where the format leaves no room for them, they are refused by name.
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &a,
            "--name",
            "x",
            "--email",
            "x'; DROP TABLE users;--@x.test",
        ],
    )
    .fails_with("invalid email");
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &a,
            "--name",
            "x",
            "--email",
            "x2@x.test",
            "--phone",
            "1; DROP TABLE x",
        ],
    )
    .fails_with("invalid phone");
    run(
        &t,
        &["users", "create", "--name", "x", "--email", "' OR 1=1 --"],
    )
    .fails_with("invalid email");
    run(
        &t,
        &[
            "customers",
            "create",
            "--user",
            &a,
            "--name",
            "nul\u{1}",
            "--email",
            "nul@x.test",
            "--json",
        ],
    )
    .json();
    assert_eq!(counts(&t).await, [1, 2, 1, 1]);
}

#[tokio::test]
async fn missing_settings_unreachable_servers_and_missing_pgvector_get_one_sentence() {
    let t = TestDb::new().await;
    let user = Uuid::now_v7().to_string();
    let list = ["customers", "list", "--user", user.as_str()];
    run_in(None, &list, None).fails_with("DATABASE_URL is not set");
    run_in(None, &["migrate"], None).fails_with("DATABASE_OWNER_URL is not set");
    let unreachable = "postgres://support_agent_app:hunter2secret@127.0.0.1:1/support_agent";
    let mut args: Vec<&str> = vec!["--database-url", unreachable];
    args.extend(list);
    let r = run_in(None, &args, None);
    r.fails_with("cannot reach PostgreSQL at 127.0.0.1:1/support_agent (DATABASE_URL)");
    assert!(
        !r.stderr.contains("hunter2secret"),
        "the password never reaches output"
    );
    run_in(
        None,
        &[
            "--database-url",
            "mysql://nope",
            "customers",
            "list",
            "--user",
            &user,
        ],
        None,
    )
    .fails_with("DATABASE_URL is not a valid PostgreSQL URL");

    // A database without pgvector (template0 has no extensions).
    let bare = format!("sa_test_bare_{}", Uuid::new_v4().simple());
    sqlx::query(AssertSqlSafe(format!(
        "CREATE DATABASE {bare} TEMPLATE template0"
    )))
    .execute(&t.owner)
    .await
    .expect("create bare database");
    let bare_url = format!("{}/{bare}", t.app_url.rsplit_once('/').expect("url").0);
    run_in(
        None,
        &[
            "--database-url",
            &bare_url,
            "customers",
            "list",
            "--user",
            &user,
        ],
        None,
    )
    .fails_with("has no pgvector extension");
}
