//! The same attack through each tool, called directly with the triage job's caller: another
//! customer of the tenant is "not found", exactly as another tenant's records are, while the
//! tenant's staff keep the tenant-wide view.

use serde_json::{Value, json};
use support_agent::tools::{self, Caller, ToolError};

use super::World;

async fn call(w: &World, caller: &Caller, tool: &str, args: Value) -> Result<Value, ToolError> {
    tools::call(&w.ctx(), caller, tool, args).await
}

/// The error text of a call that must fail.
async fn error(w: &World, caller: &Caller, tool: &str, args: Value) -> String {
    match call(w, caller, tool, args.clone()).await {
        Ok(v) => panic!("{tool} {args} answered: {v}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn each_scoped_tool_answers_for_the_tickets_customer_only() {
    let w = World::new().await;
    let job = w.mallory_job();
    let (ada, bea) = (w.ada.id, w.s.bea.id);

    // By id, Ada looks exactly like tenant B's customer and ticket: absent.
    for (tool, other, foreign) in [
        (
            "lookup_customer",
            json!({"customer_id": ada}),
            json!({"customer_id": bea}),
        ),
        (
            "customer_overview",
            json!({"customer_id": ada}),
            json!({"customer_id": bea}),
        ),
        (
            "fetch_stripe_charges",
            json!({"customer_id": ada}),
            json!({"customer_id": bea}),
        ),
        (
            "list_subscriptions",
            json!({"customer_id": ada}),
            json!({"customer_id": bea}),
        ),
        (
            "list_invoices",
            json!({"customer_id": ada}),
            json!({"customer_id": bea}),
        ),
        (
            "list_tickets",
            json!({"customer_id": ada}),
            json!({"customer_id": bea}),
        ),
        (
            "get_ticket",
            json!({"ticket_id": w.ada_ticket.id}),
            json!({"ticket_id": w.b_ticket.id}),
        ),
        (
            "update_ticket",
            json!({"ticket_id": w.ada_ticket.id, "status": "closed"}),
            json!({"ticket_id": w.b_ticket.id, "status": "closed"}),
        ),
        (
            "draft_reply",
            json!({"ticket_id": w.ada_ticket.id, "content": "Hello"}),
            json!({"ticket_id": w.b_ticket.id, "content": "Hello"}),
        ),
    ] {
        let theirs = error(&w, &job, tool, other).await;
        assert!(theirs.ends_with("not found"), "{tool}: {theirs}");
        assert_eq!(theirs, error(&w, &job, tool, foreign).await, "{tool}");
    }
    // By email and by search, Ada is not there either.
    for (tool, args) in [
        ("customer_overview", json!({"email": w.ada.email})),
        ("fetch_stripe_charges", json!({"email": w.ada.email})),
        ("list_subscriptions", json!({"email": w.ada.email})),
        ("list_invoices", json!({"email": w.ada.email})),
    ] {
        assert_eq!(
            error(&w, &job, tool, args).await,
            "customer not found",
            "{tool}"
        );
    }
    for args in [
        json!({"email": w.ada.email}),
        json!({"query": "Lovelace"}),
        json!({"query": "a"}),
    ] {
        let found = call(&w, &job, "lookup_customer", args.clone())
            .await
            .expect("lookup");
        let ids: Vec<&Value> = found["customers"]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| &c["id"])
            .collect();
        assert!(
            ids.iter().all(|id| **id == json!(w.mallory.id)),
            "{args}: {found}"
        );
    }
    let listed = call(&w, &job, "list_tickets", json!({}))
        .await
        .expect("list");
    let tickets = listed["tickets"].as_array().expect("tickets");
    assert_eq!(tickets.len(), 1, "{listed}");
    assert_eq!(tickets[0]["id"], json!(w.mallory_ticket.id));
    // Her own records answer, and the knowledge base is the tenant's.
    let own = call(
        &w,
        &job,
        "customer_overview",
        json!({"customer_id": w.mallory.id}),
    )
    .await;
    assert_eq!(
        own.expect("own overview")["customer"]["name"],
        "Mallory Moe"
    );
    let kb = call(&w, &job, "search_knowledge", json!({"query": "refunds"})).await;
    assert!(
        kb.expect("search")
            .to_string()
            .contains("5 to 10 business days")
    );
    let own_ticket = call(
        &w,
        &job,
        "get_ticket",
        json!({"ticket_id": w.mallory_ticket.id}),
    )
    .await;
    assert_eq!(
        own_ticket.expect("own ticket")["customer"]["id"],
        json!(w.mallory.id)
    );
    w.assert_nothing_of_ada("the scoped calls", &format!("{listed}"));
    assert!(
        w.s.fake
            .seen()
            .iter()
            .all(|s| s.param("customer") != Some("cus_Aada")),
        "Stripe was never asked about Ada"
    );

    // Nothing was written to Ada's ticket.
    let (ticket, msgs) = crate::triage::thread(w.db(), &w.a(), &w.ada_ticket).await;
    assert_eq!(ticket.status, support_agent::tickets::Status::Open);
    assert_eq!(msgs.len(), 1, "only Ada's own message");

    // Staff (an MCP client, Scope::Tenant) see the whole tenant: the same calls find Ada.
    let staff = w.staff();
    let found = call(&w, &staff, "lookup_customer", json!({"customer_id": ada})).await;
    assert_eq!(
        found.expect("staff lookup")["customers"][0]["name"],
        super::ADA_NAME
    );
    let charges = call(
        &w,
        &staff,
        "fetch_stripe_charges",
        json!({"customer_id": ada}),
    )
    .await;
    assert_eq!(
        charges.expect("staff charges")["charges"][0]["id"],
        "ch_Aada022"
    );
    let listed = call(&w, &staff, "list_tickets", json!({}))
        .await
        .expect("staff list");
    assert_eq!(listed["tickets"].as_array().expect("tickets").len(), 2);
}

/// `draft_reply` is not offered to the loop; were it ever, its refusal would not tell a model
/// working for Mallory whether an address belongs to another customer.
#[tokio::test]
async fn a_scoped_draft_refusal_does_not_tell_who_else_is_a_customer() {
    let w = World::new().await;
    let job = w.mallory_job();
    let refusal = |r: Result<Value, ToolError>| match r {
        Err(ToolError::InvalidArgument { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let to = w.mallory_ticket.id;
    let theirs = json!({"ticket_id": to, "content": format!("Ask {}.", w.ada.email)});
    let link = json!({"ticket_id": to, "content": "See https://evil.example/x"});
    let a = refusal(call(&w, &job, "draft_reply", theirs).await);
    let b = refusal(call(&w, &job, "draft_reply", link).await);
    assert_eq!(a, b, "the same words whatever was refused");
    assert!(!a.contains("another customer"), "{a}");
}
