//! Bad input over HTTP: oversize bodies and arguments, wrong types, invalid UUIDs, malformed
//! JSON-RPC. Each gets a clear error, and the server keeps serving.

use serde_json::{Value, json};

use super::support::{Server, assert_tool_error, seed, token_for};
use crate::common::TestDb;

async fn still_serves(server: &Server, token: &str) {
    let result = server
        .call(token, "list_tickets", json!({"limit": 1}))
        .await;
    assert_eq!(result["isError"], json!(false), "{result}");
}

#[tokio::test]
async fn bad_arguments_get_an_is_error_naming_the_field() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let server = Server::spawn(&t.db).await;
    let token = token_for(&a.tenant);
    let id = a.ticket.id;
    let cases = [
        (
            "draft_reply",
            json!({"ticket_id": id, "content": "x".repeat(20_001)}),
            "content",
        ),
        ("draft_reply", json!({"ticket_id": id}), "content"),
        ("list_tickets", json!({"limit": "ten"}), "limit"),
        ("list_tickets", json!({"limit": 1000}), "limit"),
        ("list_tickets", json!({"status": 3}), "status"),
        (
            "get_ticket",
            json!({"ticket_id": "not-a-uuid"}),
            "ticket_id",
        ),
        ("get_ticket", json!({"ticket_id": 42}), "ticket_id"),
        (
            "update_ticket",
            json!({"ticket_id": id, "priority": "whenever"}),
            "priority",
        ),
        (
            "lookup_customer",
            json!({"customer_id": "0190f1f4-zzzz"}),
            "customer_id",
        ),
    ];
    for (tool, args, field) in cases {
        let result = server.call(&token, tool, args).await;
        assert_tool_error(&result, &format!("`{field}`"));
    }
    still_serves(&server, &token).await;
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_the_server_keeps_serving() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let server = Server::spawn(&t.db).await;
    let token = token_for(&a.tenant);

    let huge = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "draft_reply", "arguments": {"content": "x".repeat(100_000)}}});
    let res = server.post_raw(Some(&token), huge.to_string()).await;
    assert_eq!(res.status(), 413, "a body over the limit is refused");
    still_serves(&server, &token).await;

    for body in [
        "{not json",
        "[]",
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"{"hello":"world"}"#,
        "",
    ] {
        let res = server.post_raw(Some(&token), body).await;
        assert!(res.status().is_client_error(), "{body:?}: {}", res.status());
        still_serves(&server, &token).await;
    }

    let (status, body) = server.rpc(&token, "no/such/method", json!({})).await;
    assert!(
        status >= 400 || body["error"]["code"] == json!(-32601),
        "{status} {body}"
    );
    let (_, body) = server
        .rpc(
            &token,
            "tools/call",
            json!({"name": "drop_tables", "arguments": {}}),
        )
        .await;
    assert_eq!(body["error"]["code"], json!(-32602), "unknown tool: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("drop_tables"))
    );
    let (_, body) = server
        .rpc(
            &token,
            "tools/call",
            json!({"name": "get_ticket", "arguments": [1]}),
        )
        .await;
    assert!(
        body["error"].is_object() || body["result"]["isError"] == json!(true),
        "{body}"
    );
    let (_, body) = server
        .rpc(&token, "resources/read", json!({"uri": "ticket://42"}))
        .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("UUID")),
        "{body}"
    );
    still_serves(&server, &token).await;
}

#[tokio::test]
async fn a_protocol_error_is_never_an_infrastructure_leak() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let server = Server::spawn(&t.db).await;
    let token = token_for(&a.tenant);
    let (_, body) = server
        .rpc(&token, "tools/call", json!({"name": "get_ticket"}))
        .await;
    let text = body.to_string();
    assert!(
        !text.contains("postgres") && !text.contains(&t.app_url),
        "{text}"
    );
    let value: Value = body["result"].clone();
    assert_tool_error(&value, "ticket_id");
}
