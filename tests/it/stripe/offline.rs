//! The offline engine (no chat model) with the customer's invoices and subscriptions: a "why
//! was I charged twice?" ticket of a customer with two invoices gets a draft that cites both,
//! with the subscription they bill; a "cancel" ticket gets a draft that says when access ends.

use std::time::Duration;

use support_agent::messages::{self, Message, Sender};
use support_agent::tickets::{self, NewTicket, Ticket};
use support_agent::triage::handler::TriageHandler;
use support_agent::triage::offline::Offline;
use support_agent::triage::{Engine, Limits};
use support_agent::worker::{Worker, WorkerOptions};

use super::fake::FakeStripe;
use super::{ADA_PERIOD_END, World, account_a, account_b, data, linked, settings};
use crate::knowledge::support::hash_embedder;

/// A's account with Tom, who pays for Coffee Club monthly and has exactly two invoices.
fn account_with_tom() -> super::fake::Account {
    let mut a = account_a();
    a.customers
        .push(data::customer("cus_Atom", "tom@example.com", "Tom Two"));
    let kind = data::SubKind {
        nickname: None,
        status: "active",
        cancel_at_period_end: false,
    };
    a.subscriptions.push(data::subscription(
        "sub_Atom000",
        "cus_Atom",
        0,
        "prod_Acoffee",
        1500,
        ADA_PERIOD_END,
        kind,
    ));
    for n in 0..2 {
        a.invoices.push(data::invoice(
            &format!("in_Atom00{n}"),
            "cus_Atom",
            10 + n,
            &format!("TOM-000{}", n + 1),
            1500,
            "paid",
            data::Billed {
                subscription: Some("sub_Atom000"),
                charge: None,
            },
        ));
    }
    a
}

async fn draft_for(subject: &str, text: &str) -> (World, Ticket, Message) {
    let fake = FakeStripe::start(vec![account_with_tom(), account_b()]);
    let w = World::with(fake, settings).await;
    let tom = linked(&w.t.db, &w.a, "Tom Two", "tom@example.com", "cus_Atom").await;
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    let new = NewTicket {
        customer_id: tom.id,
        subject,
        description: Some(text),
        priority: None,
    };
    let ticket = tickets::store::create(&mut tx, &new).await.expect("ticket");
    tx.commit().await.expect("commit");
    let handler = TriageHandler::new(
        w.ctx(),
        Engine::Offline(Offline::new(hash_embedder())),
        Limits::default(),
    );
    let opts = WorkerOptions {
        worker_id: "offline-billing".into(),
        poll_interval: Duration::from_millis(50),
        ..WorkerOptions::default()
    };
    let summary = Worker::new(w.t.db.clone(), handler, opts)
        .run_until_empty()
        .await
        .expect("worker");
    assert_eq!(summary.done, 1, "{summary:?}");
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    let all = messages::store::list_by_ticket(&mut tx, ticket.id)
        .await
        .expect("messages");
    tx.commit().await.expect("commit");
    let draft = all
        .into_iter()
        .find(|m| m.sender_type == Sender::Ai)
        .expect("a draft");
    (w, ticket, draft)
}

fn cited(draft: &Message) -> Vec<(String, String)> {
    draft
        .citations
        .as_ref()
        .and_then(|c| c.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap_or_default().to_owned(),
                c["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn why_was_i_charged_twice_cites_both_invoices_and_their_subscription() {
    let (_w, _ticket, draft) = draft_for(
        "Charged twice?",
        "Why was I charged twice? I see two payments of $15 on my card.",
    )
    .await;
    let text = &draft.content;
    assert!(
        text.contains("invoice TOM-0001") && text.contains("invoice TOM-0002"),
        "both invoices: {text}"
    );
    assert!(
        text.contains("Coffee Club"),
        "the subscription they bill: {text}"
    );
    assert!(text.contains("$15.00"), "{text}");
    let cites = cited(&draft);
    for (kind, id) in [
        ("invoice", "in_Atom000"),
        ("invoice", "in_Atom001"),
        ("subscription", "sub_Atom000"),
    ] {
        assert!(
            cites.contains(&(kind.to_owned(), id.to_owned())),
            "{kind} {id} cited: {cites:?}"
        );
    }
}

#[tokio::test]
async fn a_cancel_ticket_says_when_access_ends() {
    let (_w, _ticket, draft) = draft_for(
        "Cancel",
        "Please cancel my subscription, I am moving abroad.",
    )
    .await;
    let text = &draft.content;
    assert!(
        text.contains("Coffee Club") && text.contains("2026-12-31"),
        "when access ends: {text}"
    );
    assert!(text.contains("access continues until"), "{text}");
    assert!(
        !text.contains("invoice TOM-"),
        "no invoices for a cancellation: {text}"
    );
    assert!(
        cited(&draft).contains(&("subscription".to_owned(), "sub_Atom000".to_owned())),
        "{:?}",
        draft.citations
    );
}
