//! Stripe webhooks (issue 18) through the real HTTP server: `Stripe-Signature` verified (a valid
//! one, a wrong secret, a stale timestamp, one byte changed), each event stored once (a replay
//! is acknowledged and has one effect), handled on the job queue (a dispute opens exactly one
//! urgent ticket; a failed invoice payment of a Connect tenant opens a ticket; a refund notes the
//! open ticket), and an event for an account no tenant has acknowledged without a ticket.

use std::time::Duration;

use serde_json::{Value, json};
use support_agent::config::Secret;
use support_agent::stripe::StripeSettings;
use support_agent::stripe::webhooks::{self, signature};
use support_agent::tickets::{self, Priority, TicketFilter};
use support_agent::worker::{Worker, WorkerOptions};
use support_agent::{Db, Tenant};

use super::fake::FakeStripe;
use super::{ACCOUNT_B, World, account_a, account_b, data, settings};
use crate::mcp::support::Server;

/// The platform's Connect secrets: the one being retired and the current one.
const CONNECT_OLD: &str = "whsec_connectOld0123456789abcdef";
const CONNECT_NEW: &str = "whsec_connectNew0123456789abcdef";
/// Tenant A's endpoint secret.
const SECRET_A: &str = "whsec_tenantA0123456789abcdefABCD";

fn webhook_settings(base: &str) -> StripeSettings {
    let mut s = settings(base);
    s.stripe_connect_webhook_secrets = Some(Secret::new(format!("{CONNECT_OLD},{CONNECT_NEW}")));
    s
}

struct Hooks {
    w: World,
    server: Server,
    /// Tenant A's endpoint URL.
    a_url: String,
    connect_url: String,
}

async fn hooks() -> Hooks {
    let fake = FakeStripe::start(vec![account_a(), account_b()]);
    let w = World::with(fake, webhook_settings).await;
    let server = Server::spawn_with(w.ctx()).await;
    let base = format!("http://{}", server.addr);
    let set = webhooks::set_secret(&w.t.db, &w.stripe, &w.a, &Secret::new(SECRET_A), &base)
        .await
        .expect("A's endpoint");
    assert!(
        set.endpoint_url
            .starts_with(&format!("{base}/webhooks/stripe/we_"))
    );
    Hooks {
        a_url: set.endpoint_url,
        connect_url: format!("{base}/webhooks/stripe"),
        w,
        server,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An event as Stripe sends it, with `object` as its data.
fn event(id: &str, kind: &str, account: Option<&str>, object: Value) -> Vec<u8> {
    let mut e = data::fixture("event");
    e["id"] = json!(id);
    e["type"] = json!(kind);
    e["created"] = json!(now());
    e["data"] = json!({"object": object});
    if let Some(a) = account {
        e["account"] = json!(a);
    }
    serde_json::to_vec(&e).expect("json")
}

fn dispute_event(id: &str) -> Vec<u8> {
    let mut d = data::fixture("dispute");
    d["id"] = json!("dp_Aada021");
    d["charge"] = json!("ch_Aada021");
    d["amount"] = json!(1021);
    d["currency"] = json!("usd");
    d["reason"] = json!("product_not_received");
    d["evidence_details"]["due_by"] = json!(1_798_675_200);
    event(id, "charge.dispute.created", None, d)
}

async fn post(h: &Hooks, url: &str, body: &[u8], header: Option<String>) -> (u16, Value) {
    let mut req = h
        .server
        .client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = header {
        req = req.header("Stripe-Signature", sig);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn signed(secrets: &[&str], t: i64, body: &[u8]) -> Option<String> {
    Some(signature::header_value(secrets, t, body))
}

async fn count(db: &Db, tenant: &Tenant, sql: &str) -> i64 {
    let mut tx = db.begin(tenant).await.expect("begin");
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(tx.conn())
        .await
        .expect("count");
    tx.commit().await.expect("commit");
    n
}

/// Runs every due stripe_event job.
async fn handle_events(w: &World) {
    let handler = webhooks::handle::StripeEventHandler::new(w.ctx());
    let opts = WorkerOptions {
        worker_id: "webhook-test".into(),
        poll_interval: Duration::from_millis(50),
        ..WorkerOptions::default()
    };
    let summary = Worker::new(w.t.db.clone(), handler, opts)
        .run_until_empty()
        .await
        .expect("worker");
    assert_eq!(summary.dead + summary.retrying, 0, "{summary:?}");
}

async fn tickets_of(w: &World, tenant: &Tenant, customer: uuid::Uuid) -> Vec<tickets::Ticket> {
    let mut tx = w.t.db.begin(tenant).await.expect("begin");
    let filter = TicketFilter {
        customer_id: Some(customer),
        ..Default::default()
    };
    let page = tickets::store::list(&mut tx, &filter, 100, None)
        .await
        .expect("tickets");
    tx.commit().await.expect("commit");
    page.items
}

#[tokio::test]
async fn only_a_valid_recent_signature_of_the_unchanged_body_is_accepted() {
    let h = hooks().await;
    let body = dispute_event("evt_sig1");
    let t = now();
    let cases: [(&str, Option<String>, &[u8]); 5] = [
        ("no signature", None, &body),
        (
            "wrong secret",
            signed(&["whsec_wrong0123456789abcdef"], t, &body),
            &body,
        ),
        // Ten seconds past the five-minute tolerance, so that the requests sent before these
        // cannot bring them back inside it; the exact boundary is the unit tests' of
        // `stripe::webhooks::signature`.
        ("stale", signed(&[SECRET_A], t - 310, &body), &body),
        (
            "from the future",
            signed(&[SECRET_A], t + 310, &body),
            &body,
        ),
        (
            "Connect secret on A's endpoint",
            signed(&[CONNECT_NEW], t, &body),
            &body,
        ),
    ];
    for (what, header, body) in cases {
        let (status, problem) = post(&h, &h.a_url, body, header).await;
        assert_eq!(status, 400, "{what}: {problem}");
    }
    let mut changed = body.clone();
    let at = changed.len() / 2;
    changed[at] = if changed[at] == b'1' { b'2' } else { b'1' };
    let (status, _) = post(&h, &h.a_url, &changed, signed(&[SECRET_A], t, &body)).await;
    assert_eq!(status, 400, "one byte changed");
    let mut unknown = h.a_url.clone();
    let last = unknown.pop();
    unknown.push(if last == Some('0') { '1' } else { '0' });
    let (status, _) = post(&h, &unknown, &body, signed(&[SECRET_A], t, &body)).await;
    assert_eq!(status, 400, "an endpoint that does not exist");
    assert_eq!(
        count(&h.w.t.db, &h.w.a, "SELECT count(*) FROM stripe_events").await,
        0
    );

    let (status, receipt) = post(&h, &h.a_url, &body, signed(&[SECRET_A], t - 299, &body)).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt, json!({"received": true, "duplicate": false}));
    // Both Connect secrets are accepted during a rotation, on the Connect endpoint.
    for (n, secret) in [CONNECT_OLD, CONNECT_NEW].into_iter().enumerate() {
        let b = event(
            &format!("evt_conn{n}"),
            "customer.created",
            Some(ACCOUNT_B),
            json!({}),
        );
        let (status, r) = post(&h, &h.connect_url, &b, signed(&[secret], t, &b)).await;
        assert_eq!((status, &r["duplicate"]), (200, &json!(false)), "{r}");
    }
    assert_eq!(
        count(&h.w.t.db, &h.w.b, "SELECT count(*) FROM stripe_events").await,
        2
    );
}

#[tokio::test]
async fn a_dispute_opens_exactly_one_urgent_ticket_however_often_it_arrives() {
    let h = hooks().await;
    let body = dispute_event("evt_dispute1");
    for _ in 0..3 {
        let (status, _) = post(&h, &h.a_url, &body, signed(&[SECRET_A], now(), &body)).await;
        assert_eq!(status, 200);
    }
    let (db, a) = (&h.w.t.db, &h.w.a);
    assert_eq!(count(db, a, "SELECT count(*) FROM stripe_events").await, 1);
    assert_eq!(
        count(
            db,
            a,
            "SELECT count(*) FROM jobs WHERE kind = 'stripe_event'"
        )
        .await,
        1
    );
    handle_events(&h.w).await;
    // A retried job (at-least-once delivery) changes nothing either.
    let job: uuid::Uuid = {
        let mut tx = db.begin(a).await.expect("begin");
        let id = sqlx::query_scalar("SELECT id FROM jobs WHERE kind = 'stripe_event'")
            .fetch_one(tx.conn())
            .await
            .expect("job");
        tx.commit().await.expect("commit");
        id
    };
    support_agent::jobs::store::retry(&h.w.t.owner, job)
        .await
        .expect("queued again");
    handle_events(&h.w).await;

    let tickets = tickets_of(&h.w, a, h.w.ada.id).await;
    assert_eq!(tickets.len(), 1, "exactly one ticket");
    let t = &tickets[0];
    assert_eq!(t.priority, Priority::Urgent);
    assert!(t.subject.contains("Dispute"), "{}", t.subject);
    assert!(
        t.description.contains("product_not_received") && t.description.contains("2026-12-31"),
        "reason and evidence due date: {}",
        t.description
    );
    // The charge's customer came from A's own account, with A's key.
    let asked = h.w.fake.seen();
    let charge = asked
        .iter()
        .find(|s| s.path == "/v1/charges/ch_Aada021")
        .expect("the disputed charge was read");
    assert_eq!(
        charge.authorization.as_deref(),
        Some(format!("Bearer {}", super::KEY_A).as_str())
    );
    let outcome: String = {
        let mut tx = db.begin(a).await.expect("begin");
        let o = sqlx::query_scalar("SELECT outcome FROM stripe_events")
            .fetch_one(tx.conn())
            .await
            .expect("outcome");
        tx.commit().await.expect("commit");
        o
    };
    assert_eq!(outcome, "opened a urgent ticket");

    // A second dispute event while that ticket is open: a note on it, no new ticket.
    let second = dispute_event("evt_dispute2");
    let (status, _) = post(&h, &h.a_url, &second, signed(&[SECRET_A], now(), &second)).await;
    assert_eq!(status, 200);
    handle_events(&h.w).await;
    assert_eq!(tickets_of(&h.w, a, h.w.ada.id).await.len(), 1);
    let notes = count(
        db,
        a,
        &format!(
            "SELECT count(*) FROM messages WHERE ticket_id = '{}' AND sender_type = 'note'",
            t.id
        ),
    )
    .await;
    assert_eq!(notes, 1);
}

#[tokio::test]
async fn an_event_for_an_account_no_tenant_has_is_acknowledged_and_opens_nothing() {
    let h = hooks().await;
    let body = event(
        "evt_stranger",
        "charge.dispute.created",
        Some("acct_1NobodysAccount"),
        json!({"id": "dp_x", "charge": "ch_x"}),
    );
    let (status, receipt) = post(
        &h,
        &h.connect_url,
        &body,
        signed(&[CONNECT_NEW], now(), &body),
    )
    .await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["ignored"], "no tenant has this account");
    assert_eq!(h.w.stripe.unknown_account_events(), 1, "counted");
    for tenant in [&h.w.a, &h.w.b] {
        assert_eq!(
            count(&h.w.t.db, tenant, "SELECT count(*) FROM stripe_events").await,
            0
        );
        assert_eq!(
            count(&h.w.t.db, tenant, "SELECT count(*) FROM tickets").await,
            0
        );
    }
    // Unsigned, it is refused like any other.
    let (status, _) = post(&h, &h.connect_url, &body, None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_connect_tenants_failed_invoice_opens_a_ticket_and_a_refund_notes_it() {
    let h = hooks().await;
    let mut invoice = data::invoice(
        "in_Bbea001",
        "cus_Bbea",
        1,
        "BEA-0002",
        5000,
        "open",
        data::Billed {
            subscription: Some("sub_Bbea000"),
            charge: None,
        },
    );
    invoice["charge"] = json!("ch_Bbea002");
    let body = event(
        "evt_fail1",
        "invoice.payment_failed",
        Some(ACCOUNT_B),
        invoice,
    );
    let (status, _) = post(
        &h,
        &h.connect_url,
        &body,
        signed(&[CONNECT_NEW], now(), &body),
    )
    .await;
    assert_eq!(status, 200);
    handle_events(&h.w).await;
    let tickets = tickets_of(&h.w, &h.w.b, h.w.bea.id).await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].priority, Priority::High);
    assert!(
        tickets[0].subject.contains("BEA-0002"),
        "{}",
        tickets[0].subject
    );
    let text = &tickets[0].description;
    assert!(
        text.contains("$50.00 due") && text.contains("attempt 2") && text.contains("ch_Bbea002"),
        "{text}"
    );
    // Nothing of B's reached A.
    assert_eq!(
        count(&h.w.t.db, &h.w.a, "SELECT count(*) FROM stripe_events").await,
        0
    );

    let mut charge = data::charge(
        "ch_Bbea000",
        "cus_Bbea",
        0,
        5000,
        "eur",
        data::ChargeKind::default(),
    );
    charge["refunded"] = json!(true);
    charge["amount_refunded"] = json!(5000);
    let body = event("evt_refund1", "charge.refunded", Some(ACCOUNT_B), charge);
    let (status, _) = post(
        &h,
        &h.connect_url,
        &body,
        signed(&[CONNECT_NEW], now(), &body),
    )
    .await;
    assert_eq!(status, 200);
    let unknown = event("evt_other1", "product.updated", Some(ACCOUNT_B), json!({}));
    let (status, _) = post(
        &h,
        &h.connect_url,
        &unknown,
        signed(&[CONNECT_NEW], now(), &unknown),
    )
    .await;
    assert_eq!(status, 200, "unknown types are stored and acknowledged");
    handle_events(&h.w).await;
    let b = &h.w.b;
    let notes = count(
        &h.w.t.db,
        b,
        "SELECT count(*) FROM messages WHERE sender_type = 'note' AND content LIKE '%refunded%'",
    )
    .await;
    assert_eq!(notes, 1);
    assert_eq!(
        count(&h.w.t.db, b, "SELECT count(*) FROM stripe_events").await,
        3
    );
    assert_eq!(
        count(
            &h.w.t.db,
            b,
            "SELECT count(*) FROM stripe_events WHERE handled_at IS NULL"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_new_secret_keeps_the_endpoint_and_the_old_secret_for_a_day() {
    let h = hooks().await;
    let base = format!("http://{}", h.server.addr);
    let next = "whsec_tenantAnext0123456789abcdef";
    let set = webhooks::set_secret(&h.w.t.db, &h.w.stripe, &h.w.a, &Secret::new(next), &base)
        .await
        .expect("rotate");
    assert_eq!(set.endpoint_url, h.a_url, "the endpoint stays");
    assert!(set.previous_secret_valid_until.is_some());
    for (n, secret) in [SECRET_A, next].into_iter().enumerate() {
        let b = event(&format!("evt_rot{n}"), "customer.updated", None, json!({}));
        let (status, _) = post(&h, &h.a_url, &b, signed(&[secret], now(), &b)).await;
        assert_eq!(status, 200, "{secret}");
    }
    let connect =
        webhooks::set_secret(&h.w.t.db, &h.w.stripe, &h.w.b, &Secret::new(next), &base).await;
    assert!(
        connect.is_err(),
        "a Connect tenant's events come to the platform endpoint"
    );
    let status = webhooks::status(&h.w.t.db, &h.w.a, false, false, &base)
        .await
        .expect("status");
    assert!(status.configured && status.last_event_at.is_some());
    assert_eq!(status.endpoint_url.as_deref(), Some(h.a_url.as_str()));
}

#[tokio::test]
async fn the_connect_tenant_lookup_cannot_be_hijacked_by_a_temporary_table() {
    use sqlx::Connection;
    let h = hooks().await;
    let t = &h.w.t;
    let db_name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&t.owner)
        .await
        .expect("name");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "GRANT TEMPORARY ON DATABASE {db_name} TO support_agent_app"
    )))
    .execute(&t.owner)
    .await
    .expect("grant");
    let mut conn = sqlx::PgConnection::connect(&t.app_url)
        .await
        .expect("service role");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TEMP TABLE stripe_accounts (user_id uuid, mode text, account_id text); \
         INSERT INTO pg_temp.stripe_accounts VALUES \
           ('{}', 'connect', '{ACCOUNT_B}'), ('{}', 'connect', 'acct_1Forged');",
        h.w.a.id(),
        h.w.a.id()
    )))
    .execute(&mut conn)
    .await
    .expect("the attacker's temporary table");
    let found: Option<uuid::Uuid> = sqlx::query_scalar("SELECT stripe_tenant_by_account($1)")
        .bind(ACCOUNT_B)
        .fetch_one(&mut conn)
        .await
        .expect("lookup");
    assert_eq!(found, Some(h.w.b.id()), "the real row, B's");
    let forged: Option<uuid::Uuid> = sqlx::query_scalar("SELECT stripe_tenant_by_account($1)")
        .bind("acct_1Forged")
        .fetch_one(&mut conn)
        .await
        .expect("lookup");
    assert_eq!(forged, None);
}

#[tokio::test]
async fn secrets_rekey_reseals_a_webhook_secret_that_still_verifies() {
    use support_agent::stripe::Stripe;
    let h = hooks().await;
    let mut s = webhook_settings(&h.w.fake.base);
    s.secrets_key = Some(Secret::new(super::OTHER_MASTER_KEY));
    s.secrets_key_previous = Some(Secret::new(super::MASTER_KEY));
    let rotated = Stripe::from_settings(&s).expect("rotated client");
    let n = webhooks::reseal(&h.w.t.db, rotated.vault(), &h.w.a)
        .await
        .expect("reseal");
    assert_eq!(n, 1);
    let again = webhooks::reseal(&h.w.t.db, rotated.vault(), &h.w.a)
        .await
        .expect("reseal again");
    assert_eq!(again, 0, "nothing left under the old key");
    let server =
        Server::spawn_with(support_agent::tools::Ctx::new(h.w.t.db.clone()).with_stripe(rotated))
            .await;
    let url = h.a_url.replace(
        &format!("http://{}", h.server.addr),
        &format!("http://{}", server.addr),
    );
    let body = event("evt_rekeyed", "customer.updated", None, json!({}));
    let res = server
        .client
        .post(&url)
        .header(
            "Stripe-Signature",
            signature::header_value(&[SECRET_A], now(), &body),
        )
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_failed_payment_of_a_customer_the_desk_does_not_know_opens_a_ticket_for_them() {
    let h = hooks().await;
    let invoice = data::invoice(
        "in_Abob1",
        "cus_Abob1",
        1,
        "BOB-0001",
        1200,
        "open",
        data::Billed::default(),
    );
    let body = event("evt_bob1", "invoice.payment_failed", None, invoice);
    let (status, _) = post(&h, &h.a_url, &body, signed(&[SECRET_A], now(), &body)).await;
    assert_eq!(status, 200);
    handle_events(&h.w).await;
    let mut tx = h.w.t.db.begin(&h.w.a).await.expect("begin");
    let bob = support_agent::customers::store::find_by_stripe_id(&mut tx, "cus_Abob1")
        .await
        .expect("lookup")
        .expect("Bob, from Stripe's record, linked");
    tx.commit().await.expect("commit");
    assert_eq!(
        (bob.email.as_str(), bob.name.as_str()),
        ("bob@example.com", "Bob One")
    );
    let tickets = tickets_of(&h.w, &h.w.a, bob.id).await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].priority, Priority::High);
}
