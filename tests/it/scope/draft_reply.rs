//! D2 for a staff member's model: MCP `draft_reply` (Scope::Tenant, no session state) applies the
//! same content checks and refuses with a tool error that says what it refused.

use serde_json::{Value, json};
use support_agent::settings::{self, LinkDomains, SettingsUpdate};
use support_agent::tools::{self, ToolError};

use super::World;
use crate::mcp::support::{Server, assert_tool_error, token_for};

async fn draft(w: &World, ticket: uuid::Uuid, content: &str) -> Result<Value, ToolError> {
    let args = json!({"ticket_id": ticket, "content": content});
    tools::call(&w.ctx(), &w.staff(), "draft_reply", args).await
}

fn refused(r: Result<Value, ToolError>) -> String {
    match r {
        Err(ToolError::InvalidArgument { field, reason }) if field == "content" => reason,
        other => panic!("expected the content refused, got {other:?}"),
    }
}

#[tokio::test]
async fn mcp_draft_reply_refuses_another_customers_details_off_list_links_and_images() {
    let w = World::new().await;
    let to_mallory = w.mallory_ticket.id;
    for (content, reason) in [
        (
            "Ada Lovelace asked the same.",
            "the full name of another customer",
        ),
        (
            "Ask ada@example.com.",
            "the email address of another customer",
        ),
        (
            "Call (555) 010 7777.",
            "the phone number of another customer",
        ),
        (
            "Charge ch_Aada022 was refunded.",
            "the Stripe id ch_Aada022",
        ),
        (
            "Receipt: https://pay.stripe.com/receipts/ch_Aada022",
            "a Stripe receipt or invoice URL",
        ),
        (
            "Log in at https://evil.example/login",
            "a link to evil.example",
        ),
        ("Hi ![x](https://cdn.example/x.png)", "an image"),
        (
            "[Click](javascript:alert(1))",
            "a link that goes to no web address",
        ),
    ] {
        let why = refused(draft(&w, to_mallory, content).await);
        assert!(why.contains(reason), "{content:?}: {why}");
    }
    assert_eq!(w.s.t.count("messages").await, 1, "nothing was stored");

    // Whole words only, and the ticket's own customer is who a reply is about.
    let fine =
        "Dear Mallory Moe (mallory@example.net, +1 555 010 2222): Adalovelace is not a name.";
    draft(&w, to_mallory, fine)
        .await
        .expect("a draft about Mallory");
    // Links to the tenant's own domains pass once listed.
    let link = "See https://help.acme-shop.com/refunds";
    assert!(refused(draft(&w, to_mallory, link).await).contains("acme-shop.com"));
    let changes = SettingsUpdate {
        link_domains: Some(LinkDomains::parse_list("d", "acme-shop.com").expect("domains")),
    };
    settings::update(w.db(), &w.a(), &changes)
        .await
        .expect("settings");
    draft(&w, to_mallory, link).await.expect("an on-list link");
    // Ada's own charge and receipt, in a draft to Ada: Stripe lists them as hers.
    let to_ada = "Charge ch_Aada022 was refunded: https://pay.stripe.com/receipts/ch_Aada022";
    draft(&w, w.ada_ticket.id, to_ada)
        .await
        .expect("Ada's own Stripe facts");
    assert!(
        refused(draft(&w, w.ada_ticket.id, "Mallory Moe did too.").await).contains("full name")
    );

    // Over the real MCP server, the refusal is a tool error that says what was refused.
    let server = Server::spawn_with(w.ctx()).await;
    let result = server
        .call(
            &token_for(&w.a()),
            "draft_reply",
            json!({"ticket_id": to_mallory, "content": "Ask ada@example.com."}),
        )
        .await;
    assert_tool_error(&result, "the email address of another customer");
}
