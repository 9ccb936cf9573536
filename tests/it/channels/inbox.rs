//! The inbox (G2) against a real IMAP server (dovecot on loopback, TLS with a test CA): new mail
//! becomes a ticket with its customer and triage job, a reply lands on its ticket, the same mail
//! twice adds nothing, machines' mail and our own make no ticket, a ticket tag from a stranger
//! opens a new ticket, tenants never see each other's mail, a worker killed before committing
//! loses and duplicates nothing, malformed mail is recorded with its reason, a refused login is
//! reported and retried, and a mail goes in and its approved answer out, threaded.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support_agent::Tenant;
use support_agent::channels::inbox::Inbox;
use support_agent::channels::{Channels, EmailSettings};
use support_agent::config::Secret;
use support_agent::stripe::Vault;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::imap_server::ImapServer;
use super::support::{Desk, SmtpSink, delivery_worker, free_port, header};
use crate::common::TestDb;
use crate::stripe::MASTER_KEY;

const DESK_A: (&str, &str) = ("desk-a", "imap-pass-A1!");
const DESK_B: (&str, &str) = ("desk-b", "imap-pass-B2!");
/// One login for the SMTP sink and the IMAP server, as a mail provider has.
const ONE_LOGIN: (&str, &str) = (super::support::SMTP_USER, super::support::SMTP_PASSWORD);

/// The channels an inbox worker runs with: the test CA trusted, loopback allowed.
fn inbox_channels(server: &ImapServer, poll: Duration) -> Channels {
    let vault = Vault::new(Some(&Secret::new(MASTER_KEY)), None).expect("vault");
    Channels::new(
        Some(Arc::new(vault)),
        EmailSettings {
            email_allow_private_hosts: true,
            email_ca_file: Some(server.ca_file()),
            email_poll_interval: poll,
            ..EmailSettings::default()
        },
    )
    .expect("channels")
}

fn inbox(t: &TestDb, server: &ImapServer) -> Inbox {
    Inbox::new(
        t.db.clone(),
        inbox_channels(server, Duration::from_secs(1)),
        "inbox-test",
    )
}

fn tenant(desk: &Desk) -> Tenant {
    Tenant::from_trusted_operator_input(desk.user_id.parse().expect("uuid"))
}

/// Sets the desk's channel: `address`, SMTP at `smtp_port`, the IMAP account `login`.
async fn set_channel(desk: &Desk, address: &str, smtp_port: u16, imap: &str, login: (&str, &str)) {
    let a = desk
        .api
        .send(
            Method::PUT,
            "/channels/email",
            Some(&desk.token),
            Some(json!({
                "address": address,
                "smtp_url": format!("smtp://127.0.0.1:{smtp_port}"),
                "imap_url": imap,
                "username": login.0,
                "password": login.1,
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

/// A mail from `from` with these extra header lines.
fn mail(
    from: &str,
    subject: &str,
    message_id: Option<&str>,
    extra: &[&str],
    body: &str,
) -> Vec<u8> {
    let mut m = format!("From: {from}\r\nTo: support@acme.test\r\nSubject: {subject}\r\n");
    if let Some(id) = message_id {
        m.push_str(&format!("Message-ID: {id}\r\n"));
    }
    for h in extra {
        m.push_str(h);
        m.push_str("\r\n");
    }
    m.push_str("Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n");
    m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    m.push_str(body);
    m.push_str("\r\n");
    m.into_bytes()
}

async fn status(desk: &Desk) -> Value {
    let a = desk
        .api
        .send(Method::GET, "/channels/email", Some(&desk.token), None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.body["mailbox"].clone()
}

async fn tickets_of(t: &TestDb, desk: &Desk) -> Vec<(Uuid, i64, String, String)> {
    sqlx::query_as(
        "SELECT t.id, t.number, t.subject, c.email FROM tickets t \
         JOIN customers c ON c.user_id = t.user_id AND c.id = t.customer_id \
         WHERE t.user_id = $1 ORDER BY t.number",
    )
    .bind(tenant(desk).id())
    .fetch_all(&t.owner)
    .await
    .expect("tickets")
}

async fn customer_messages(
    t: &TestDb,
    ticket: Uuid,
) -> Vec<(String, Option<String>, Option<Value>)> {
    sqlx::query_as(
        "SELECT content, email_message_id, attachments FROM messages \
         WHERE ticket_id = $1 AND sender_type = 'customer' ORDER BY created_at, id",
    )
    .bind(ticket)
    .fetch_all(&t.owner)
    .await
    .expect("messages")
}

async fn triage_jobs(t: &TestDb, desk: &Desk) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE user_id = $1 AND kind = 'triage'")
        .bind(tenant(desk).id())
        .fetch_one(&t.owner)
        .await
        .expect("jobs")
}

async fn outcomes(t: &TestDb, desk: &Desk) -> Vec<(String, Option<String>)> {
    sqlx::query_as("SELECT outcome, reason FROM inbound_emails WHERE user_id = $1 ORDER BY uid")
        .bind(tenant(desk).id())
        .fetch_all(&t.owner)
        .await
        .expect("inbound")
}

async fn desk_with_mailbox(t: &TestDb, server: &ImapServer, login: (&str, &str)) -> Desk {
    let desk = Desk::start(t, true).await;
    set_channel(
        &desk,
        "support@acme.test",
        free_port(),
        &server.url(),
        login,
    )
    .await;
    desk
}

#[tokio::test]
async fn a_new_mail_becomes_a_ticket_with_its_customer_and_triage_job_and_a_reply_lands_on_it() {
    let t = TestDb::new().await;
    let server = ImapServer::start(&[DESK_A]).await;
    let desk = desk_with_mailbox(&t, &server, DESK_A).await;
    server.deliver(
        DESK_A.0,
        &mail(
            "Ann Lee <ann@example.com>",
            "Refund for order 42",
            Some("<first.1@mail.example.com>"),
            &[],
            "I was charged twice for order 42.",
        ),
    );
    let inbox = inbox(&t, &server);
    let pass = inbox
        .poll_once(&tenant(&desk))
        .await
        .expect("poll")
        .expect("a mailbox");
    assert_eq!((pass.seen, pass.stored), (1, 1), "{pass:?}");
    let tickets = tickets_of(&t, &desk).await;
    assert_eq!(tickets.len(), 1);
    let (ticket, number, subject, customer) = tickets[0].clone();
    assert_eq!(
        (subject.as_str(), customer.as_str()),
        ("Refund for order 42", "ann@example.com")
    );
    let (name, description): (String, String) = sqlx::query_as(
        "SELECT c.name, t.description FROM tickets t JOIN customers c \
         ON c.user_id = t.user_id AND c.id = t.customer_id WHERE t.id = $1",
    )
    .bind(ticket)
    .fetch_one(&t.owner)
    .await
    .expect("ticket");
    assert_eq!(
        name, "Ann Lee",
        "the customer is created with the From name"
    );
    assert_eq!(description, "I was charged twice for order 42.");
    assert_eq!(triage_jobs(&t, &desk).await, 1, "the usual triage job");

    // Her reply, by In-Reply-To of the first mail and by the tag in the subject.
    server.deliver(
        DESK_A.0,
        &mail(
            "ann@example.com",
            &format!("Re: Refund for order 42 [#{number}]"),
            Some("<second.2@mail.example.com>"),
            &["In-Reply-To: <first.1@mail.example.com>"],
            "Any news?\r\n\r\nOn Thu, 3 Dec 2026, Ann wrote:\r\n> I was charged twice",
        ),
    );
    inbox.poll_once(&tenant(&desk)).await.expect("poll");
    assert_eq!(tickets_of(&t, &desk).await.len(), 1, "no new ticket");
    let msgs = customer_messages(&t, ticket).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0, "Any news?", "the quoted history is cut");
    assert_eq!(msgs[0].1.as_deref(), Some("<second.2@mail.example.com>"));
    assert_eq!(
        triage_jobs(&t, &desk).await,
        2,
        "the message is triaged too"
    );
    let s = status(&desk).await;
    assert_eq!(
        (
            s["state"].as_str(),
            s["tickets"].as_u64(),
            s["messages"].as_u64()
        ),
        (Some("ok"), Some(1), Some(1)),
        "{s}"
    );
}

#[tokio::test]
async fn the_same_mail_delivered_twice_adds_nothing_and_is_counted_a_duplicate() {
    let t = TestDb::new().await;
    let server = ImapServer::start(&[DESK_A]).await;
    let desk = desk_with_mailbox(&t, &server, DESK_A).await;
    let m = mail(
        "bob@example.com",
        "Where is my parcel",
        Some("<twice@x.example>"),
        &[],
        "Hi",
    );
    server.deliver(DESK_A.0, &m);
    let inbox = inbox(&t, &server);
    inbox.poll_once(&tenant(&desk)).await.expect("poll");
    server.deliver(DESK_A.0, &m);
    let pass = inbox
        .poll_once(&tenant(&desk))
        .await
        .expect("poll")
        .expect("mailbox");
    assert_eq!((pass.seen, pass.duplicates), (1, 1), "{pass:?}");
    // Polling again reads nothing: the position moved past both.
    let pass = inbox
        .poll_once(&tenant(&desk))
        .await
        .expect("poll")
        .expect("mailbox");
    assert_eq!(pass.seen, 0, "{pass:?}");
    assert_eq!(tickets_of(&t, &desk).await.len(), 1);
    assert_eq!(triage_jobs(&t, &desk).await, 1);
    assert_eq!(status(&desk).await["duplicates"], 1);
}

#[tokio::test]
async fn auto_replies_bounces_and_our_own_mail_are_counted_and_make_no_ticket() {
    let t = TestDb::new().await;
    let sink = SmtpSink::start().await;
    let server = ImapServer::start(&[ONE_LOGIN]).await;
    let desk = Desk::start(&t, true).await;
    set_channel(
        &desk,
        "support@acme.test",
        sink.port,
        &server.url(),
        ONE_LOGIN,
    )
    .await;
    // A reply of ours, sent, so that its Message-ID is known.
    server.deliver(
        ONE_LOGIN.0,
        &mail("cat@example.com", "Help", Some("<c1@x>"), &[], "help me"),
    );
    let inbox = inbox(&t, &server);
    inbox.poll_once(&tenant(&desk)).await.expect("poll");
    let ticket = tickets_of(&t, &desk).await[0].0;
    let a = desk
        .api
        .post(
            &format!("/tickets/{ticket}/messages"),
            Some(&desk.token),
            json!({"sender_type": "agent", "content": "On it.", "send": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    delivery_worker(&t, "d1")
        .run_until_empty()
        .await
        .expect("deliver");
    let ours = header(&sink.mails()[0], "Message-ID").expect("our Message-ID");

    for m in [
        mail(
            "cat@example.com",
            "Out of office",
            Some("<ooo@x>"),
            &["Auto-Submitted: auto-replied"],
            "away",
        ),
        mail(
            "cat@example.com",
            "Re: Help",
            Some("<bulk@x>"),
            &["Precedence: bulk"],
            "news",
        ),
        mail(
            "cat@example.com",
            "Autoreply",
            Some("<xa@x>"),
            &["X-Autoreply: yes"],
            "away",
        ),
        mail(
            "MAILER-DAEMON@mx.example.com",
            "Undelivered Mail Returned to Sender",
            Some("<b@mx>"),
            &[],
            "failed",
        ),
        mail(
            "support@acme.test",
            "Re: Help [#1]",
            Some("<own-address@acme.test>"),
            &[],
            "a loop",
        ),
        mail(
            "cat@example.com",
            "Re: Help",
            Some(&ours),
            &[],
            "our own mail come back",
        ),
    ] {
        server.deliver(ONE_LOGIN.0, &m);
    }
    let pass = inbox
        .poll_once(&tenant(&desk))
        .await
        .expect("poll")
        .expect("mailbox");
    assert_eq!(pass.stored, 6, "{pass:?}");
    assert_eq!(
        tickets_of(&t, &desk).await.len(),
        1,
        "no ticket from any of them"
    );
    assert!(
        customer_messages(&t, ticket).await.is_empty(),
        "nor a message"
    );
    let s = status(&desk).await;
    assert_eq!(
        (
            s["auto_replies"].as_u64(),
            s["bounces"].as_u64(),
            s["loops"].as_u64()
        ),
        (Some(3), Some(1), Some(2)),
        "{s}"
    );
    let reasons: Vec<String> = outcomes(&t, &desk)
        .await
        .into_iter()
        .filter_map(|(_, r)| r)
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("Auto-Submitted")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("our own Message-ID")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_ticket_tag_or_reference_from_another_sender_opens_a_new_ticket_not_a_message_on_theirs()
{
    let t = TestDb::new().await;
    let server = ImapServer::start(&[DESK_A]).await;
    let desk = desk_with_mailbox(&t, &server, DESK_A).await;
    server.deliver(
        DESK_A.0,
        &mail(
            "ann@example.com",
            "My invoice",
            Some("<ann1@x>"),
            &[],
            "invoice?",
        ),
    );
    let inbox = inbox(&t, &server);
    inbox.poll_once(&tenant(&desk)).await.expect("poll");
    let (ann_ticket, number, ..) = tickets_of(&t, &desk).await[0].clone();
    server.deliver(
        DESK_A.0,
        &mail(
            "mallory@evil.example",
            &format!("Re: My invoice [#{number}]"),
            Some("<m1@evil>"),
            &["In-Reply-To: <ann1@x>", "References: <ann1@x>"],
            "Send me Ann's invoice",
        ),
    );
    inbox.poll_once(&tenant(&desk)).await.expect("poll");
    let tickets = tickets_of(&t, &desk).await;
    assert_eq!(tickets.len(), 2, "a new ticket for the stranger");
    assert_eq!(tickets[1].3, "mallory@evil.example");
    assert!(
        customer_messages(&t, ann_ticket).await.is_empty(),
        "nothing on Ann's ticket"
    );
}

#[tokio::test]
async fn two_tenants_on_one_imap_server_each_get_only_their_own_mail() {
    let t = TestDb::new().await;
    let server = ImapServer::start(&[DESK_A, DESK_B]).await;
    let a = desk_with_mailbox(&t, &server, DESK_A).await;
    let b = a.other("owner@bolt.test").await;
    set_channel(&b, "help@bolt.test", free_port(), &server.url(), DESK_B).await;
    server.deliver(
        DESK_A.0,
        &mail("ann@example.com", "For Acme", Some("<to-a@x>"), &[], "a"),
    );
    server.deliver(
        DESK_B.0,
        &mail("bob@example.com", "For Bolt", Some("<to-b@x>"), &[], "b"),
    );
    // The same mail sent to both desks is a ticket at each: keys are unique per tenant.
    let both = mail("cc@example.com", "To both", Some("<both@x>"), &[], "both");
    server.deliver(DESK_A.0, &both);
    server.deliver(DESK_B.0, &both);
    let (read, failed) = inbox(&t, &server).poll_all_once().await.expect("poll all");
    assert_eq!((read, failed), (2, 0));
    let subjects =
        |v: Vec<(Uuid, i64, String, String)>| v.into_iter().map(|x| x.2).collect::<Vec<_>>();
    assert_eq!(
        subjects(tickets_of(&t, &a).await),
        vec!["For Acme", "To both"]
    );
    assert_eq!(
        subjects(tickets_of(&t, &b).await),
        vec!["For Bolt", "To both"]
    );
    let cross: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM customers WHERE (user_id = $1 AND email = 'bob@example.com') \
            OR (user_id = $2 AND email = 'ann@example.com')",
    )
    .bind(tenant(&a).id())
    .bind(tenant(&b).id())
    .fetch_one(&t.owner)
    .await
    .expect("customers");
    assert_eq!(cross, 0, "no customer in the other tenant");
}

#[tokio::test]
async fn malformed_mail_is_recorded_with_its_reason_and_polling_goes_on() {
    let t = TestDb::new().await;
    let server = ImapServer::start(&[DESK_A]).await;
    let desk = desk_with_mailbox(&t, &server, DESK_A).await;
    let broken = b"From: dan@example.com\r\nSubject: broken\r\nMessage-ID: <broken@x>\r\n\
        Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n\r\n--never-closed\r\n\
        Content-Type: text/plain\r\n\r\nthe part never ends\r\n"
        .to_vec();
    let charset = b"From: eve@example.com\r\nSubject: charset\r\nMessage-ID: <charset@x>\r\n\
        Content-Type: text/plain; charset=x-klingon\r\n\r\nmy order is late\r\n"
        .to_vec();
    let mut huge = mail("fay@example.com", "huge", Some("<huge@x>"), &[], "");
    huge.extend(std::iter::repeat_n(b'x', 30 * 1024 * 1024));
    let no_from =
        b"To: support@acme.test\r\nSubject: who\r\nMessage-ID: <nofrom@x>\r\n\r\nhello\r\n"
            .to_vec();
    let good = mail(
        "gil@example.com",
        "fine",
        Some("<good@x>"),
        &[],
        "a normal mail",
    );
    for m in [&broken, &charset, &huge, &no_from, &good] {
        server.deliver(DESK_A.0, m);
    }
    let pass = inbox(&t, &server)
        .poll_once(&tenant(&desk))
        .await
        .expect("poll")
        .expect("mailbox");
    assert_eq!((pass.seen, pass.stored), (5, 5), "{pass:?}");
    let o = outcomes(&t, &desk).await;
    assert_eq!(
        o.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        vec!["ticket", "ticket", "rejected", "rejected", "ticket"]
    );
    assert!(
        o[0].1.as_deref().is_some_and(|r| r.contains("broken MIME")),
        "{o:?}"
    );
    assert!(
        o[1].1
            .as_deref()
            .is_some_and(|r| r.contains("unknown charset x-klingon")),
        "{o:?}"
    );
    assert!(
        o[2].1
            .as_deref()
            .is_some_and(|r| r.contains("EMAIL_MAX_MAIL_BYTES")),
        "{o:?}"
    );
    assert!(
        o[3].1.as_deref().is_some_and(|r| r.contains("no From")),
        "{o:?}"
    );
    let subjects: Vec<String> = tickets_of(&t, &desk)
        .await
        .into_iter()
        .map(|x| x.2)
        .collect();
    assert_eq!(subjects, vec!["broken", "charset", "fine"]);
    assert_eq!(status(&desk).await["rejected"], 2);
}

#[tokio::test]
async fn attachments_keep_their_names_types_and_sizes_on_the_message_not_their_contents() {
    let t = TestDb::new().await;
    let server = ImapServer::start(&[DESK_A]).await;
    let desk = desk_with_mailbox(&t, &server, DESK_A).await;
    server.deliver(
        DESK_A.0,
        &mail(
            "ann@example.com",
            "Receipt",
            Some("<r1@x>"),
            &[],
            "see next",
        ),
    );
    let inbox = inbox(&t, &server);
    inbox.poll_once(&tenant(&desk)).await.expect("poll");
    let with_file = b"From: ann@example.com\r\nSubject: Re: Receipt\r\nMessage-ID: <r2@x>\r\n\
        In-Reply-To: <r1@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
        --b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Here is the <b>receipt</b>.</p>\r\n\
        --b\r\nContent-Type: image/png; name=receipt.png\r\nContent-Disposition: attachment; \
        filename=receipt.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n";
    server.deliver(DESK_A.0, with_file);
    inbox.poll_once(&tenant(&desk)).await.expect("poll");
    let ticket = tickets_of(&t, &desk).await[0].0;
    let msgs = customer_messages(&t, ticket).await;
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].0.contains("Here is the") && msgs[0].0.contains("receipt"),
        "HTML read as text: {}",
        msgs[0].0
    );
    assert!(!msgs[0].0.contains("<p>"), "{}", msgs[0].0);
    assert_eq!(
        msgs[0].2,
        Some(json!([{"name": "receipt.png", "content_type": "image/png", "size": 8}]))
    );
    assert!(!msgs[0].0.contains("iVBOR"), "the contents are not stored");
}

#[tokio::test]
async fn a_refused_login_is_reported_with_its_reason_and_time_and_retried_until_fixed() {
    let t = TestDb::new().await;
    let server = ImapServer::start(&[DESK_A]).await;
    let desk = desk_with_mailbox(&t, &server, (DESK_A.0, "wrong-password")).await;
    let stop = CancellationToken::new();
    let watching = {
        let (inbox, stop) = (inbox(&t, &server), stop.clone());
        tokio::spawn(async move { inbox.run(stop).await })
    };
    let mut s = Value::Null;
    for _ in 0..600 {
        s = status(&desk).await;
        if s["failures"].as_u64().unwrap_or(0) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s["state"], "failing", "{s}");
    assert!(s["failures"].as_u64().unwrap_or(0) >= 2, "retried: {s}");
    assert!(
        s["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("login refused")),
        "{s}"
    );
    assert!(s["last_error_at"].is_string(), "{s}");
    assert!(!s.to_string().contains("wrong-password"));
    // The operator fixes the password: the worker notices the changed channel and reads.
    server.deliver(
        DESK_A.0,
        &mail(
            "ann@example.com",
            "after the fix",
            Some("<fix@x>"),
            &[],
            "hi",
        ),
    );
    set_channel(
        &desk,
        "support@acme.test",
        free_port(),
        &server.url(),
        DESK_A,
    )
    .await;
    for _ in 0..600 {
        if !tickets_of(&t, &desk).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(tickets_of(&t, &desk).await.len(), 1);
    assert_eq!(status(&desk).await["state"], "ok");
    stop.cancel();
    watching.await.expect("stopped");
}

#[tokio::test]
async fn with_imap_idle_a_mail_arriving_later_is_read_without_waiting_for_the_poll_interval() {
    let t = TestDb::new().await;
    let server = ImapServer::start(&[DESK_A]).await;
    let desk = desk_with_mailbox(&t, &server, DESK_A).await;
    let stop = CancellationToken::new();
    let watching = {
        let inbox = Inbox::new(
            t.db.clone(),
            inbox_channels(&server, Duration::from_secs(3600)),
            "idle-test",
        );
        let stop = stop.clone();
        tokio::spawn(async move { inbox.run(stop).await })
    };
    for _ in 0..600 {
        if status(&desk).await["state"] == "ok" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status(&desk).await["state"], "ok", "the first pass is done");
    server.deliver(
        DESK_A.0,
        &mail("ann@example.com", "pushed", Some("<idle@x>"), &[], "hi"),
    );
    for _ in 0..600 {
        if !tickets_of(&t, &desk).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        tickets_of(&t, &desk).await.len(),
        1,
        "read while the poll interval is an hour"
    );
    stop.cancel();
    watching.await.expect("stopped");
}

#[tokio::test]
async fn channels_email_test_logs_in_to_the_imaps_server() {
    let t = TestDb::new().await;
    let sink = SmtpSink::start().await;
    let desk = Desk::start(&t, true).await;
    let login = (super::support::SMTP_USER, super::support::SMTP_PASSWORD);
    // One login for both servers, as a mail provider has: the IMAP account gets it too.
    let server = ImapServer::start(&[login]).await;
    set_channel(&desk, "support@acme.test", sink.port, &server.url(), login).await;
    let ca = server.ca_file();
    let env = [
        ("SECRETS_KEY", MASTER_KEY),
        ("EMAIL_ALLOW_PRIVATE_HOSTS", "true"),
        ("EMAIL_CA_FILE", ca.to_str().expect("path")),
    ];
    let r = crate::cli::run_env(
        Some(&t),
        &["channels", "email", "test", "--user", &desk.user_id],
        None,
        &env,
    );
    assert!(r.ok, "{} {}", r.stdout, r.stderr);
    assert_eq!(r.stdout.trim(), "SMTP and IMAP logins succeeded");
    // Without the test CA the certificate is not trusted.
    let r = crate::cli::run_env(
        Some(&t),
        &["channels", "email", "test", "--user", &desk.user_id],
        None,
        &env[..2],
    );
    assert!(!r.ok);
    assert!(r.stderr.contains("IMAP failed: TLS"), "{}", r.stderr);
}

#[tokio::test]
async fn round_trip_a_mail_in_its_triage_draft_approved_and_the_answer_out_threaded_to_it() {
    use crate::fake_llm::{FakeLlm, Reply, submit};
    let t = TestDb::new().await;
    let sink = SmtpSink::start().await;
    let server = ImapServer::start(&[ONE_LOGIN]).await;
    let desk = Desk::start(&t, true).await;
    set_channel(
        &desk,
        "support@acme.test",
        sink.port,
        &server.url(),
        ONE_LOGIN,
    )
    .await;
    server.deliver(
        ONE_LOGIN.0,
        &mail(
            "Ann Lee <ann@example.com>",
            "Refund for order 42",
            Some("<in.1@mail.example.com>"),
            &[],
            "Charged twice.",
        ),
    );
    inbox(&t, &server)
        .poll_once(&tenant(&desk))
        .await
        .expect("poll");
    let (ticket, number, ..) = tickets_of(&t, &desk).await[0].clone();
    let llm = FakeLlm::start(vec![Reply::Tools(vec![submit(
        "Hello Ann, the duplicate charge is refunded.",
        &[],
        "billing",
    )])])
    .await;
    let summary = crate::triage::worker(&t.db, &llm, support_agent::triage::Limits::default())
        .run_until_empty()
        .await
        .expect("triage");
    assert_eq!(summary.done, 1, "{summary:?}");
    let (draft, content): (Uuid, String) = sqlx::query_as(
        "SELECT id, content FROM messages WHERE ticket_id = $1 AND sender_type = 'ai'",
    )
    .bind(ticket)
    .fetch_one(&t.owner)
    .await
    .expect("the triage draft");
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
    delivery_worker(&t, "d1")
        .run_until_empty()
        .await
        .expect("deliver");
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let out = &mails[0];
    assert_eq!(
        header(out, "In-Reply-To").as_deref(),
        Some("<in.1@mail.example.com>"),
        "{out}"
    );
    assert!(header(out, "References").is_some_and(|r| r.contains("<in.1@mail.example.com>")));
    assert!(header(out, "Subject").is_some_and(|s| s.contains(&format!("[#{number}]"))));
    assert!(header(out, "To").is_some_and(|s| s.contains("ann@example.com")));
    let body = out.replace("=\r\n", "").replace("=\n", "");
    let start: String = content.chars().take(30).collect();
    assert!(body.contains(&start), "the draft's text: {out}");
    // Her answer to it comes back onto the same ticket.
    let ours = header(out, "Message-ID").expect("Message-ID");
    server.deliver(
        ONE_LOGIN.0,
        &mail(
            "ann@example.com",
            "Re: Refund for order 42",
            Some("<in.2@mail.example.com>"),
            &[&format!("In-Reply-To: {ours}")],
            "Thank you!",
        ),
    );
    inbox(&t, &server)
        .poll_once(&tenant(&desk))
        .await
        .expect("poll");
    assert_eq!(tickets_of(&t, &desk).await.len(), 1);
    assert_eq!(customer_messages(&t, ticket).await[0].0, "Thank you!");
}

#[tokio::test]
async fn a_worker_killed_after_fetching_and_before_committing_leaves_the_mail_to_arrive_once() {
    let t = TestDb::new().await;
    let server = ImapServer::start(&[DESK_A]).await;
    let desk = desk_with_mailbox(&t, &server, DESK_A).await;
    server.deliver(
        DESK_A.0,
        &mail("ann@example.com", "Crash", Some("<crash@x>"), &[], "hello"),
    );
    // The test holds the tenant's ticket counter: the worker fetches and parses the mail, then
    // its transaction waits at the ticket's insert, before its commit.
    let me = tenant(&desk);
    let mut hold = t.db.begin(&me).await.expect("begin");
    sqlx::query(
        "INSERT INTO ticket_counters (user_id, last_number) VALUES ($1, 0) ON CONFLICT DO NOTHING",
    )
    .bind(me.id())
    .execute(hold.conn())
    .await
    .expect("counter");
    sqlx::query("SELECT last_number FROM ticket_counters WHERE user_id = $1 FOR UPDATE")
        .bind(me.id())
        .execute(hold.conn())
        .await
        .expect("lock");
    let ca = server.ca_file();
    let env = [
        ("SECRETS_KEY", MASTER_KEY),
        ("EMAIL_ALLOW_PRIVATE_HOSTS", "true"),
        ("EMAIL_CA_FILE", ca.to_str().expect("path")),
        ("EMAIL_POLL_INTERVAL", "1s"),
        ("LLM_BASE_URL", "http://127.0.0.1:9/v1"),
        ("LLM_API_KEY", "test-key"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_support-agent"))
        .args(["worker", "--concurrency", "1"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &t.app_url)
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn worker");
    let mut waiting = 0i64;
    for _ in 0..600 {
        waiting = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE a.datname = current_database() AND NOT l.granted",
        )
        .fetch_one(&t.owner)
        .await
        .expect("locks");
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        waiting > 0,
        "the worker has fetched the mail and waits to store it"
    );
    child.kill().expect("kill -9 the worker");
    child.wait().expect("reap");
    hold.rollback().await.expect("release");
    // The dead worker's transaction never committed.
    for _ in 0..100 {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND usename = 'support_agent_app' AND state LIKE 'idle in transaction%'",
        )
        .fetch_one(&t.owner)
        .await
        .expect("activity");
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.count("inbound_emails").await, 0, "nothing was stored");
    assert!(tickets_of(&t, &desk).await.is_empty());
    // After the restart the mail arrives, once.
    let r = crate::cli::run_env(Some(&t), &["worker", "--once"], None, &env);
    assert!(r.ok, "{}", r.stderr);
    let r = crate::cli::run_env(Some(&t), &["worker", "--once"], None, &env);
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(tickets_of(&t, &desk).await.len(), 1);
    assert_eq!(t.count("inbound_emails").await, 1);
    assert_eq!(triage_jobs(&t, &desk).await, 1);
}

#[tokio::test]
async fn the_position_advances_with_each_mail_and_a_renumbered_mailbox_adds_nothing_read_before() {
    use support_agent::channels::inbox::file::{self, Filed, Incoming, Mailbox};
    use support_agent::channels::inbox::{Outcome, store};
    let t = TestDb::new().await;
    let desk = Desk::start(&t, true).await;
    set_channel(
        &desk,
        "support@acme.test",
        free_port(),
        "imaps://127.0.0.1:993",
        DESK_A,
    )
    .await;
    let me = tenant(&desk);
    let position = |uidvalidity: u32| {
        let db = t.db.clone();
        async move {
            let mut tx = db.begin(&me).await.expect("begin");
            let last = store::position(&mut tx, "imaps://127.0.0.1:993 desk-a", uidvalidity)
                .await
                .expect("position");
            tx.commit().await.expect("commit");
            last
        }
    };
    let mailbox = Mailbox {
        address: "support@acme.test".into(),
        max_mail_bytes: 1 << 20,
    };
    let raw = mail("ann@example.com", "Hello", Some("<p1@x>"), &[], "hi");
    let at = |uidvalidity, uid| Incoming {
        uidvalidity,
        uid,
        size: raw.len() as u64,
        raw: &raw,
        whole: true,
    };
    assert_eq!(position(7).await, 0);
    let filed = file::file(&t.db, &me, &mailbox, &at(7, 3))
        .await
        .expect("file");
    assert!(
        matches!(
            filed,
            Filed::Stored {
                outcome: Outcome::Ticket,
                ..
            }
        ),
        "{filed:?}"
    );
    assert_eq!(position(7).await, 3, "advanced with the mail");
    assert_eq!(
        file::file(&t.db, &me, &mailbox, &at(7, 3))
            .await
            .expect("file"),
        Filed::Skipped,
        "a UID at or below the position was filed already"
    );
    // The server renumbered the mailbox: reading starts again, and the mail is known by its key.
    assert_eq!(position(8).await, 0);
    assert_eq!(
        file::file(&t.db, &me, &mailbox, &at(8, 1))
            .await
            .expect("file"),
        Filed::Duplicate
    );
    assert_eq!(position(8).await, 1);
    assert_eq!(tickets_of(&t, &desk).await.len(), 1);
}
