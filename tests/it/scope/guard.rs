//! D2 through the worker: a draft that cites a real passage but links off the tenant's
//! `link_domains`, holds an image, or names another customer is replaced by the holding reply and
//! the ticket is flagged; the same draft without it is stored as written.

use serde_json::json;
use support_agent::messages::Sender;
use support_agent::prompts::replies;
use support_agent::settings::{self, LinkDomains, SettingsUpdate};
use support_agent::worker::Outcome;

use super::{ADA_NAME, World};
use crate::fake_llm::{FakeLlm, Reply, submit, tool_results_of};

/// Runs one triage job whose model searches the knowledge base and then submits `reply` with
/// the passage it found; returns the stored draft and whether the ticket was flagged.
async fn triage(w: &World, reply: &str) -> (String, bool) {
    if w.queued().await == 0 {
        w.mallory_writes("How long does a refund take?").await;
    }
    let search = Reply::Tools(vec![(
        "search_knowledge",
        json!({"query": "refunds card days"}).to_string(),
    )]);
    let llm = FakeLlm::start(vec![search]).await;
    let first = w.worker(&llm);
    // The passage's id is known only once the search ran: script the second turn from it.
    let reply = reply.to_owned();
    llm.otherwise(Reply::Dynamic(crate::fake_llm::Respond(
        std::sync::Arc::new(move |request| {
            let results = tool_results_of(request).join("\n");
            let at = results.find("\"citation_id\": \"").expect("a passage") + 16;
            let id = results[at..at + 36].to_owned();
            Reply::Tools(vec![submit(&reply, &[&id], "refund_timing")])
        }),
    )));
    let (_, outcome) = first.run_one().await.expect("run").expect("job");
    assert_eq!(outcome, Outcome::Done);
    let (ticket, msgs) = w.mallory_thread().await;
    let draft = msgs
        .iter()
        .rev()
        .find(|m| m.sender_type == Sender::Ai)
        .expect("a draft")
        .content
        .clone();
    (draft, ticket.needs_human)
}

#[tokio::test]
async fn a_draft_with_an_off_list_url_an_image_or_another_customers_phone_is_held_and_flagged() {
    let w = World::new().await;
    let domains = LinkDomains::parse_list("link_domains", "acme-shop.com").expect("domains");
    let changes = SettingsUpdate {
        link_domains: Some(domains),
    };
    settings::update(w.db(), &w.a(), &changes)
        .await
        .expect("settings");
    let base = "Refunds reach your card within 5 to 10 business days, Mallory.";
    let held = replies::HOLDING.trim();

    let fine = format!("{base} Details: https://help.acme-shop.com/refunds.");
    assert_eq!(
        triage(&w, &fine).await,
        (fine.clone(), false),
        "an on-list link passes"
    );

    for (what, extra) in [
        (
            "an off-list URL",
            "Reset your card at https://acme-shop.com.evil.example/reset.",
        ),
        (
            "a bare off-list host",
            "Reset your card at www.evil-example.net today.",
        ),
        (
            "an image",
            "![receipt](https://help.acme-shop.com/pixel.png)",
        ),
        (
            "another customer's phone",
            "Ada can help: call 555.010.7777.",
        ),
        (
            "another customer's name",
            "Your neighbour ADA LOVELACE was refunded too.",
        ),
        ("another customer's email", "Write to Ada@Example.com."),
        ("another customer's Stripe id", "Compare with cus_Aada."),
        (
            "a receipt not of this customer",
            "See https://pay.stripe.com/receipts/ch_Aada022",
        ),
        ("a card number", "Your card 4242 4242 4242 4242 is fine."),
    ] {
        let (draft, flagged) = triage(&w, &format!("{base} {extra}")).await;
        assert_eq!(draft, held, "{what}: held");
        assert!(flagged, "{what}: flagged for a person");
    }
    // Naming Mallory herself, her phone and her email is what a reply is for.
    let own = format!("{base} We have +1 555 010 2222 and mallory@example.net on file.");
    assert_eq!(triage(&w, &own).await, (own.clone(), false));
    assert!(!own.contains(ADA_NAME));
}
