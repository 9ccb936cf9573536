//! Every tool call is recorded for its tenant: tool, argument hash, outcome, latency, transport.

use serde_json::json;
use support_agent::audit::{self, Outcome, Transport};
use support_agent::tools::{self, Caller, Ctx};

use super::support::seed;
use crate::common::TestDb;

#[tokio::test]
async fn every_tool_call_is_audited_for_its_own_tenant_only() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let b = seed(&t.db, "Beta").await;
    // The queued writer, as the HTTP server uses it: calls of both tenants in one batch.
    let plain = Ctx::new(t.db.clone());
    let ctx = plain.clone().with_audit(plain.audit().batched());
    let ok_args = json!({"ticket_id": a.ticket.id});
    let (http, stdio, agent) = (Transport::Http, Transport::Stdio, Transport::Agent);
    let ok = tools::call(
        &ctx,
        &Caller::staff(a.tenant, http),
        "get_ticket",
        ok_args.clone(),
    )
    .await;
    ok.expect("ok");
    let _ = tools::call(
        &ctx,
        &Caller::staff(b.tenant, stdio),
        "get_ticket",
        ok_args.clone(),
    )
    .await;
    let limit = json!({"limit": 0});
    let _ = tools::call(&ctx, &Caller::staff(a.tenant, agent), "list_tickets", limit).await;
    ctx.audit().flush().await;

    let mut tx = t.db.begin(&a.tenant).await.expect("begin");
    let calls = audit::store::recent(&mut tx, 10).await.expect("recent");
    tx.commit().await.expect("commit");
    assert_eq!(calls.len(), 2, "tenant A sees its own two calls only");
    let (invalid, ok) = (&calls[0], &calls[1]);
    assert_eq!(
        (ok.tool.as_str(), ok.outcome, ok.transport),
        ("get_ticket", Outcome::Ok, Transport::Http)
    );
    assert_eq!(ok.args_hmac, ctx.audit().digest(&ok_args));
    assert_eq!(ok.kind, audit::CallKind::Tool);
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

#[tokio::test]
async fn a_batch_writes_each_row_under_its_own_tenant_and_unknown_tools_are_not_recorded() {
    let t = TestDb::new().await;
    let a = seed(&t.db, "Acme").await;
    let b = seed(&t.db, "Beta").await;
    let plain = Ctx::new(t.db.clone());
    let ctx = plain.clone().with_audit(plain.audit().batched());
    for i in 0..(audit::MAX_BATCH + 10) {
        let tenant = if i % 3 == 0 { &b.tenant } else { &a.tenant };
        let staff = Caller::staff(*tenant, Transport::Http);
        let _ = tools::call(&ctx, &staff, "list_tickets", json!({})).await;
    }
    let staff = Caller::staff(a.tenant, Transport::Http);
    let unknown = tools::call(&ctx, &staff, "nope", json!({})).await;
    assert!(unknown.is_err());
    ctx.audit().flush().await;
    let rows: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT user_id, count(*) FROM tool_calls GROUP BY user_id ORDER BY count(*) DESC",
    )
    .fetch_all(&t.owner)
    .await
    .expect("counts");
    let total = audit::MAX_BATCH as i64 + 10;
    let b_calls = (total + 2) / 3;
    assert_eq!(
        rows,
        vec![(a.tenant.id(), total - b_calls), (b.tenant.id(), b_calls)]
    );
}
