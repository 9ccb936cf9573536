//! D1 in the database itself: a customer-scoped transaction (what `Ctx::begin` opens for a triage
//! job) sees and writes only its customer's rows of every customer-owned table, whatever SQL it
//! runs; the scope is transaction-local and never reaches the next borrower of a connection.

use sqlx::AssertSqlSafe;
use support_agent::messages::Sender;
use support_agent::{Db, Tenant};
use uuid::Uuid;

use super::add_message;
use crate::common::{TestDb, new_customer, new_tenant, new_ticket};

const OWNED: [&str; 4] = ["customers", "tickets", "messages", "jobs"];

/// Rows of each customer-owned table one transaction sees.
async fn visible(db: &Db, tenant: &Tenant, scope: Option<Uuid>) -> Vec<i64> {
    let mut tx = match scope {
        Some(customer) => db.begin_for_customer(tenant, customer).await,
        None => db.begin(tenant).await,
    }
    .expect("begin");
    let mut counts = Vec::new();
    for table in OWNED {
        let sql = format!("SELECT count(*) FROM {table}");
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(tx.conn())
            .await
            .expect("count");
        counts.push(n);
    }
    tx.commit().await.expect("commit");
    counts
}

/// Runs `sql` with `$1` = the tenant and `$2` = `arg` in Mallory's scope; rows touched or error.
async fn in_scope(
    db: &Db,
    tenant: &Tenant,
    customer: Uuid,
    sql: &'static str,
    arg: Uuid,
) -> Result<u64, sqlx::Error> {
    let mut tx = db
        .begin_for_customer(tenant, customer)
        .await
        .expect("begin");
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.id())
        .bind(arg)
        .execute(tx.conn())
        .await;
    tx.rollback().await.expect("rollback");
    done.map(|d| d.rows_affected())
}

#[tokio::test]
async fn a_customer_scoped_transaction_sees_and_writes_only_that_customers_rows() {
    // One connection: every transaction below borrows the same one.
    let t = TestDb::with_max_connections(1).await;
    let db = &t.db;
    let a = new_tenant(db, "Acme").await;
    let mallory = new_customer(db, &a, "Mallory Moe", "mallory@example.net").await;
    let ada = new_customer(db, &a, "Ada Lovelace", "ada@example.com").await;
    let her_ticket = new_ticket(db, &a, mallory.id, "mine").await;
    let ada_ticket = new_ticket(db, &a, ada.id, "Ada's").await;
    add_message(db, &a, ada_ticket.id, Sender::Customer, "private").await;

    let all = visible(db, &a, None).await;
    assert_eq!(
        all,
        [2, 2, 1, 3],
        "the tenant sees both customers ({OWNED:?})"
    );
    assert_eq!(
        visible(db, &a, Some(mallory.id)).await,
        [1, 1, 0, 1],
        "Mallory's own rows"
    );
    assert_eq!(
        visible(db, &a, Some(ada.id)).await,
        [1, 1, 1, 2],
        "Ada's own rows"
    );
    assert_eq!(
        visible(db, &a, None).await,
        all,
        "the scope ended with its transaction"
    );

    for (sql, arg) in [
        (
            "UPDATE customers SET name = 'x' WHERE user_id = $1 AND id <> $2",
            mallory.id,
        ),
        (
            "UPDATE tickets SET status = 'closed' WHERE user_id = $1 AND id <> $2",
            her_ticket.id,
        ),
        (
            "DELETE FROM messages WHERE user_id = $1 AND id <> $2",
            Uuid::nil(),
        ),
        (
            "DELETE FROM jobs WHERE user_id = $1 AND ticket_id <> $2",
            her_ticket.id,
        ),
    ] {
        let touched = in_scope(db, &a, mallory.id, sql, arg).await.expect(sql);
        assert_eq!(touched, 0, "{sql}");
    }
    for (sql, arg) in [
        (
            "INSERT INTO messages (user_id, id, ticket_id, sender_type, content) \
             VALUES ($1, gen_random_uuid(), $2, 'agent', 'x')",
            ada_ticket.id,
        ),
        (
            "INSERT INTO tickets (user_id, id, customer_id, subject) \
             VALUES ($1, gen_random_uuid(), $2, 'x')",
            ada.id,
        ),
        (
            "INSERT INTO customers (user_id, id, name, email) VALUES ($1, $2, 'N', 'n@x.com')",
            Uuid::now_v7(),
        ),
        (
            // Moving her own ticket to Ada is a write into Ada's records too.
            "UPDATE tickets SET customer_id = $2 WHERE user_id = $1",
            ada.id,
        ),
    ] {
        let err = in_scope(db, &a, mallory.id, sql, arg).await.expect_err(sql);
        assert!(
            err.to_string().contains("row-level security"),
            "{sql}: {err}"
        );
    }
    assert_eq!(visible(db, &a, None).await, all, "nothing changed");
}

/// The draft guard's lookup of other customers by what a draft contains is served by indexes for
/// the service role, under forced row-level security, so a tenant's size does not matter. (An
/// expression index would not be: the functions in the expression are not LEAKPROOF.)
#[tokio::test]
async fn the_guards_customer_lookup_is_served_by_indexes_under_row_level_security() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    // A tenant with 20,000 customers, and the statistics the planner works from.
    let mut owner = t.owner.begin().await.expect("begin");
    let context = format!("SET LOCAL app.current_user_id = '{}'", a.id());
    sqlx::query(AssertSqlSafe(context))
        .execute(&mut *owner)
        .await
        .expect("context");
    sqlx::query(
        "INSERT INTO customers (user_id, id, name, email, phone, stripe_customer_id) \
         SELECT $1, gen_random_uuid(), 'Name' || g || ' Surname' || g, 'c' || g || '@example.com', \
                '+1 555 ' || lpad(g::text, 7, '0'), 'cus_X' || g \
         FROM generate_series(1, 20000) g",
    )
    .bind(a.id())
    .execute(&mut *owner)
    .await
    .expect("customers");
    owner.commit().await.expect("commit");
    sqlx::query("ANALYZE customers")
        .execute(&t.owner)
        .await
        .expect("analyze");
    let mut tx = t.db.begin(&a).await.expect("begin");
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(tx.conn())
        .await
        .expect("set");
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN {}",
        support_agent::customers::store::NAMED_IN
    )))
    .bind(a.id())
    .bind(Uuid::now_v7())
    .bind(words(&["ada@example.com"]))
    .bind(words(&["550107777"]))
    .bind(words(&["ada lovelace", "dear ada"]))
    .bind(words(&["cus_Aada"]))
    .bind(10_i64)
    .fetch_all(tx.conn())
    .await
    .expect("explain");
    tx.rollback().await.expect("rollback");
    let plan = plan.join("\n");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    for index in [
        "customers_user_id_email_key",
        "customers_user_id_phone_key_idx",
        "customers_user_id_name_key_idx",
        "customers_user_id_stripe_customer_id_key",
    ] {
        assert!(plan.contains(index), "{index} serves the lookup:\n{plan}");
    }
}
