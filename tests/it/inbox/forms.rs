//! The forms of the knowledge and settings pages, over plain HTTP: upload, search and delete a
//! document; connect and disconnect Stripe (and the customer panel it feeds); set and remove
//! the email channel (and the approve button's promise that follows it); the queue's filters and
//! keyset paging.

use std::sync::Arc;

use reqwest::StatusCode;
use support_agent::audit::Transport;
use support_agent::knowledge::SearchSettings;
use support_agent::stripe::Stripe;
use support_agent::tools::{self, Caller, Ctx, CustomerOverviewArgs};

use super::support::{Browser, none, server, server_ctx, tenant_of, ticket_with_draft};
use crate::channels::support::channels;
use crate::common::TestDb;
use crate::knowledge::support::hash_embedder;
use crate::stripe::fake::FakeStripe;
use crate::stripe::{KEY_A, account_a, fast_policy, linked, settings};

const POLICY: &str = "# Refunds\n\n## How long\n\nA refund reaches the card in five to ten \
                      business days after we send it.\n";

/// The id in the first `action="/knowledge/{id}/delete"` of a page.
fn first_document(page: &str) -> Option<String> {
    let end = page.find("/delete\"")?;
    let start = page[..end].rfind("/knowledge/")? + "/knowledge/".len();
    Some(page[start..end].to_owned())
}

#[tokio::test]
async fn the_knowledge_page_uploads_searches_and_deletes_a_document_of_its_tenant_only() {
    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "kb@acme.test").await;
    let empty = b.get("/knowledge").await;
    assert!(empty.body.contains("No documents yet."), "{}", empty.body);

    // An upload needs the page's CSRF token, in the query for a multipart form.
    let refused = b
        .upload("/knowledge/upload", "refunds.md", POLICY.as_bytes())
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let csrf = b.cookie("sa_csrf").expect("csrf").to_owned();
    let up = b
        .upload(
            &format!("/knowledge/upload?csrf={csrf}"),
            "refunds.md",
            POLICY.as_bytes(),
        )
        .await;
    assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.body);
    assert_eq!(up.location(), "/knowledge?done=uploaded");
    let page = b.get(up.location()).await;
    assert!(page.body.contains("Document uploaded and ingested."));
    assert!(
        page.body.contains("<code>upload:refunds.md</code>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(">Refunds<"), "the title");

    // A file that is not a document is refused with its reason, and nothing is stored.
    let bad = b
        .upload(
            &format!("/knowledge/upload?csrf={csrf}"),
            "logo.png",
            b"\x89PNG\r\n\x1a\n",
        )
        .await;
    assert!(bad.status.is_client_error(), "{} {}", bad.status, bad.body);
    assert_eq!(
        b.get("/knowledge").await.body.matches("/delete\"").count(),
        1
    );

    // The search box shows what search_knowledge returns: the passage, its title and path.
    let found = b.get("/knowledge?q=how+long+does+a+refund+take").await;
    assert!(found.body.contains("five to ten"), "{}", found.body);
    assert!(
        found.body.contains("<p class=\"crumbs\">Refunds"),
        "{}",
        found.body
    );
    assert!(found.body.contains("score "), "{}", found.body);

    // Another tenant neither lists nor finds it.
    let mut other = Browser::new(&s);
    other.sign_up("Globex", "kb@globex.test").await;
    let theirs = other.get("/knowledge?q=how+long+does+a+refund+take").await;
    assert!(theirs.body.contains("No documents yet."));
    assert!(theirs.body.contains("Nothing found."), "{}", theirs.body);
    assert!(!theirs.body.contains("five to ten"));
    let id = first_document(&page.body).expect("a delete form");
    let stolen = other.post(&format!("/knowledge/{id}/delete"), &[]).await;
    assert_eq!(
        b.get("/knowledge").await.body.matches("/delete\"").count(),
        1
    );
    assert_eq!(stolen.status, StatusCode::NOT_FOUND, "{}", stolen.body);

    // Delete: the document and its passages go.
    let gone = b.post(&format!("/knowledge/{id}/delete"), &[]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    let page = b.get(gone.location()).await;
    assert!(page.body.contains("Document deleted."));
    assert!(page.body.contains("No documents yet."));
    let again = b.get("/knowledge?q=how+long+does+a+refund+take").await;
    assert!(again.body.contains("Nothing found."), "{}", again.body);
}

#[tokio::test]
async fn stripe_connects_with_a_restricted_key_shows_its_hint_only_feeds_the_customer_panel_and_disconnects()
 {
    let t = TestDb::new().await;
    let fake = FakeStripe::start(vec![account_a()]);
    let stripe =
        Arc::new(Stripe::with_policy(&settings(&fake.base), fast_policy()).expect("client"));
    let ctx = Ctx::new(t.db.clone())
        .with_knowledge(hash_embedder(), SearchSettings::default())
        .with_stripe(stripe.clone());
    let s = server_ctx(ctx.clone(), |_| {}).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "stripe@acme.test").await;
    let tenant = tenant_of(&t, "stripe@acme.test").await;
    let ada = linked(
        &t.db,
        &tenant,
        "Ada Lovelace",
        "ada@example.com",
        "cus_Aada",
    )
    .await;
    let (ticket, _) = ticket_with_draft(
        &t.db,
        &tenant,
        ("Ada Lovelace", "ada@example.com"),
        "Why was I charged twice?",
        "We are looking into it.",
        none(),
    )
    .await;
    let before = b.get(&format!("/tickets/{ticket}")).await;
    assert!(before.body.contains("Stripe is not connected (Settings)."));
    assert!(b.get("/settings").await.body.contains("Not connected."));

    // A secret key is not a restricted key: refused, nothing stored.
    let wrong = b
        .post(
            "/settings/stripe",
            &[("restricted_key", "sk_test_51NotRestricted000")],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert!(!wrong.body.contains("sk_test_51NotRestricted000"));
    assert!(b.get("/settings").await.body.contains("Not connected."));

    let connected = b
        .post("/settings/stripe", &[("restricted_key", KEY_A)])
        .await;
    assert_eq!(
        connected.status,
        StatusCode::SEE_OTHER,
        "{}",
        connected.body
    );
    let page = b.get(connected.location()).await;
    assert!(page.body.contains("Stripe connected."), "{}", page.body);
    let hint = support_agent::stripe::access::status(&t.db, &tenant)
        .await
        .expect("status")
        .key_hint
        .expect("a hint");
    assert!(page.body.contains(&hint), "the hint {hint}: {}", page.body);
    assert!(!page.body.contains(KEY_A), "the key itself is never shown");
    assert!(
        !page.body.contains("SecretPart"),
        "no part of its secret either"
    );

    // The customer panel: what customer_overview returns, for the ticket's customer.
    let caller = Caller::staff(tenant, Transport::Http);
    let overview = tools::customer_overview(
        &ctx,
        &caller,
        CustomerOverviewArgs {
            customer_id: Some(ada.id),
            email: None,
        },
    )
    .await
    .expect("overview");
    let panel = b.get(&format!("/tickets/{ticket}")).await.body;
    let panel = &panel[panel.find("id=\"customer-h\"").expect("the panel")..];
    assert!(panel.contains("cus_Aada"), "{panel}");
    assert!(!overview.charges.is_empty());
    for ch in &overview.charges {
        assert!(
            panel.contains(&ch.amount_formatted),
            "{} in {panel}",
            ch.amount_formatted
        );
    }
    assert!(
        panel.contains("Why was I charged twice?"),
        "the open ticket"
    );
    for r in &overview.refunds {
        assert!(
            panel.contains(&r.amount_formatted),
            "refund {}",
            r.amount_formatted
        );
    }
    assert!(!overview.open_disputes.is_empty(), "Ada has a dispute");
    for d in &overview.open_disputes {
        assert!(panel.contains(&d.reason), "dispute {}", d.reason);
    }

    let off = b.post("/settings/stripe/disconnect", &[]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    let page = b.get(off.location()).await;
    assert!(page.body.contains("Stripe disconnected."));
    assert!(page.body.contains("Not connected."));
    assert!(!page.body.contains(&hint));
    let after = b.get(&format!("/tickets/{ticket}")).await;
    assert!(after.body.contains("Stripe is not connected (Settings)."));
}

#[tokio::test]
async fn the_email_channel_form_sets_and_removes_the_channel_and_the_approve_button_follows() {
    let t = TestDb::new().await;
    let ctx = Ctx::new(t.db.clone())
        .with_knowledge(hash_embedder(), SearchSettings::default())
        .with_channels(channels(true));
    let s = server_ctx(ctx, |_| {}).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "mail@acme.test").await;
    let tenant = tenant_of(&t, "mail@acme.test").await;
    let (ticket, _) = ticket_with_draft(
        &t.db,
        &tenant,
        ("Maya Lopez", "maya@example.com"),
        "Charged twice",
        "We refunded it.",
        none(),
    )
    .await;
    assert!(
        b.get(&format!("/tickets/{ticket}"))
            .await
            .body
            .contains("Mark approved — no channel")
    );
    let page = b.get("/settings").await;
    assert!(page.body.contains("No email channel"), "{}", page.body);
    assert!(page.body.contains("Save email channel"));

    // Refused: the form comes back with what was typed, the reason, and never the password.
    let password = "mail-pass-Zq81!";
    let refused = b
        .post(
            "/settings/email",
            &[
                ("address", "desk@acme.test"),
                ("smtp_url", "http://127.0.0.1:2525"),
                ("imap_url", ""),
                ("username", "desk@acme.test"),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("Not saved: smtp url"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"desk@acme.test\""), "kept");
    assert!(
        !refused.body.contains(password),
        "the password is not echoed"
    );
    assert!(b.get("/settings").await.body.contains("No email channel"));

    let saved = b
        .post(
            "/settings/email",
            &[
                ("address", "desk@acme.test"),
                ("smtp_url", "smtp://127.0.0.1:2525"),
                ("imap_url", "imap://127.0.0.1:1143"),
                ("username", "desk@acme.test"),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = b.get(saved.location()).await;
    assert!(page.body.contains("Email channel saved"), "{}", page.body);
    assert!(
        page.body
            .contains("Replies are sent from <strong>desk@acme.test</strong>")
    );
    assert!(page.body.contains("imap://127.0.0.1:1143"));
    assert!(page.body.contains("Replace email channel"));
    assert!(!page.body.contains(password), "never shown again");
    let approve = b.get(&format!("/tickets/{ticket}")).await;
    assert!(
        approve.body.contains("Send by email to maya@example.com"),
        "{}",
        approve.body
    );

    // Another tenant's settings know nothing of it.
    let mut other = Browser::new(&s);
    other.sign_up("Globex", "mail@globex.test").await;
    assert!(
        other
            .get("/settings")
            .await
            .body
            .contains("No email channel")
    );

    let removed = b.post("/settings/email/remove", &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let page = b.get(removed.location()).await;
    assert!(page.body.contains("Email channel removed"));
    assert!(page.body.contains("No email channel"));
    assert!(
        b.get(&format!("/tickets/{ticket}"))
            .await
            .body
            .contains("Mark approved — no channel")
    );
}

/// The subjects of a queue page's rows, top to bottom.
fn subjects(page: &str) -> Vec<String> {
    page.split("<td data-label=\"Subject\"><a href=\"/tickets/")
        .skip(1)
        .filter_map(|row| {
            let start = row.find("\">")? + 2;
            let end = row.find("</a>")?;
            Some(row[start..end].to_owned())
        })
        .collect()
}

/// The `href` of the page's "Older tickets" link, unescaped.
fn next_page(page: &str) -> Option<String> {
    let end = page.find("\" rel=\"next\"")?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    Some(page[start..end].replace("&amp;", "&"))
}

#[tokio::test]
async fn the_queue_filters_by_status_priority_category_and_needs_a_person_and_pages_newest_first() {
    use support_agent::tickets::store::{self as tickets, TriageFields};
    use support_agent::tickets::{Priority, Status};

    let t = TestDb::new().await;
    let s = server(&t).await;
    let mut b = Browser::new(&s);
    b.sign_up("Acme", "queue@acme.test").await;
    let tenant = tenant_of(&t, "queue@acme.test").await;
    let maya = crate::common::new_customer(&t.db, &tenant, "Maya", "maya@example.com").await;
    // 30 tickets, oldest first: every third is billing and urgent, every fifth needs a person,
    // every seventh is solved.
    for n in 0..30usize {
        let ticket =
            crate::common::new_ticket(&t.db, &tenant, maya.id, &format!("Question {n:02}")).await;
        let mut tx = t.db.begin(&tenant).await.expect("begin");
        let billing = n.is_multiple_of(3);
        tickets::set_triage(
            &mut tx,
            ticket.id,
            &TriageFields {
                category: if billing { "billing" } else { "shipping" },
                priority: if billing {
                    Priority::Urgent
                } else {
                    Priority::Low
                },
                sentiment: "neutral",
                language: Some("en"),
                confidence: 0.9,
                needs_human: n.is_multiple_of(5),
            },
        )
        .await
        .expect("triage");
        if n.is_multiple_of(7) {
            tickets::update(&mut tx, ticket.id, Some(Status::Solved), None)
                .await
                .expect("solve");
        }
        tx.commit().await.expect("commit");
    }
    let expected = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..30usize)
            .rev()
            .filter(|n| keep(*n))
            .map(|n| format!("Question {n:02}"))
            .collect()
    };

    // Newest first, 25 a page, and the next page by keyset: every ticket once, in order.
    let first = b.get("/tickets").await;
    assert_eq!(first.status, StatusCode::OK);
    let mut seen = subjects(&first.body);
    assert_eq!(seen.len(), 25);
    let next = next_page(&first.body).expect("an Older tickets link");
    let second = b.get(&next).await;
    seen.extend(subjects(&second.body));
    assert_eq!(seen, expected(&|_| true));
    assert!(next_page(&second.body).is_none(), "no third page");

    for (query, keep) in [
        (
            "status=solved",
            &(|n: usize| n.is_multiple_of(7)) as &dyn Fn(usize) -> bool,
        ),
        ("priority=urgent", &|n: usize| n.is_multiple_of(3)),
        ("category=billing", &|n: usize| n.is_multiple_of(3)),
        ("needs_human=yes", &|n: usize| n.is_multiple_of(5)),
        ("needs_human=no&category=shipping", &|n: usize| {
            !n.is_multiple_of(5) && !n.is_multiple_of(3)
        }),
        (
            "status=open&priority=urgent&needs_human=yes",
            &|n: usize| !n.is_multiple_of(7) && n.is_multiple_of(3) && n.is_multiple_of(5),
        ),
    ] {
        let page = b.get(&format!("/tickets?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
        let mut rows = subjects(&page.body);
        if let Some(next) = next_page(&page.body) {
            assert!(
                next.contains(query.split('&').next().expect("a filter")),
                "{next}"
            );
            rows.extend(subjects(&b.get(&next).await.body));
        }
        assert_eq!(rows, expected(keep), "{query}");
    }
    // The category filter offers the tenant's categories; a wrong value is a 400 page.
    assert!(
        first.body.contains("<option value=\"billing\">"),
        "{}",
        first.body
    );
    let bad = b.get("/tickets?status=lost").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("There is no status"), "{}", bad.body);
    let bad = b.get("/tickets?needs_human=maybe").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
