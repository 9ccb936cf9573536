//! Two tenants, one table at a time, through the service role: tenant A can neither see, change,
//! delete, insert as, nor point at tenant B's rows (R2, R5, R7) — by raw SQL, where only
//! row-level security and the composite keys stand in the way, and through the stores.

use support_agent::customers::{self, CustomerUpdate};
use support_agent::messages::{self, Sender};
use support_agent::tickets::{self, NewTicket, Status};
use support_agent::{Db, StoreError, Tenant};
use uuid::Uuid;

use crate::common::{TestDb, new_customer, new_tenant, new_ticket};

struct World {
    t: TestDb,
    a: Tenant,
    b: Tenant,
    b_customer: Uuid,
    b_ticket: Uuid,
    b_message: Uuid,
    a_ticket: Uuid,
}

async fn world() -> World {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let b = new_tenant(&t.db, "Bolt").await;
    let ac = new_customer(&t.db, &a, "Ann", "ann@example.com").await;
    let bc = new_customer(&t.db, &b, "Ben", "ben@example.com").await;
    let at = new_ticket(&t.db, &a, ac.id, "A's ticket").await;
    let bt = new_ticket(&t.db, &b, bc.id, "B's ticket").await;
    let mut tx = t.db.begin(&b).await.expect("begin");
    let bm = messages::store::add(&mut tx, bt.id, Sender::Customer, "B's secret message")
        .await
        .expect("message");
    tx.commit().await.expect("commit");
    let mut tx = t.db.begin(&a).await.expect("begin");
    messages::store::add(&mut tx, at.id, Sender::Customer, "A's message")
        .await
        .expect("message");
    tx.commit().await.expect("commit");
    World {
        t,
        a,
        b,
        b_customer: bc.id,
        b_ticket: bt.id,
        b_message: bm.id,
        a_ticket: at.id,
    }
}

/// Runs one statement as `tenant` in its own transaction; the rows it touched, or its SQLSTATE.
async fn exec_as(db: &Db, tenant: &Tenant, sql: String) -> Result<u64, String> {
    let mut tx = db.begin(tenant).await.expect("begin");
    let result = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(tx.conn())
        .await;
    match result {
        Ok(r) => {
            tx.commit().await.expect("commit");
            Ok(r.rows_affected())
        }
        Err(sqlx::Error::Database(e)) => Err(e.code().map(|c| c.to_string()).unwrap_or_default()),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

async fn count_as(db: &Db, tenant: &Tenant, sql: String) -> i64 {
    let mut tx = db.begin(tenant).await.expect("begin");
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(tx.conn())
        .await
        .expect("count");
    tx.commit().await.expect("commit");
    n
}

const RLS_VIOLATION: &str = "42501";
const FK_VIOLATION: &str = "23503";

/// The checks every tenant table shares: `key` is the tenant column, `b_row` a row of B.
async fn assert_walled_off(w: &World, table: &str, key: &str, b_row: Uuid, touch: &str) {
    let (db, a, b) = (&w.t.db, &w.a, &w.b);
    let bid = b.id();
    let visible = count_as(db, a, format!("SELECT count(*) FROM {table}")).await;
    let own = count_as(
        db,
        a,
        format!("SELECT count(*) FROM {table} WHERE {key} = '{}'", a.id()),
    )
    .await;
    assert!(
        visible >= 1 && visible == own,
        "{table}: A sees only its own rows ({visible} vs {own})"
    );
    assert_eq!(
        count_as(
            db,
            a,
            format!("SELECT count(*) FROM {table} WHERE {key} = '{bid}'")
        )
        .await,
        0,
        "{table}: select B"
    );
    assert_eq!(
        count_as(
            db,
            a,
            format!("SELECT count(*) FROM {table} WHERE id = '{b_row}'")
        )
        .await,
        0,
        "{table}: select B's row by id"
    );
    assert_eq!(
        exec_as(
            db,
            a,
            format!("UPDATE {table} SET {touch} WHERE id = '{b_row}'")
        )
        .await,
        Ok(0),
        "{table}: update B"
    );
    if table != "users" {
        assert_eq!(
            exec_as(db, a, format!("DELETE FROM {table} WHERE {key} = '{bid}'")).await,
            Ok(0),
            "{table}: delete B"
        );
        // Moving one's own row into B fails the WITH CHECK.
        assert_eq!(
            exec_as(
                db,
                a,
                format!(
                    "UPDATE {table} SET user_id = '{bid}' WHERE user_id = '{}'",
                    a.id()
                )
            )
            .await,
            Err(RLS_VIOLATION.into()),
            "{table}: move a row to B"
        );
    }
    // B still has its row, untouched.
    assert_eq!(
        count_as(
            db,
            b,
            format!("SELECT count(*) FROM {table} WHERE id = '{b_row}'")
        )
        .await,
        1,
        "{table}: B's row intact"
    );
}

#[tokio::test]
async fn tenant_a_cannot_read_change_or_impersonate_tenant_b_in_users() {
    let w = world().await;
    let bid = w.b.id();
    assert_walled_off(&w, "users", "id", bid, "name = 'pwned'").await;
    let insert = format!(
        "INSERT INTO users (id, name, email) VALUES ('{}', 'x', 'x@x.test')",
        Uuid::now_v7()
    );
    assert_eq!(
        exec_as(&w.t.db, &w.a, insert).await,
        Err(RLS_VIOLATION.into()),
        "users: insert another tenant"
    );
}

#[tokio::test]
async fn tenant_a_cannot_read_change_delete_or_insert_tenant_b_customers() {
    let w = world().await;
    assert_walled_off(&w, "customers", "user_id", w.b_customer, "name = 'pwned'").await;
    let insert = format!(
        "INSERT INTO customers (user_id, id, name, email) VALUES ('{}', '{}', 'x', 'x@x.test')",
        w.b.id(),
        Uuid::now_v7()
    );
    assert_eq!(
        exec_as(&w.t.db, &w.a, insert).await,
        Err(RLS_VIOLATION.into())
    );
    // Through the store: the same "not found" as for an id that never existed.
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    assert!(matches!(
        customers::store::get(&mut tx, w.b_customer).await,
        Err(StoreError::NotFound("customer"))
    ));
    let change = CustomerUpdate {
        name: Some("pwned"),
        ..Default::default()
    };
    assert!(matches!(
        customers::store::update(&mut tx, w.b_customer, &change).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        customers::store::find_by_email(&mut tx, "ben@example.com").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        customers::store::search(&mut tx, "Ben", 10)
            .await
            .expect("search")
            .is_empty()
    );
}

#[tokio::test]
async fn tenant_a_cannot_read_change_delete_insert_or_reference_tenant_b_tickets() {
    let w = world().await;
    assert_walled_off(&w, "tickets", "user_id", w.b_ticket, "status = 'closed'").await;
    let (a, b) = (w.a.id(), w.b.id());
    // As B's tenant: refused by RLS.
    let as_b = format!(
        "INSERT INTO tickets (user_id, id, customer_id, subject) VALUES ('{b}', '{}', '{}', 'x')",
        Uuid::now_v7(),
        w.b_customer
    );
    assert_eq!(
        exec_as(&w.t.db, &w.a, as_b).await,
        Err(RLS_VIOLATION.into())
    );
    // As itself, pointing at B's customer: refused by the composite foreign key.
    let cross = format!(
        "INSERT INTO tickets (user_id, id, customer_id, subject) VALUES ('{a}', '{}', '{}', 'x')",
        Uuid::now_v7(),
        w.b_customer
    );
    assert_eq!(
        exec_as(&w.t.db, &w.a, cross).await,
        Err(FK_VIOLATION.into())
    );
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    let new = NewTicket {
        customer_id: w.b_customer,
        subject: "x",
        description: None,
        priority: None,
    };
    assert!(matches!(
        tickets::store::create(&mut tx, &new).await,
        Err(StoreError::NotFound("customer"))
    ));
    drop(tx);
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    assert!(matches!(
        tickets::store::get_thread(&mut tx, w.b_ticket).await,
        Err(StoreError::NotFound("ticket"))
    ));
    assert!(matches!(
        tickets::store::update(&mut tx, w.b_ticket, Some(Status::Closed), None).await,
        Err(StoreError::NotFound("ticket"))
    ));
    let page = tickets::store::list(&mut tx, &Default::default(), 100, None)
        .await
        .expect("list");
    assert!(page.items.iter().all(|t| t.user_id == a));
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn tenant_a_cannot_read_change_delete_insert_or_attach_to_tenant_b_messages() {
    let w = world().await;
    assert_walled_off(&w, "messages", "user_id", w.b_message, "content = 'pwned'").await;
    let (a, b) = (w.a.id(), w.b.id());
    let as_b = format!(
        "INSERT INTO messages (user_id, id, ticket_id, sender_type, content) VALUES ('{b}', '{}', '{}', 'agent', 'x')",
        Uuid::now_v7(),
        w.b_ticket
    );
    assert_eq!(
        exec_as(&w.t.db, &w.a, as_b).await,
        Err(RLS_VIOLATION.into())
    );
    let cross = format!(
        "INSERT INTO messages (user_id, id, ticket_id, sender_type, content) VALUES ('{a}', '{}', '{}', 'agent', 'x')",
        Uuid::now_v7(),
        w.b_ticket
    );
    assert_eq!(
        exec_as(&w.t.db, &w.a, cross).await,
        Err(FK_VIOLATION.into()),
        "attach to B's ticket"
    );
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    assert!(matches!(
        messages::store::add(&mut tx, w.b_ticket, Sender::Agent, "hi").await,
        Err(StoreError::NotFound("ticket"))
    ));
    drop(tx);
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    assert!(
        messages::store::list_by_ticket(&mut tx, w.b_ticket)
            .await
            .expect("list")
            .is_empty()
    );
    messages::store::add(&mut tx, w.a_ticket, Sender::Agent, "own ticket is fine")
        .await
        .expect("add");
    tx.commit().await.expect("commit");
    assert_eq!(w.t.count("messages").await, 3);
}

#[tokio::test]
async fn tenant_a_cannot_read_change_delete_or_queue_jobs_of_tenant_b() {
    let w = world().await;
    let b_job: Uuid = {
        let mut tx = w.t.db.begin(&w.b).await.expect("begin");
        let id = sqlx::query_scalar("SELECT id FROM jobs LIMIT 1")
            .fetch_one(tx.conn())
            .await
            .expect("B's job");
        tx.commit().await.expect("commit");
        id
    };
    assert_walled_off(&w, "jobs", "user_id", b_job, "attempts = 0").await;
    let cross = format!(
        "INSERT INTO jobs (user_id, id, ticket_id) VALUES ('{}', '{}', '{}')",
        w.a.id(),
        Uuid::now_v7(),
        w.b_ticket
    );
    assert_eq!(
        exec_as(&w.t.db, &w.a, cross).await,
        Err(FK_VIOLATION.into()),
        "a job for B's ticket"
    );
    // Draft keys are per tenant too: A cannot reply to B's message.
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    let r = messages::store::add_draft(
        &mut tx,
        w.b_ticket,
        w.b_message,
        "draft",
        &serde_json::json!([]),
    )
    .await;
    assert!(matches!(r, Err(StoreError::NotFound("ticket"))), "{r:?}");
}

/// A stored Stripe event and a webhook endpoint of `tenant`, through the stores.
async fn stripe_rows(db: &Db, tenant: &Tenant, event_id: &str) -> Uuid {
    use support_agent::stripe::vault::Sealed;
    use support_agent::stripe::webhooks::store;
    let mut tx = db.begin(tenant).await.expect("begin");
    let sealed = Sealed {
        key_id: "k1".into(),
        nonce: vec![0; 12],
        ciphertext: vec![1; 32],
    };
    let endpoint = format!("we_{}_0123456789abcdef", tenant.id().simple());
    store::put_webhook(&mut tx, &endpoint, &sealed, None)
        .await
        .expect("endpoint");
    let payload = serde_json::json!({"id": event_id});
    let event = store::NewEvent {
        event_id,
        kind: "charge.refunded",
        account_id: None,
        livemode: false,
        created: chrono::Utc::now(),
        payload: &payload,
    };
    let id = store::insert_event(&mut tx, &event)
        .await
        .expect("event")
        .expect("new");
    tx.commit().await.expect("commit");
    id
}

#[tokio::test]
async fn tenant_a_cannot_read_change_delete_insert_or_attach_to_tenant_b_stripe_events() {
    let w = world().await;
    stripe_rows(&w.t.db, &w.a, "evt_A1").await;
    let b_event = stripe_rows(&w.t.db, &w.b, "evt_B1").await;
    assert_walled_off(&w, "stripe_events", "user_id", b_event, "outcome = 'pwned'").await;
    let insert = format!(
        "INSERT INTO stripe_events (user_id, id, event_id, type, event_created, payload) \
         VALUES ('{}', '{}', 'evt_X', 'x', now(), '{{}}')",
        w.b.id(),
        Uuid::now_v7()
    );
    assert_eq!(
        exec_as(&w.t.db, &w.a, insert).await,
        Err(RLS_VIOLATION.into()),
        "stripe_events: insert as B"
    );
    let attach = format!(
        "UPDATE stripe_events SET ticket_id = '{}' WHERE user_id = '{}'",
        w.b_ticket,
        w.a.id()
    );
    assert_eq!(
        exec_as(&w.t.db, &w.a, attach).await,
        Err(FK_VIOLATION.into()),
        "stripe_events: point at B's ticket"
    );
    // The same event id in two tenants is two rows: ids are unique per tenant.
    stripe_rows(&w.t.db, &w.a, "evt_B1").await;
    // Through the store: B's event is "not found" to A.
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    let r = support_agent::stripe::webhooks::store::get_event(&mut tx, b_event).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
}

#[tokio::test]
async fn tenant_a_cannot_read_or_change_tenant_b_webhook_secrets() {
    let w = world().await;
    stripe_rows(&w.t.db, &w.a, "evt_A1").await;
    stripe_rows(&w.t.db, &w.b, "evt_B1").await;
    let (db, a, b) = (&w.t.db, &w.a, &w.b);
    let bid = b.id();
    let n = count_as(db, a, "SELECT count(*) FROM stripe_webhooks".into()).await;
    assert_eq!(n, 1, "A sees its own endpoint only");
    let touch = format!("UPDATE stripe_webhooks SET ciphertext = '\\x00' WHERE user_id = '{bid}'");
    assert_eq!(exec_as(db, a, touch).await, Ok(0));
    let delete = format!("DELETE FROM stripe_webhooks WHERE user_id = '{bid}'");
    assert_eq!(exec_as(db, a, delete).await, Ok(0));
    let steal = format!(
        "UPDATE stripe_webhooks SET user_id = '{bid}' WHERE user_id = '{}'",
        a.id()
    );
    assert_eq!(exec_as(db, a, steal).await, Err(RLS_VIOLATION.into()));
    let mine = count_as(db, b, "SELECT count(*) FROM stripe_webhooks".into()).await;
    assert_eq!(mine, 1, "B's endpoint intact");
}
