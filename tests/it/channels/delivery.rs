//! Delivery by SMTP to the loopback server: one mail per approved draft with its Message-ID,
//! threading headers and ticket tag, however often the worker runs; a worker killed mid-send
//! leaves the reply `uncertain` and sends nothing more; a server that is down is retried, then
//! the reply `failed` and the ticket flagged.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support_agent::Tenant;
use support_agent::messages;
use uuid::Uuid;

use super::support::{Desk, SmtpSink, delivery_worker, free_port, header};
use crate::common::TestDb;

const CUSTOMER_MID: &str = "<first-mail.1234@mail.example.com>";

/// A ticket from Ann by the intake, her follow-up mail (with the Message-ID the inbox records),
/// and an ai draft answering it: (ticket id, ticket number, draft id).
async fn ticket_with_draft(t: &TestDb, desk: &Desk) -> (Uuid, i64, Uuid) {
    let auth = format!("Bearer {}", desk.api_key("intake").await);
    let h = [("authorization", auth.as_str())];
    let body = json!({"from": {"email": "ann@example.com", "name": "Ann Lee"},
                      "subject": "Refund for order 42", "text": "I was charged twice."});
    let (status, created) = desk
        .post_raw("/intake/tickets", &h, &body.to_string())
        .await;
    assert_eq!(status, 201, "{created}");
    let ticket: Uuid = created["ticket"]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let number = created["ticket"]["number"].as_i64().expect("number");
    let msg = json!({"from": {"email": "ann@example.com"}, "text": "Any news on this?"});
    let (status, added) = desk
        .post_raw(
            &format!("/intake/tickets/{ticket}/messages"),
            &h,
            &msg.to_string(),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let customer_msg: Uuid = added["message"]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let tenant = Tenant::from_trusted_operator_input(desk.user_id.parse().expect("uuid"));
    let mut tx = t.db.begin(&tenant).await.expect("begin");
    messages::store::set_email_message_id(&mut tx, ticket, customer_msg, CUSTOMER_MID)
        .await
        .expect("message id");
    let draft = messages::store::add_draft(
        &mut tx,
        ticket,
        customer_msg,
        "Hello Ann, the duplicate charge has been refunded.",
        &json!([]),
    )
    .await
    .expect("draft")
    .expect("new draft");
    tx.commit().await.expect("commit");
    (ticket, number, draft.id)
}

async fn approve(desk: &Desk, ticket: Uuid, draft: Uuid) -> Value {
    let a = desk
        .api
        .send(
            Method::POST,
            &format!("/tickets/{ticket}/drafts/{draft}/approve"),
            Some(&desk.token),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.body
}

async fn message_row(
    t: &TestDb,
    id: Uuid,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    sqlx::query_as(
        "SELECT delivery_state, delivery_error, email_message_id, draft_state FROM messages WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&t.owner)
    .await
    .expect("message")
}

async fn needs_human(t: &TestDb, ticket: Uuid) -> bool {
    sqlx::query_scalar("SELECT needs_human FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&t.owner)
        .await
        .expect("ticket")
}

/// Makes every queued job due now (instead of waiting out its backoff).
async fn due_now(t: &TestDb) {
    sqlx::query("UPDATE jobs SET run_at = now() WHERE status = 'queued'")
        .execute(&t.owner)
        .await
        .expect("due");
}

#[tokio::test]
async fn approving_a_draft_sends_exactly_one_threaded_mail_with_its_text_and_ticket_tag() {
    let t = TestDb::new().await;
    let sink = SmtpSink::start().await;
    let desk = Desk::start(&t, true).await;
    let (status, channel) = desk.set_channel(sink.port).await;
    assert_eq!(status, StatusCode::OK, "{channel}");
    let (ticket, number, draft) = ticket_with_draft(&t, &desk).await;
    let approved = approve(&desk, ticket, draft).await;
    assert_eq!(approved["delivery_state"], "queued");
    let worker = delivery_worker(&t, "w1");
    let summary = worker.run_until_empty().await.expect("run");
    assert_eq!(summary.done, 1, "{summary:?}");
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    let (state, error, mid, draft_state) = message_row(&t, draft).await;
    assert_eq!(state.as_deref(), Some("sent"), "{error:?}");
    assert_eq!(draft_state.as_deref(), Some("sent"), "approved → sent");
    let mid = mid.expect("Message-ID recorded");
    assert_eq!(header(mail, "Message-ID").as_deref(), Some(mid.as_str()));
    assert!(mid.ends_with("@acme.test>"), "{mid}");
    assert_eq!(header(mail, "In-Reply-To").as_deref(), Some(CUSTOMER_MID));
    assert!(
        header(mail, "References").is_some_and(|r| r.contains(CUSTOMER_MID)),
        "{mail}"
    );
    let subject = header(mail, "Subject").expect("subject");
    assert!(subject.contains(&format!("[#{number}]")), "{subject}");
    assert!(subject.contains("Refund for order 42"), "{subject}");
    assert!(header(mail, "From").is_some_and(|f| f.contains("support@acme.test")));
    assert!(header(mail, "To").is_some_and(|f| f.contains("ann@example.com")));
    assert_eq!(header(mail, "X-Authenticated").as_deref(), Some("True"));
    assert!(
        mail.contains("Hello Ann, the duplicate charge has been refunded."),
        "{mail}"
    );
    // At-least-once: the worker again, and the job delivered a second time, send nothing more.
    assert_eq!(worker.run_until_empty().await.expect("run").done, 0);
    sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = now() WHERE kind = 'deliver'",
    )
    .execute(&t.owner)
    .await
    .expect("requeue");
    assert_eq!(
        delivery_worker(&t, "w2")
            .run_until_empty()
            .await
            .expect("run")
            .done,
        1
    );
    assert_eq!(sink.mails().len(), 1, "still exactly one mail");
}

#[tokio::test]
async fn a_worker_killed_while_sending_leaves_the_reply_uncertain_and_sends_no_second_mail() {
    let t = TestDb::new().await;
    let sink = SmtpSink::start().await;
    let desk = Desk::start(&t, true).await;
    desk.set_channel(sink.port).await;
    let (ticket, draft) = kill_a_worker_mid_send(&t, &desk, &sink).await;
    sink.set_mode("ok");
    t.expire_leases().await;
    let summary = delivery_worker(&t, "survivor")
        .run_until_empty()
        .await
        .expect("run");
    assert_eq!(summary.done, 1, "{summary:?}");
    let (state, error, _, draft_state) = message_row(&t, draft).await;
    assert_eq!(state.as_deref(), Some("uncertain"));
    assert!(error.is_some_and(|e| e.contains("stopped while sending")));
    assert_eq!(
        draft_state.as_deref(),
        Some("approved"),
        "not known to be sent"
    );
    assert!(needs_human(&t, ticket).await, "the ticket is flagged");
    assert_eq!(sink.mails().len(), 1, "never resent by itself");
    // A person may resend it: the same Message-ID, so the customer's client can tell.
    let a = desk
        .api
        .send(
            Method::POST,
            &format!("/tickets/{ticket}/messages/{draft}/resend"),
            Some(&desk.token),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text);
    delivery_worker(&t, "w3")
        .run_until_empty()
        .await
        .expect("run");
    let mails = sink.mails();
    assert_eq!(mails.len(), 2);
    assert_eq!(
        header(&mails[0], "Message-ID"),
        header(&mails[1], "Message-ID")
    );
    assert_eq!(message_row(&t, draft).await.0.as_deref(), Some("sent"));
}

#[tokio::test]
async fn with_the_smtp_server_down_delivery_retries_then_fails_and_flags_the_ticket() {
    let t = TestDb::new().await;
    let desk = Desk::start(&t, true).await;
    desk.set_channel(free_port()).await;
    let (ticket, _, _) = ticket_with_draft(&t, &desk).await;
    let a = desk
        .api
        .post(
            &format!("/tickets/{ticket}/messages"),
            Some(&desk.token),
            json!({"sender_type": "agent", "content": "We are on it.", "send": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let reply: Uuid = a.body["id"].as_str().expect("id").parse().expect("uuid");
    let worker = delivery_worker(&t, "w1");
    let first = worker.run_until_empty().await.expect("run");
    assert_eq!(first.retrying, 1, "{first:?}");
    let (state, error, _, _) = message_row(&t, reply).await;
    assert_eq!(state.as_deref(), Some("queued"), "back in the queue");
    assert!(error.is_some(), "with the reason");
    assert!(
        !needs_human(&t, ticket).await,
        "not flagged while it retries"
    );
    let mut dead = 0;
    for _ in 0..10 {
        due_now(&t).await;
        dead += worker.run_until_empty().await.expect("run").dead;
    }
    assert_eq!(dead, 1);
    let (attempts, status): (i32, String) =
        sqlx::query_as("SELECT attempts, status FROM jobs WHERE kind = 'deliver'")
            .fetch_one(&t.owner)
            .await
            .expect("job");
    assert_eq!((attempts, status.as_str()), (5, "dead"));
    let (state, error, _, _) = message_row(&t, reply).await;
    assert_eq!(state.as_deref(), Some("failed"));
    assert!(error.is_some_and(|e| !e.is_empty()));
    assert!(needs_human(&t, ticket).await, "the ticket is flagged");
}

#[tokio::test]
async fn a_permanent_refusal_fails_at_once_with_the_servers_reason() {
    let t = TestDb::new().await;
    let sink = SmtpSink::start().await;
    sink.set_mode("reject");
    let desk = Desk::start(&t, true).await;
    desk.set_channel(sink.port).await;
    let (ticket, _, draft) = ticket_with_draft(&t, &desk).await;
    approve(&desk, ticket, draft).await;
    let summary = delivery_worker(&t, "w1")
        .run_until_empty()
        .await
        .expect("run");
    assert_eq!(summary.dead, 1, "{summary:?}");
    let (state, error, _, _) = message_row(&t, draft).await;
    assert_eq!(state.as_deref(), Some("failed"));
    assert!(
        error.is_some_and(|e| e.contains("550")),
        "the server's reason"
    );
    assert!(needs_human(&t, ticket).await);
    assert!(sink.mails().is_empty());
}

#[tokio::test]
async fn without_a_channel_a_reply_is_no_channel_and_nothing_is_retried() {
    let t = TestDb::new().await;
    let desk = Desk::start(&t, true).await;
    let (ticket, _, draft) = ticket_with_draft(&t, &desk).await;
    approve(&desk, ticket, draft).await;
    let summary = delivery_worker(&t, "w1")
        .run_until_empty()
        .await
        .expect("run");
    assert_eq!((summary.done, summary.retrying), (1, 0), "{summary:?}");
    assert_eq!(
        message_row(&t, draft).await.0.as_deref(),
        Some("no_channel")
    );
    due_now(&t).await;
    assert_eq!(
        delivery_worker(&t, "w2")
            .run_until_empty()
            .await
            .expect("run")
            .done,
        0,
        "nothing left to retry"
    );
}

#[tokio::test]
async fn a_worker_killed_mid_send_on_the_last_attempt_still_leaves_the_reply_uncertain() {
    let t = TestDb::new().await;
    let sink = SmtpSink::start().await;
    let desk = Desk::start(&t, true).await;
    desk.set_channel(sink.port).await;
    let (ticket, draft) = kill_a_worker_mid_send(&t, &desk, &sink).await;
    // That was the job's last attempt: the next claim ends it without running it.
    sqlx::query("UPDATE jobs SET max_attempts = attempts WHERE kind = 'deliver'")
        .execute(&t.owner)
        .await
        .expect("last attempt");
    t.expire_leases().await;
    sink.set_mode("ok");
    let summary = delivery_worker(&t, "survivor")
        .run_until_empty()
        .await
        .expect("run");
    assert_eq!(summary.dead, 1, "{summary:?}");
    assert_eq!(message_row(&t, draft).await.0.as_deref(), Some("uncertain"));
    assert!(needs_human(&t, ticket).await);
    assert_eq!(sink.mails().len(), 1);
}

/// Approves a draft while the SMTP server keeps the mail but never answers DATA, and kills the
/// worker mid-send: the message is left `sending`. Returns the ticket and the draft.
async fn kill_a_worker_mid_send(t: &TestDb, desk: &Desk, sink: &SmtpSink) -> (Uuid, Uuid) {
    let (ticket, _, draft) = ticket_with_draft(t, desk).await;
    sink.set_mode("stall");
    approve(desk, ticket, draft).await;
    let worker = delivery_worker(t, "doomed");
    let running = tokio::spawn(async move { worker.run_until_empty().await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sink.mails().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mail never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(message_row(t, draft).await.0.as_deref(), Some("sending"));
    running.abort();
    let _ = running.await;
    (ticket, draft)
}
