//! Every tool in process, through the same catalog the MCP server and the LLM loop use.

use serde_json::{Value, json};
use support_agent::audit::Transport;
use support_agent::messages::DraftState;
use support_agent::tools::{self, Caller, Ctx, ToolError};
use support_agent::{Db, Tenant};

use super::support::seed;
use crate::common::{TestDb, new_customer, new_ticket};

pub async fn call(db: &Db, tenant: &Tenant, tool: &str, args: Value) -> Result<Value, ToolError> {
    let ctx = Ctx::new(db.clone());
    tools::call(&ctx, &Caller::staff(*tenant, Transport::Agent), tool, args).await
}

pub fn invalid_field(r: Result<Value, ToolError>) -> String {
    match r {
        Err(ToolError::InvalidArgument { field, .. }) => field,
        other => panic!("expected an invalid argument, got {other:?}"),
    }
}

pub fn not_found(r: Result<Value, ToolError>) -> String {
    match r {
        Err(e @ ToolError::NotFound(_)) => e.to_string(),
        other => panic!("expected not found, got {other:?}"),
    }
}

#[tokio::test]
async fn the_catalog_states_every_annotation_and_names_no_tenant() {
    let names: Vec<_> = tools::catalog().iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "lookup_customer",
            "list_tickets",
            "get_ticket",
            "draft_reply",
            "update_ticket",
            "search_knowledge",
            "fetch_stripe_charges",
            "customer_overview",
            "list_subscriptions",
            "list_invoices",
            "propose_refund",
            "propose_subscription_cancel"
        ]
    );
    for t in tools::catalog() {
        let a = serde_json::to_value(t.annotations).expect("json");
        for hint in [
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        ] {
            assert!(a[hint].is_boolean(), "{} lacks {hint}", t.name);
        }
        assert_eq!(t.input_schema["type"], "object");
        assert_eq!(t.output_schema["type"], "object");
        assert_eq!(t.input_schema["additionalProperties"], false, "{}", t.name);
        let props = t.input_schema["properties"]
            .as_object()
            .expect("properties");
        for (name, prop) in props {
            assert!(
                !name.contains("user") && !name.contains("tenant"),
                "{}: {name}",
                t.name
            );
            assert!(
                prop["description"].is_string(),
                "{}.{name} is undocumented",
                t.name
            );
        }
    }
    let draft = tools::find("draft_reply").expect("draft_reply");
    assert!(!draft.annotations.read_only_hint && !draft.annotations.destructive_hint);
    assert!(
        tools::find("update_ticket")
            .expect("update")
            .annotations
            .idempotent_hint
    );
}

#[tokio::test]
async fn lookup_customer_finds_by_id_email_and_query_with_open_ticket_counts() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let by_id = call(
        &t.db,
        &a.tenant,
        "lookup_customer",
        json!({"customer_id": a.customer.id}),
    )
    .await;
    let c = &by_id.expect("by id")["customers"][0];
    assert_eq!(c["email"], "acme@example.com");
    assert_eq!(c["open_tickets"], 1);
    for key in ["id", "name", "phone", "stripe_customer_id"] {
        assert!(c.get(key).is_some(), "{key} missing");
    }
    assert!(c.get("user_id").is_none(), "the tenant id is not shown");
    let by_email = call(
        &t.db,
        &a.tenant,
        "lookup_customer",
        json!({"email": "ACME@example.com"}),
    )
    .await;
    assert_eq!(
        by_email.expect("email")["customers"][0]["id"],
        json!(a.customer.id)
    );
    let by_query = call(
        &t.db,
        &a.tenant,
        "lookup_customer",
        json!({"query": "acme cust"}),
    )
    .await;
    assert_eq!(
        by_query.expect("query")["customers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let nobody = call(
        &t.db,
        &a.tenant,
        "lookup_customer",
        json!({"email": "x@y.z"}),
    )
    .await;
    assert_eq!(nobody.expect("none")["customers"], json!([]));
}

#[tokio::test]
async fn lookup_customer_refuses_bad_arguments_and_foreign_ids() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let b = seed(&t.db, "Beta").await;
    let r = call(
        &t.db,
        &b.tenant,
        "lookup_customer",
        json!({"customer_id": a.customer.id}),
    )
    .await;
    let unknown = json!({"customer_id": uuid::Uuid::now_v7()});
    assert_eq!(
        not_found(r),
        not_found(call(&t.db, &b.tenant, "lookup_customer", unknown).await)
    );
    let none = call(&t.db, &a.tenant, "lookup_customer", json!({})).await;
    assert!(invalid_field(none).contains("email"));
    let two = json!({"email": "a@b.c", "query": "a"});
    assert!(invalid_field(call(&t.db, &a.tenant, "lookup_customer", two).await).contains("query"));
    let tenant_arg = json!({"query": "a", "user_id": a.tenant.id()});
    assert_eq!(
        invalid_field(call(&t.db, &b.tenant, "lookup_customer", tenant_arg).await),
        "user_id"
    );
    let bad_email = json!({"email": "not an email"});
    assert_eq!(
        invalid_field(call(&t.db, &a.tenant, "lookup_customer", bad_email).await),
        "email"
    );
}

#[tokio::test]
async fn list_tickets_filters_pages_and_checks_its_arguments() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let other = new_customer(&t.db, &a.tenant, "Other", "other@example.com").await;
    for i in 0..4 {
        new_ticket(&t.db, &a.tenant, other.id, &format!("other {i}")).await;
    }
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let args = json!({"customer_id": other.id, "limit": 3, "cursor": cursor});
        let page = call(&t.db, &a.tenant, "list_tickets", args)
            .await
            .expect("page");
        seen.extend(
            page["tickets"]
                .as_array()
                .expect("tickets")
                .iter()
                .map(|t| t["id"].clone()),
        );
        cursor = page["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(seen.len(), 4, "every ticket of the customer exactly once");
    let all = call(&t.db, &a.tenant, "list_tickets", json!({"status": "open"}))
        .await
        .expect("all");
    assert_eq!(all["tickets"].as_array().map(Vec::len), Some(5));
    let urgent = call(
        &t.db,
        &a.tenant,
        "list_tickets",
        json!({"priority": "urgent"}),
    )
    .await;
    assert_eq!(urgent.expect("urgent")["tickets"], json!([]));
    for (args, field) in [
        (json!({"limit": 0}), "limit"),
        (json!({"limit": 101}), "limit"),
        (json!({"limit": "ten"}), "limit"),
        (json!({"status": "lost"}), "status"),
        (json!({"cursor": "garbage"}), "cursor"),
        (json!({"customer_id": "nope"}), "customer_id"),
    ] {
        assert_eq!(
            invalid_field(call(&t.db, &a.tenant, "list_tickets", args).await),
            field
        );
    }
    let b = seed(&t.db, "Beta").await;
    let foreign = call(
        &t.db,
        &b.tenant,
        "list_tickets",
        json!({"customer_id": other.id}),
    )
    .await;
    assert_eq!(not_found(foreign), "customer not found");
}

#[tokio::test]
async fn get_ticket_returns_the_thread_with_drafts_marked() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let id = a.ticket.id;
    let draft = json!({"ticket_id": id, "content": "We have refunded you."});
    let stored = call(&t.db, &a.tenant, "draft_reply", draft)
        .await
        .expect("draft");
    assert_eq!(
        stored["draft"]["sender_type"], "ai",
        "the name used everywhere"
    );
    assert_eq!(stored["draft"]["sender"], "ai", "the documented alias");
    assert_eq!(stored["draft"]["draft_state"], json!(DraftState::Draft));
    let thread = call(&t.db, &a.tenant, "get_ticket", json!({"ticket_id": id}))
        .await
        .expect("get");
    assert_eq!(thread["ticket"]["id"], json!(id));
    assert_eq!(thread["ticket"]["description"], "details");
    assert_eq!(thread["customer"]["id"], json!(a.customer.id));
    assert_eq!(thread["messages"][0]["draft_state"], "draft");
    let b = seed(&t.db, "Beta").await;
    let foreign = call(&t.db, &b.tenant, "get_ticket", json!({"ticket_id": id})).await;
    let unknown = call(
        &t.db,
        &b.tenant,
        "get_ticket",
        json!({"ticket_id": uuid::Uuid::now_v7()}),
    );
    assert_eq!(not_found(foreign), not_found(unknown.await));
    let bad = call(&t.db, &a.tenant, "get_ticket", json!({"ticket_id": "12"})).await;
    assert_eq!(invalid_field(bad), "ticket_id");
}
