//! Every tool call is recorded for its tenant: tool, argument hash, outcome, latency, transport.

use serde_json::json;
use support_agent::audit::{self, Outcome, Transport};
use support_agent::tools;

use super::support::seed;
use crate::common::TestDb;

#[tokio::test]
async fn every_tool_call_is_audited_for_its_own_tenant_only() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let b = seed(&t.db, "Beta").await;
    let ok_args = json!({"ticket_id": a.ticket.id});
    tools::call(
        &t.db,
        &a.tenant,
        Transport::Http,
        "get_ticket",
        ok_args.clone(),
    )
    .await
    .expect("ok");
    let _ = tools::call(
        &t.db,
        &b.tenant,
        Transport::Stdio,
        "get_ticket",
        ok_args.clone(),
    )
    .await;
    let _ = tools::call(
        &t.db,
        &a.tenant,
        Transport::Agent,
        "list_tickets",
        json!({"limit": 0}),
    )
    .await;

    let mut tx = t.db.begin(&a.tenant).await.expect("begin");
    let calls = audit::store::recent(&mut tx, 10).await.expect("recent");
    tx.commit().await.expect("commit");
    assert_eq!(calls.len(), 2, "tenant A sees its own two calls only");
    let (invalid, ok) = (&calls[0], &calls[1]);
    assert_eq!(
        (ok.tool.as_str(), ok.outcome, ok.transport),
        ("get_ticket", Outcome::Ok, Transport::Http)
    );
    assert_eq!(ok.args_sha256, audit::hash_arguments(&ok_args));
    assert!(ok.latency_us > 0);
    assert_eq!(
        (invalid.outcome, invalid.transport),
        (Outcome::Invalid, Transport::Agent)
    );

    let mut tx = t.db.begin(&b.tenant).await.expect("begin");
    let calls = audit::store::recent(&mut tx, 10).await.expect("recent");
    tx.commit().await.expect("commit");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].outcome, calls[0].transport),
        (Outcome::NotFound, Transport::Stdio)
    );
    assert_eq!(t.count("tool_calls").await, 3);
}
