//! R3: the tenant context is transaction-local, so one pooled connection serving tenants in turn,
//! even after a failed transaction, never carries one tenant's context into the next.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use support_agent::customers;
use support_agent::tickets::{self, NewTicket};

use crate::common::{TestDb, new_customer, new_tenant};

#[tokio::test]
async fn one_pooled_connection_alternating_tenants_never_leaks_a_context() {
    let t = TestDb::with_max_connections(1).await;
    let a = new_tenant(&t.db, "Acme").await;
    let b = new_tenant(&t.db, "Bolt").await;
    new_customer(&t.db, &a, "Ann", "ann@example.com").await;
    new_customer(&t.db, &b, "Ben", "ben@example.com").await;
    let mut pids = Vec::new();
    for round in 0..6 {
        let (tenant, expected) = if round % 2 == 0 {
            (&a, "ann@example.com")
        } else {
            (&b, "ben@example.com")
        };
        let mut tx = t.db.begin(tenant).await.expect("begin");
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(tx.conn())
            .await
            .expect("pid");
        pids.push(pid);
        let (rows, _) = customers::store::list(&mut tx, 10, None)
            .await
            .expect("list");
        let emails: Vec<_> = rows.iter().map(|c| c.email.as_str()).collect();
        assert_eq!(emails, [expected], "round {round}");
        // Raw SQL with no WHERE: row-level security alone keeps the other tenant out.
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
            .fetch_one(tx.conn())
            .await
            .expect("count");
        assert_eq!(n, 1);
        tx.commit().await.expect("commit");
        // Between transactions the same connection has no tenant at all.
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
            .fetch_one(t.db.pool())
            .await
            .expect("count");
        assert_eq!(n, 0, "no context outside a transaction after round {round}");
    }
    pids.dedup();
    assert_eq!(pids.len(), 1, "all rounds ran on one connection");
}

#[tokio::test]
async fn a_transaction_that_fails_midway_leaves_no_context_for_the_next_tenant() {
    let t = TestDb::with_max_connections(1).await;
    let a = new_tenant(&t.db, "Acme").await;
    let b = new_tenant(&t.db, "Bolt").await;
    let ann = new_customer(&t.db, &a, "Ann", "ann@example.com").await;
    new_customer(&t.db, &b, "Ben", "ben@example.com").await;

    // A's transaction errors mid-way (duplicate email), then is dropped without commit.
    let mut tx = t.db.begin(&a).await.expect("begin");
    let new = NewTicket {
        customer_id: ann.id,
        subject: "kept?",
        description: None,
        priority: None,
    };
    tickets::store::create(&mut tx, &new).await.expect("ticket");
    let dup = customers::store::create(
        &mut tx,
        &customers::NewCustomer {
            name: "Ann again",
            email: "ann@example.com",
            ..Default::default()
        },
    )
    .await;
    assert!(dup.is_err());
    drop(tx);

    // The next borrower of the only connection is B, and sees B alone.
    let mut tx =
        t.db.begin(&b)
            .await
            .expect("begin after a failed transaction");
    let (rows, _) = customers::store::list(&mut tx, 10, None)
        .await
        .expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].email, "ben@example.com");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(tx.conn())
        .await
        .expect("count");
    assert_eq!(n, 0);
    tx.commit().await.expect("commit");
    // Nothing of A's failed transaction was written.
    assert_eq!(t.count("tickets").await, 0);
    let setting: Option<String> =
        sqlx::query_scalar("SELECT NULLIF(current_setting('app.current_user_id', true), '')")
            .fetch_one(t.db.pool())
            .await
            .expect("setting");
    assert_eq!(setting, None);
}

/// A request that goes away while its transaction is beginning (the client disconnected) must
/// not leave the pooled connection inside that transaction, with that tenant's context, for the
/// next borrower. The `begin` is polled a few times, left while PostgreSQL answers, and dropped,
/// at many points of its round trip; one pooled connection, so the next borrower gets that one.
#[tokio::test]
async fn a_transaction_cancelled_while_it_begins_leaves_no_transaction_or_context_in_the_pool() {
    let t = TestDb::with_max_connections(1).await;
    let a = new_tenant(&t.db, "Acme").await;
    let mut cancelled = 0;
    for round in 0..200u64 {
        // The connection back in the pool first (its release ping done), so that the first poll
        // finds it and writes the `BEGIN`.
        while t.db.pool().num_idle() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut begin = Box::pin(t.db.begin(&a));
        let mut done = false;
        for _ in 0..=(round % 3) {
            done = std::future::poll_fn(|cx| Poll::Ready(begin.as_mut().poll(cx).is_ready())).await;
            if done {
                break;
            }
            tokio::task::yield_now().await;
        }
        if !done {
            // PostgreSQL answers meanwhile; nobody reads the answer.
            std::thread::sleep(Duration::from_micros((round % 5) * 100));
            cancelled += 1;
        }
        drop(begin);
        // The next borrower of the one connection: outside any transaction (a savepoint is
        // refused there), with no tenant context.
        let mut conn = t.db.pool().acquire().await.expect("next borrower");
        let in_transaction = sqlx::raw_sql("SAVEPOINT probe; RELEASE SAVEPOINT probe")
            .execute(&mut *conn)
            .await
            .is_ok();
        let context: Option<String> =
            sqlx::query_scalar("SELECT current_setting('app.current_user_id', true)")
                .fetch_one(&mut *conn)
                .await
                .expect("context");
        assert!(
            !in_transaction && context.as_deref().unwrap_or("").is_empty(),
            "round {round}: the connection came back inside a transaction, context {context:?}"
        );
    }
    assert!(
        cancelled > 0,
        "no begin was cancelled: the test proves nothing"
    );
}
