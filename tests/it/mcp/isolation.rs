//! SECURITY.md M3 over HTTP: a valid token of tenant B never reaches tenant A's customers,
//! tickets or messages, whatever ids it sends, through tools, resources or prompts.

use serde_json::json;

use super::support::{Server, assert_tool_error, seed, text, token_for};
use crate::common::TestDb;

#[tokio::test]
async fn tenant_b_never_sees_tenant_a_whatever_ids_it_sends() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let b = seed(&t.db, "Beta").await;
    let server = Server::spawn(&t.db).await;
    let tb = token_for(&b.tenant);
    let (ticket, customer) = (a.ticket.id, a.customer.id);

    let probes = [
        ("get_ticket", json!({"ticket_id": ticket})),
        ("lookup_customer", json!({"customer_id": customer})),
        ("list_tickets", json!({"customer_id": customer})),
        (
            "draft_reply",
            json!({"ticket_id": ticket, "content": "leak?"}),
        ),
        (
            "update_ticket",
            json!({"ticket_id": ticket, "status": "closed"}),
        ),
    ];
    for (tool, args) in probes {
        let result = server.call(&tb, tool, args).await;
        assert_tool_error(&result, "not found");
        assert!(!text(&result).contains("Acme"), "{tool}: {result}");
    }
    // Arguments naming a tenant are refused, not obeyed.
    let smuggled = json!({"ticket_id": ticket, "user_id": a.tenant.id()});
    assert_tool_error(&server.call(&tb, "get_ticket", smuggled).await, "user_id");

    let found = server
        .call(&tb, "lookup_customer", json!({"query": "acme"}))
        .await;
    assert_eq!(found["structuredContent"]["customers"], json!([]));
    let found = server
        .call(&tb, "lookup_customer", json!({"email": "acme@example.com"}))
        .await;
    assert_eq!(found["structuredContent"]["customers"], json!([]));
    let listed = server.call(&tb, "list_tickets", json!({})).await;
    let ids: Vec<_> = listed["structuredContent"]["tickets"]
        .as_array()
        .expect("tickets")
        .to_vec();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0]["id"], json!(b.ticket.id));

    for uri in [
        format!("ticket://{ticket}"),
        format!("customer://{customer}"),
    ] {
        let (_, body) = server.rpc(&tb, "resources/read", json!({"uri": uri})).await;
        assert!(body["error"].is_object(), "{uri}: {body}");
        assert!(!body.to_string().contains("Acme"), "{uri}: {body}");
    }
    let args = json!({"name": "draft_reply", "arguments": {"ticket_id": ticket.to_string()}});
    let (_, body) = server.rpc(&tb, "prompts/get", args).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not found")),
        "{body}"
    );
    let (_, body) = server.rpc(&tb, "resources/list", json!({})).await;
    assert!(!body.to_string().contains(&ticket.to_string()), "{body}");

    // Nothing of A's changed, and A still sees its own ticket.
    assert_eq!(t.count("messages").await, 0);
    let ta = token_for(&a.tenant);
    let own = server
        .call(&ta, "get_ticket", json!({"ticket_id": ticket}))
        .await;
    assert_eq!(own["structuredContent"]["ticket"]["status"], "open");
}

#[tokio::test]
async fn resources_and_the_prompt_serve_the_tenants_own_ticket() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let server = Server::spawn(&t.db).await;
    let ta = token_for(&a.tenant);
    let uri = format!("ticket://{}", a.ticket.id);
    let (status, body) = server.rpc(&ta, "resources/read", json!({"uri": uri})).await;
    assert_eq!(status, 200, "{body}");
    let contents = &body["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "text/markdown");
    assert!(
        contents["text"]
            .as_str()
            .expect("text")
            .starts_with("# Acme refund")
    );
    let (_, body) = server.rpc(&ta, "resources/templates/list", json!({})).await;
    assert_eq!(
        body["result"]["resourceTemplates"].as_array().map(Vec::len),
        Some(2)
    );
    let args = json!({"name": "draft_reply", "arguments": {"ticket_id": a.ticket.id.to_string()}});
    let (_, body) = server.rpc(&ta, "prompts/get", args).await;
    let prompt = body["result"]["messages"][0]["content"]["text"]
        .as_str()
        .expect("prompt");
    assert!(
        prompt.contains("<ticket_data>") && prompt.contains("Acme refund"),
        "{prompt}"
    );
}
