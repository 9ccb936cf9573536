//! Store behaviour within one tenant.

use support_agent::StoreError;
use support_agent::config::Secret;
use support_agent::customers::{self, CustomerUpdate};
use support_agent::messages::{self, DraftState, Sender};
use support_agent::stripe::CustomerId;
use support_agent::tickets::{self, Priority, Status, TicketFilter};
use support_agent::users::{self, NewUser};
use support_agent::validate::Phone;

use crate::common::{TestDb, new_customer, new_tenant, new_ticket};

#[tokio::test]
async fn a_ticket_thread_holds_its_customer_and_messages_in_order() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let c = new_customer(&t.db, &a, "Bob", "bob@example.com").await;
    let ticket = new_ticket(&t.db, &a, c.id, "Refund please").await;
    let mut tx = t.db.begin(&a).await.expect("begin");
    messages::store::add(&mut tx, ticket.id, Sender::Customer, "first")
        .await
        .expect("add");
    let ai = messages::store::add(&mut tx, ticket.id, Sender::Ai, "draft reply")
        .await
        .expect("add");
    assert_eq!(
        ai.draft_state,
        Some(DraftState::Draft),
        "ai messages start as drafts"
    );
    let thread = tickets::store::get_thread(&mut tx, ticket.id)
        .await
        .expect("thread");
    tx.commit().await.expect("commit");
    assert_eq!(thread.customer.id, c.id);
    let bodies: Vec<_> = thread.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(bodies, ["first", "draft reply"]);
    assert_eq!(thread.messages[0].draft_state, None);
}

#[tokio::test]
async fn ticket_pages_are_stable_when_tickets_arrive_between_pages() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let c = new_customer(&t.db, &a, "Bob", "bob@example.com").await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(new_ticket(&t.db, &a, c.id, &format!("ticket {i}")).await.id);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut tx = t.db.begin(&a).await.expect("begin");
        let page = tickets::store::list(&mut tx, &TicketFilter::default(), 3, cursor.as_deref())
            .await
            .expect("list");
        tx.commit().await.expect("commit");
        seen.extend(page.items.iter().map(|t| t.id));
        pages += 1;
        if pages == 1 {
            // A new ticket arrives after the first page: it must not shift the later pages.
            new_ticket(&t.db, &a, c.id, "late arrival").await;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "every ticket exactly once, newest first");
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn tickets_filter_by_status_priority_and_customer() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let bob = new_customer(&t.db, &a, "Bob", "bob@example.com").await;
    let eve = new_customer(&t.db, &a, "Eve", "eve@example.com").await;
    let t1 = new_ticket(&t.db, &a, bob.id, "one").await;
    new_ticket(&t.db, &a, eve.id, "two").await;
    let mut tx = t.db.begin(&a).await.expect("begin");
    tickets::store::update(&mut tx, t1.id, Some(Status::Solved), Some(Priority::Urgent))
        .await
        .expect("update");
    let by = |status, priority, customer_id| TicketFilter {
        status,
        priority,
        customer_id,
        ..Default::default()
    };
    let solved = tickets::store::list(&mut tx, &by(Some(Status::Solved), None, None), 20, None)
        .await
        .expect("list");
    assert_eq!(solved.items.len(), 1);
    let urgent = tickets::store::list(&mut tx, &by(None, Some(Priority::Urgent), None), 20, None)
        .await
        .expect("list");
    assert_eq!(urgent.items[0].id, t1.id);
    let eves = tickets::store::list(&mut tx, &by(None, None, Some(eve.id)), 20, None)
        .await
        .expect("list");
    assert_eq!(eves.items.len(), 1);
    assert_eq!(eves.items[0].customer_id, eve.id);
    let bad = tickets::store::list(&mut tx, &TicketFilter::default(), 20, Some("garbage")).await;
    assert!(matches!(
        bad,
        Err(StoreError::Invalid {
            field: "cursor",
            ..
        })
    ));
}

#[tokio::test]
async fn updating_a_ticket_to_the_values_it_has_changes_nothing() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let c = new_customer(&t.db, &a, "Bob", "bob@example.com").await;
    let ticket = new_ticket(&t.db, &a, c.id, "one").await;
    let mut tx = t.db.begin(&a).await.expect("begin");
    let once = tickets::store::update(&mut tx, ticket.id, Some(Status::Pending), None)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let mut tx = t.db.begin(&a).await.expect("begin");
    let twice = tickets::store::update(&mut tx, ticket.id, Some(Status::Pending), None)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(once.status, Status::Pending);
    assert_eq!(
        once.updated_at, twice.updated_at,
        "a repeated update is a no-op"
    );
}

#[tokio::test]
async fn customers_are_found_by_email_and_searched_by_name_or_email() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let bob = new_customer(&t.db, &a, "Bob Stone", "bob@example.com").await;
    new_customer(&t.db, &a, "Alice 100%_off", "alice@shop.test").await;
    let ticket = new_ticket(&t.db, &a, bob.id, "help").await;
    let mut tx = t.db.begin(&a).await.expect("begin");
    let found = customers::store::find_by_email(&mut tx, " BOB@example.com ")
        .await
        .expect("found");
    assert_eq!(found.id, bob.id);
    let hits = customers::store::search(&mut tx, "stone", 10)
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].open_tickets, 1);
    // LIKE wildcards in the query match literally.
    let hits = customers::store::search(&mut tx, "%_", 10)
        .await
        .expect("search");
    assert_eq!(hits.len(), 1, "only the name with a literal '%_'");
    tickets::store::update(&mut tx, ticket.id, Some(Status::Closed), None)
        .await
        .expect("close");
    let hits = customers::store::search(&mut tx, "bob@example.com", 10)
        .await
        .expect("search");
    assert_eq!(hits[0].open_tickets, 0);
    let updated = customers::store::update(
        &mut tx,
        bob.id,
        &CustomerUpdate {
            phone: Some(Phone::parse("phone", "+1 555 0100").expect("phone")),
            stripe_customer_id: Some(CustomerId::parse("cus_Bob123").expect("id")),
            ..Default::default()
        },
    )
    .await
    .expect("update");
    assert_eq!(updated.phone.as_deref(), Some("+1 555 0100"));
    assert_eq!(updated.stripe_customer_id.as_deref(), Some("cus_Bob123"));
    let (page, next) = customers::store::list(&mut tx, 1, None)
        .await
        .expect("list");
    assert_eq!(page.len(), 1);
    let (rest, last) = customers::store::list(&mut tx, 5, next)
        .await
        .expect("list");
    assert_eq!(rest.len(), 1);
    assert!(last.is_none());
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes_and_verified() {
    let t = TestDb::new().await;
    let password = Secret::new("correct horse battery");
    let (tenant, user) = users::store::create(
        &t.db,
        &NewUser {
            name: "Acme",
            email: "Owner@Acme.test",
            password: Some(&password),
        },
    )
    .await
    .expect("create");
    assert_eq!(user.email, "owner@acme.test");
    let hash = user.password_hash.clone().expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!format!("{user:?}").contains(&hash), "Debug hides the hash");
    assert!(
        !serde_json::to_string(&user)
            .expect("json")
            .contains("argon2")
    );
    let mut tx = t.db.begin(&tenant).await.expect("begin");
    assert!(
        users::store::verify_password(&mut tx, &password)
            .await
            .expect("verify")
    );
    assert!(
        !users::store::verify_password(&mut tx, &Secret::new("wrong password"))
            .await
            .expect("verify")
    );
    let dup = users::store::create(
        &t.db,
        &NewUser {
            name: "Other",
            email: "owner@acme.test",
            password: None,
        },
    )
    .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let short = users::store::create(
        &t.db,
        &NewUser {
            name: "Other",
            email: "other@acme.test",
            password: Some(&Secret::new("short")),
        },
    )
    .await;
    assert!(matches!(
        short,
        Err(StoreError::Invalid {
            field: "password",
            ..
        })
    ));
}

#[tokio::test]
async fn only_one_ai_draft_is_stored_per_triggering_message() {
    let t = TestDb::new().await;
    let a = new_tenant(&t.db, "Acme").await;
    let c = new_customer(&t.db, &a, "Bob", "bob@example.com").await;
    let ticket = new_ticket(&t.db, &a, c.id, "Refund please").await;
    let mut tx = t.db.begin(&a).await.expect("begin");
    let question = messages::store::add(&mut tx, ticket.id, Sender::Customer, "where is it?")
        .await
        .expect("add");
    let cites = serde_json::json!([{"chunk_id": "x"}]);
    let first = messages::store::add_draft(&mut tx, ticket.id, question.id, "one", &cites)
        .await
        .expect("draft");
    let again = messages::store::add_draft(&mut tx, ticket.id, question.id, "two", &cites)
        .await
        .expect("draft");
    let other = messages::store::add_draft(&mut tx, ticket.id, ticket.id, "for the ticket", &cites)
        .await
        .expect("draft");
    tx.commit().await.expect("commit");
    let first = first.expect("the first draft is stored");
    assert_eq!(first.draft_state, Some(DraftState::Draft));
    assert_eq!(first.citations, Some(cites));
    assert!(
        again.is_none(),
        "a second draft for the same message is a no-op"
    );
    assert!(other.is_some(), "the ticket itself is another trigger");
    assert_eq!(t.count("messages").await, 3);
}
