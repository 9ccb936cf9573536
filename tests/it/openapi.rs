//! The committed contract, docs/openapi.json, is the one the server serves: a change to the API
//! that forgets the file fails here. `SUPPORT_AGENT_WRITE_OPENAPI=1 cargo nextest run openapi`
//! rewrites it.

use crate::common::TestDb;
use crate::mcp::support::Server;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");

#[test]
fn the_committed_contract_is_the_generated_one() {
    let generated =
        serde_json::to_string_pretty(&support_agent::http::contract()).expect("json") + "\n";
    if std::env::var("SUPPORT_AGENT_WRITE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(PATH, &generated).expect("write docs/openapi.json");
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the API: run SUPPORT_AGENT_WRITE_OPENAPI=1 cargo nextest run openapi"
    );
}

#[tokio::test]
async fn the_contract_is_served_without_a_token() {
    let t = TestDb::new().await;
    let server = Server::spawn(&t.db).await;
    let res = server
        .client
        .get(server.at("/api/v1/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let served: serde_json::Value = res.json().await.expect("json");
    assert_eq!(served, support_agent::http::contract());
    assert_eq!(served["openapi"], "3.1.0");
    let paths = served["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/customers",
        "/api/v1/tickets/{id}",
        "/api/v1/auth/login",
        "/api/v1/knowledge/documents",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
}
