//! The tools that write (`draft_reply`, `update_ticket`), and what every tool's text hides.

use serde_json::json;

use super::support::seed;
use super::tools::{call, invalid_field, not_found};
use crate::common::TestDb;

#[tokio::test]
async fn draft_reply_refuses_credentials_bad_content_and_foreign_tickets() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let b = seed(&t.db, "Beta").await;
    let id = a.ticket.id;
    let key = format!("sk_{}_{}", "live", "4eC39HqLyjWDarjtT1zdp7dc");
    for content in [key.as_str(), "", "   ", &"x".repeat(20_001), "a\0b"] {
        let r = call(
            &t.db,
            &a.tenant,
            "draft_reply",
            json!({"ticket_id": id, "content": content}),
        );
        assert_eq!(invalid_field(r.await), "content");
    }
    let r = call(
        &t.db,
        &b.tenant,
        "draft_reply",
        json!({"ticket_id": id, "content": "hi"}),
    )
    .await;
    assert_eq!(not_found(r), "ticket not found");
    assert_eq!(t.count("messages").await, 0, "nothing was stored");
}

#[tokio::test]
async fn update_ticket_is_idempotent_and_cannot_touch_another_tenant() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let args = json!({"ticket_id": a.ticket.id, "status": "pending", "priority": "urgent"});
    let first = call(&t.db, &a.tenant, "update_ticket", args.clone())
        .await
        .expect("first");
    let again = call(&t.db, &a.tenant, "update_ticket", args)
        .await
        .expect("again");
    assert_eq!(first["ticket"]["status"], "pending");
    assert_eq!(
        first, again,
        "repeating the update changes nothing, updated_at included"
    );
    let none = call(
        &t.db,
        &a.tenant,
        "update_ticket",
        json!({"ticket_id": a.ticket.id}),
    )
    .await;
    assert!(invalid_field(none).contains("status"));
    let b = seed(&t.db, "Beta").await;
    let foreign = json!({"ticket_id": a.ticket.id, "status": "closed"});
    assert_eq!(
        not_found(call(&t.db, &b.tenant, "update_ticket", foreign).await),
        "ticket not found"
    );
    let still = call(
        &t.db,
        &a.tenant,
        "get_ticket",
        json!({"ticket_id": a.ticket.id}),
    )
    .await;
    assert_eq!(still.expect("get")["ticket"]["status"], "pending");
}

#[tokio::test]
async fn tool_text_masks_credentials_a_customer_pasted() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let key = format!("rk_{}_{}", "live", "51Habcdefghijklmnop");
    let mut tx = t.db.begin(&a.tenant).await.expect("begin");
    let sender = support_agent::messages::Sender::Customer;
    support_agent::messages::store::add(&mut tx, a.ticket.id, sender, &format!("key: {key}"))
        .await
        .expect("add");
    tx.commit().await.expect("commit");
    let thread = call(
        &t.db,
        &a.tenant,
        "get_ticket",
        json!({"ticket_id": a.ticket.id}),
    )
    .await;
    let text = thread.expect("get").to_string();
    assert!(
        !text.contains(&key) && text.contains("[redacted]"),
        "{text}"
    );
}
