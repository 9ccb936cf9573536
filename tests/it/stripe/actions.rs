//! Refunds and cancellations (issue I2): proposed by a tool, approved by a person, carried out
//! exactly once — against the loopback Stripe, which keeps idempotency keys as Stripe does and
//! records every request.

use std::time::Duration;

use serde_json::{Value, json};
use support_agent::actions::{self, ActionError, ActionStatus};
use support_agent::messages::Sender;
use support_agent::tickets::Ticket;
use support_agent::tools::{self, Caller, ToolError};
use support_agent::{StoreError, messages};
use uuid::Uuid;

use super::fake::{FakeStripe, Fault, Seen};
use super::{KEY_A, World, account_a, data, settings, staff};
use crate::common::new_ticket;

fn auth_a() -> String {
    format!("Bearer {KEY_A}")
}

async fn ada_ticket(w: &World) -> Ticket {
    new_ticket(&w.t.db, &w.a, w.ada.id, "Charged twice for my order").await
}

/// The requests that were not reads.
fn writes(w: &World) -> Vec<Seen> {
    w.fake
        .seen()
        .into_iter()
        .filter(|s| s.method != "GET")
        .collect()
}

async fn propose(w: &World, caller: &Caller, tool: &str, args: Value) -> Result<Value, ToolError> {
    tools::call(&w.ctx(), caller, tool, args).await
}

async fn refund_of(w: &World, ticket: &Ticket, charge: &str, amount: Option<i64>) -> Uuid {
    let mut args = json!({"ticket_id": ticket.id, "charge_id": charge, "reason": "duplicate"});
    if let Some(a) = amount {
        args["amount"] = json!(a);
    }
    let out = propose(w, &staff(w.a), "propose_refund", args)
        .await
        .expect("proposed");
    assert_eq!(out["action"]["status"], "pending", "{out}");
    out["action"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an action id")
}

async fn notes(w: &World, ticket: &Ticket) -> Vec<String> {
    let mut tx = w.t.db.begin(&w.a).await.expect("begin");
    let all = messages::store::list_by_ticket(&mut tx, ticket.id)
        .await
        .expect("messages");
    tx.commit().await.expect("commit");
    all.into_iter()
        .filter(|m| m.sender_type == Sender::Note)
        .map(|m| m.content)
        .collect()
}

/// The refunds the loopback Stripe made for action `id` (its id in their metadata).
fn refunds_made_for(w: &World, id: Uuid) -> Vec<Value> {
    w.fake
        .account(&auth_a(), None)
        .refunds
        .into_iter()
        .filter(|r| r["metadata"]["support_agent_action"] == json!(id.to_string()))
        .collect()
}

#[tokio::test]
async fn a_proposal_sends_nothing_and_approval_makes_one_refund_under_the_actions_key() {
    let w = World::new().await;
    let ticket = ada_ticket(&w).await;
    let args = json!({"ticket_id": ticket.id, "charge_id": "ch_Aada005", "reason": "duplicate"});
    let first = propose(&w, &staff(w.a), "propose_refund", args.clone())
        .await
        .expect("proposed");
    let a = &first["action"];
    assert_eq!(first["created"], true);
    assert_eq!(
        (&a["kind"], &a["status"], &a["amount"], &a["currency"]),
        (
            &json!("refund"),
            &json!("pending"),
            &json!(1005),
            &json!("usd")
        ),
        "the whole remainder by default: {first}"
    );
    assert_eq!(a["amount_formatted"], "$10.05");
    assert_eq!(a["stripe_customer_id"], "cus_Aada");
    assert_eq!(a["proposed_by"], "http");
    assert!(writes(&w).is_empty(), "a proposal only reads");

    // The same proposal again is the first one.
    let again = propose(&w, &staff(w.a), "propose_refund", args)
        .await
        .expect("idempotent");
    assert_eq!(
        (again["created"].clone(), &again["action"]["id"]),
        (json!(false), &a["id"])
    );
    // Another amount on the same charge while it is open is refused, with the open one named.
    let other = json!({"ticket_id": ticket.id, "charge_id": "ch_Aada005", "amount": 5, "reason": "duplicate"});
    let e = propose(&w, &staff(w.a), "propose_refund", other)
        .await
        .expect_err("one open proposal per charge");
    assert!(
        matches!(&e, ToolError::Conflict(m) if m.contains(a["id"].as_str().unwrap_or("?"))),
        "{e}"
    );

    let id: Uuid = a["id"].as_str().expect("id").parse().expect("uuid");
    let done = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect("approved");
    assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
    assert_eq!(done.decided_by.as_deref(), Some("token:test"));
    assert_eq!(done.attempts, 1);
    let made = refunds_made_for(&w, id);
    assert_eq!(made.len(), 1, "one refund at Stripe");
    assert_eq!(done.stripe_result_id.as_deref(), made[0]["id"].as_str());
    let sent = writes(&w);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let key = format!("action:{id}");
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("POST", "/v1/refunds")
    );
    assert_eq!(sent[0].idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(sent[0].param("amount"), Some("1005"));
    assert_eq!(sent[0].param("charge"), Some("ch_Aada005"));
    assert_eq!(sent[0].param("reason"), Some("duplicate"));

    // The ticket says what was done, and by whom.
    let said = notes(&w, &ticket).await;
    assert_eq!(said.len(), 1, "{said:?}");
    let refund_id = made[0]["id"].as_str().expect("refund id");
    assert!(
        said[0].contains("$10.05") && said[0].contains(refund_id) && said[0].contains("token:test"),
        "{}",
        said[0]
    );
    // Approving again finds nothing pending and sends nothing.
    let e = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect_err("once");
    assert!(
        matches!(&e, ActionError::Store(StoreError::Conflict(m)) if m.contains("succeeded already")),
        "{e}"
    );
    assert_eq!(writes(&w).len(), 1);
    // The safety-net job was settled, so the worker will not run it.
    let (status,): (String,) =
        sqlx::query_as("SELECT status FROM jobs WHERE kind = 'stripe_action' AND payload_id = $1")
            .bind(id)
            .fetch_one(&w.t.owner)
            .await
            .expect("the action's job");
    assert_eq!(status, "done");
}

#[tokio::test]
async fn two_approvals_at_once_make_one_refund() {
    let w = World::new().await;
    let ticket = ada_ticket(&w).await;
    let id = refund_of(&w, &ticket, "ch_Aada007", None).await;
    let ctx = w.ctx();
    let (one, two) = tokio::join!(
        actions::approve(&ctx, &w.a, id, "token:one"),
        actions::approve(&ctx, &w.a, id, "token:two"),
    );
    let (won, lost) = match (one, two) {
        (Ok(a), Err(e)) | (Err(e), Ok(a)) => (a, e),
        other => panic!("exactly one approval wins: {other:?}"),
    };
    assert_eq!(won.status, ActionStatus::Succeeded);
    assert!(
        matches!(&lost, ActionError::Store(StoreError::Conflict(m)) if m.contains("already")),
        "{lost}"
    );
    assert_eq!(writes(&w).len(), 1, "one POST");
    assert_eq!(refunds_made_for(&w, id).len(), 1);
    assert_eq!(notes(&w, &ticket).await.len(), 1);
}

/// Settings whose requests time out after 200 ms.
fn impatient(base: &str) -> support_agent::stripe::StripeSettings {
    let mut s = settings(base);
    s.stripe_timeout = Duration::from_millis(200);
    s
}

#[tokio::test]
async fn a_refund_whose_answers_were_lost_is_finished_with_the_same_key_and_made_once() {
    let fake = FakeStripe::start(vec![account_a()]);
    let w = World::with(fake, impatient).await;
    let ticket = ada_ticket(&w).await;
    let id = refund_of(&w, &ticket, "ch_Aada009", None).await;
    // Stripe takes each request but answers too late, every attempt: the refund is made, the
    // answer lost.
    w.fake
        .fail_next_writes([Fault::LoseAnswer(Duration::from_millis(600)); 3]);
    let pending = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect("approved");
    assert_eq!(pending.status, ActionStatus::Executing, "{pending:?}");
    assert!(
        pending
            .error
            .as_deref()
            .is_some_and(|e| e.contains("did not answer") && e.contains("same idempotency key")),
        "{pending:?}"
    );
    assert!(notes(&w, &ticket).await.is_empty(), "nothing to say yet");
    // Stripe made the refund with the first request; the retries were answered from its key.
    assert_eq!(refunds_made_for(&w, id).len(), 1);

    // The worker's retry (here called directly) asks Stripe first and finds it.
    let current = actions::get(&w.ctx(), &w.a, id).await.expect("action");
    let done = actions::execute(&w.ctx(), &w.a, current)
        .await
        .expect("finished");
    assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
    assert_eq!(done.error, None);
    let made = refunds_made_for(&w, id);
    assert_eq!(made.len(), 1, "made once");
    assert_eq!(done.stripe_result_id.as_deref(), made[0]["id"].as_str());
    let key = format!("action:{id}");
    let sent = writes(&w);
    assert_eq!(sent.len(), 3, "three attempts, no fourth: {sent:?}");
    assert!(
        sent.iter()
            .all(|s| s.idempotency_key.as_deref() == Some(key.as_str()))
    );
    assert_eq!(notes(&w, &ticket).await.len(), 1);
}

#[tokio::test]
async fn a_refund_that_never_reached_stripe_is_sent_again_by_the_worker_with_the_same_key() {
    let w = World::new().await;
    let ticket = ada_ticket(&w).await;
    let id = refund_of(&w, &ticket, "ch_Aada011", None).await;
    w.fake.fail_next_writes([Fault::Status(503, None); 3]);
    let pending = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect("approved");
    assert_eq!(pending.status, ActionStatus::Executing);
    assert!(refunds_made_for(&w, id).is_empty());

    // The worker takes the action's job once it is due (as after a crash: its process died).
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'stripe_action' AND payload_id = $1")
        .bind(id)
        .execute(&w.t.owner)
        .await
        .expect("due now");
    let handler = support_agent::actions::handler::ActionHandler::new(w.ctx());
    let worker = support_agent::worker::Worker::new(
        w.t.db.clone(),
        handler,
        support_agent::worker::WorkerOptions {
            worker_id: "actions-test".into(),
            ..Default::default()
        },
    );
    let (_, outcome) = worker.run_one().await.expect("run").expect("a job");
    assert_eq!(outcome, support_agent::worker::Outcome::Done);
    let done = actions::get(&w.ctx(), &w.a, id).await.expect("action");
    assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
    assert_eq!(refunds_made_for(&w, id).len(), 1);
    let key = format!("action:{id}");
    let sent = writes(&w);
    assert_eq!(sent.len(), 4, "three refused attempts, then one: {sent:?}");
    assert!(
        sent.iter()
            .all(|s| s.idempotency_key.as_deref() == Some(key.as_str()))
    );
    assert!(
        worker.run_one().await.expect("run").is_none(),
        "nothing left"
    );
}

#[tokio::test]
async fn rejecting_sends_nothing_and_a_rejected_action_cannot_be_approved() {
    let w = World::new().await;
    let ticket = ada_ticket(&w).await;
    let id = refund_of(&w, &ticket, "ch_Aada003", Some(300)).await;
    let rejected = actions::reject(&w.ctx(), &w.a, id, "token:test", Some("  not a duplicate "))
        .await
        .expect("rejected");
    assert_eq!(rejected.status, ActionStatus::Rejected);
    assert_eq!(rejected.decision_reason.as_deref(), Some("not a duplicate"));
    let e = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect_err("rejected stays rejected");
    assert!(e.to_string().contains("rejected already"), "{e}");
    assert!(writes(&w).is_empty());
    // A new proposal of the same refund may follow a rejection.
    let again = refund_of(&w, &ticket, "ch_Aada003", Some(300)).await;
    assert_ne!(again, id);
}

#[tokio::test]
async fn refunds_beyond_the_remainder_or_of_other_customers_are_refused_before_any_request() {
    let w = World::new().await;
    let ticket = ada_ticket(&w).await;
    // Another customer of the same tenant, with a charge of her own.
    w.fake.change(&auth_a(), |a| {
        a.charges.push(data::charge(
            "ch_Abob1000",
            "cus_Abob1",
            40,
            700,
            "usd",
            data::ChargeKind::default(),
        ));
    });
    let cases = [
        (
            json!({"charge_id": "ch_Aada005", "amount": 1006}),
            "amount",
            "more than the $10.05",
        ),
        (
            json!({"charge_id": "ch_Aada005", "amount": 0}),
            "amount",
            "positive",
        ),
        (
            json!({"charge_id": "ch_Aada022"}),
            "charge_id",
            "refunded in full",
        ),
        (
            json!({"charge_id": "ch_Aada020"}),
            "charge_id",
            "did not succeed",
        ),
        (
            json!({"charge_id": "ch_Abob1000"}),
            "charge_id",
            "not one of this ticket's customer's",
        ),
        (json!({"charge_id": "nope"}), "charge_id", "charge id"),
    ];
    for (mut args, field, says) in cases {
        args["ticket_id"] = json!(ticket.id);
        args["reason"] = json!("requested_by_customer");
        match propose(&w, &staff(w.a), "propose_refund", args.clone()).await {
            Err(ToolError::InvalidArgument { field: f, reason }) => {
                assert_eq!(f, field, "{args}");
                assert!(reason.contains(says), "{args}: {reason}");
            }
            other => panic!("{args}: expected an invalid {field}, got {other:?}"),
        }
    }
    // Another tenant's charge is not in this tenant's Stripe account.
    let theirs = json!({"ticket_id": ticket.id, "charge_id": "ch_Bbea000", "reason": "duplicate"});
    let e = propose(&w, &staff(w.a), "propose_refund", theirs)
        .await
        .expect_err("another tenant's charge");
    assert!(matches!(e, ToolError::NotFound(_)), "{e}");
    // Another tenant's ticket is not found either.
    let b_ticket = new_ticket(&w.t.db, &w.b, w.bea.id, "B's").await;
    let e = propose(
        &w,
        &staff(w.a),
        "propose_refund",
        json!({"ticket_id": b_ticket.id, "charge_id": "ch_Aada005", "reason": "duplicate"}),
    )
    .await
    .expect_err("another tenant's ticket");
    assert_eq!(e.to_string(), "ticket not found");
    assert!(writes(&w).is_empty(), "not one write");
    assert_eq!(w.t.count("actions").await, 0, "nothing recorded");
}

#[tokio::test]
async fn approval_checks_again_and_refuses_what_was_refunded_meanwhile() {
    let w = World::new().await;
    let ticket = ada_ticket(&w).await;
    let id = refund_of(&w, &ticket, "ch_Aada004", None).await;
    // Someone refunded the charge in Stripe's dashboard meanwhile.
    w.fake.change(&auth_a(), |a| {
        let c = a
            .charges
            .iter_mut()
            .find(|c| c["id"] == "ch_Aada004")
            .expect("charge");
        c["amount_refunded"] = json!(1004);
        c["refunded"] = json!(true);
    });
    let failed = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect("decided");
    assert_eq!(failed.status, ActionStatus::Failed);
    assert!(
        failed
            .error
            .as_deref()
            .is_some_and(|e| e.contains("refunded in full")),
        "{failed:?}"
    );
    assert_eq!(failed.attempts, 0, "no request was made");
    assert!(writes(&w).is_empty());
    let said = notes(&w, &ticket).await;
    assert!(said.len() == 1 && said[0].contains("failed"), "{said:?}");
}

#[tokio::test]
async fn a_key_without_refund_write_fails_saying_which_permission_it_lacks() {
    let w = World::new().await;
    w.fake
        .change(&auth_a(), |a| a.lacks.push("rak_refund_write"));
    let ticket = ada_ticket(&w).await;
    let id = refund_of(&w, &ticket, "ch_Aada006", None).await;
    let failed = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect("decided");
    assert_eq!(failed.status, ActionStatus::Failed);
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("Refunds: Write") && error.contains("rak_refund_write"),
        "{error}"
    );
    assert!(!error.contains(KEY_A), "no key in the error");
    assert_eq!(writes(&w).len(), 1, "refused once, not retried");
    assert!(notes(&w, &ticket).await[0].contains("Refunds: Write"));
}

#[tokio::test]
async fn a_zero_decimal_refund_is_exact_in_yen() {
    let w = World::new().await;
    let ticket = ada_ticket(&w).await;
    // ch_Aada019 is ¥1,250.
    let out = propose(
        &w,
        &staff(w.a),
        "propose_refund",
        json!({"ticket_id": ticket.id, "charge_id": "ch_Aada019", "amount": 500, "reason": "requested_by_customer"}),
    )
    .await
    .expect("proposed");
    let a = &out["action"];
    assert_eq!((&a["amount"], &a["currency"]), (&json!(500), &json!("jpy")));
    assert_eq!(a["amount_formatted"], "¥500");
    let e = propose(
        &w,
        &staff(w.a),
        "propose_refund",
        json!({"ticket_id": ticket.id, "charge_id": "ch_Aada019", "amount": 1251, "reason": "duplicate"}),
    )
    .await
    .expect_err("more than the charge");
    assert!(e.to_string().contains("¥1,250"), "{e}");
    let id: Uuid = a["id"].as_str().expect("id").parse().expect("uuid");
    let done = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect("approved");
    assert_eq!(done.status, ActionStatus::Succeeded);
    assert_eq!(
        writes(&w)[0].param("amount"),
        Some("500"),
        "yen, not hundredths"
    );
    assert!(notes(&w, &ticket).await[0].contains("¥500"));
}

#[tokio::test]
async fn a_cancellation_at_period_end_is_proposed_approved_and_sent_once() {
    let w = World::new().await;
    let ticket = ada_ticket(&w).await;
    let out = propose(
        &w,
        &staff(w.a),
        "propose_subscription_cancel",
        json!({"ticket_id": ticket.id, "subscription_id": "sub_Aada001"}),
    )
    .await
    .expect("proposed");
    let a = &out["action"];
    assert_eq!(
        (&a["kind"], &a["at_period_end"], &a["amount"]),
        (&json!("subscription_cancel"), &json!(true), &Value::Null)
    );
    assert!(writes(&w).is_empty());
    let id: Uuid = a["id"].as_str().expect("id").parse().expect("uuid");
    let done = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect("approved");
    assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
    assert_eq!(done.stripe_result_id.as_deref(), Some("sub_Aada001"));
    let sent = writes(&w);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (
            sent[0].method.as_str(),
            sent[0].path.as_str(),
            sent[0].param("cancel_at_period_end")
        ),
        ("POST", "/v1/subscriptions/sub_Aada001", Some("true"))
    );
    assert_eq!(sent[0].idempotency_key, Some(format!("action:{id}")));
    let sub = w
        .fake
        .account(&auth_a(), None)
        .subscriptions
        .into_iter()
        .find(|s| s["id"] == "sub_Aada001")
        .expect("sub");
    assert_eq!(
        (&sub["status"], &sub["cancel_at_period_end"]),
        (&json!("active"), &json!(true))
    );
    assert!(notes(&w, &ticket).await[0].contains("at the end of its period"));

    // Ended already, set to end already, another tenant's: refused before any write.
    for (sub, says) in [
        ("sub_Aada000", "ended already"),
        ("sub_Aada002", "set to end at the end of its period already"),
        ("sub_Aada001", "set to end at the end of its period already"),
    ] {
        let e = propose(
            &w,
            &staff(w.a),
            "propose_subscription_cancel",
            json!({"ticket_id": ticket.id, "subscription_id": sub}),
        )
        .await
        .expect_err("refused");
        assert!(e.to_string().contains(says), "{sub}: {e}");
    }
    let e = propose(
        &w,
        &staff(w.a),
        "propose_subscription_cancel",
        json!({"ticket_id": ticket.id, "subscription_id": "sub_Bbea000"}),
    )
    .await
    .expect_err("another tenant's");
    assert!(matches!(e, ToolError::NotFound(_)), "{e}");

    // Now, not at period end: one DELETE.
    let now = propose(
        &w,
        &staff(w.a),
        "propose_subscription_cancel",
        json!({"ticket_id": ticket.id, "subscription_id": "sub_Aada002", "at_period_end": false}),
    )
    .await
    .expect("proposed");
    let id: Uuid = now["action"]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let done = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect("approved");
    assert_eq!(done.status, ActionStatus::Succeeded);
    let sent = writes(&w);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[1].method.as_str(), sent[1].path.as_str()),
        ("DELETE", "/v1/subscriptions/sub_Aada002")
    );
}

#[tokio::test]
async fn a_triage_job_proposes_on_its_own_ticket_only() {
    let w = World::new().await;
    let own = ada_ticket(&w).await;
    let other = new_ticket(&w.t.db, &w.a, w.ada.id, "Another of Ada's").await;
    let job = Caller::for_ticket(w.a, own.id, w.ada.id);
    let e = propose(
        &w,
        &job,
        "propose_refund",
        json!({"ticket_id": other.id, "charge_id": "ch_Aada005", "reason": "duplicate"}),
    )
    .await
    .expect_err("not its ticket");
    assert!(e.to_string().contains("own ticket only"), "{e}");
    let out = propose(
        &w,
        &job,
        "propose_refund",
        json!({"ticket_id": own.id, "charge_id": "ch_Aada005", "reason": "duplicate"}),
    )
    .await
    .expect("its own ticket");
    assert_eq!(out["action"]["proposed_by"], "agent");
    assert!(tools::find("approve_action").is_none(), "no approve tool");
    let t = tools::find("propose_refund").expect("tool").annotations;
    assert!(!t.read_only_hint && !t.destructive_hint && t.idempotent_hint);
    assert!(writes(&w).is_empty());
}

#[tokio::test]
async fn an_action_that_may_have_reached_stripe_waits_while_stripe_access_is_gone() {
    let w = World::new().await;
    let ticket = ada_ticket(&w).await;
    let id = refund_of(&w, &ticket, "ch_Aada013", None).await;
    w.fake.fail_next_writes([Fault::Status(503, None); 3]);
    let pending = actions::approve(&w.ctx(), &w.a, id, "token:test")
        .await
        .expect("approved");
    assert_eq!(
        (pending.status, pending.attempts),
        (ActionStatus::Executing, 1)
    );
    // The key is disconnected before the retry: the outcome is unknown, so it is not "failed".
    support_agent::stripe::access::disconnect(&w.t.db, &w.a)
        .await
        .expect("disconnect");
    let waiting = actions::execute(&w.ctx(), &w.a, pending)
        .await
        .expect("ran");
    assert_eq!(waiting.status, ActionStatus::Executing, "{waiting:?}");
    assert!(
        waiting
            .error
            .as_deref()
            .is_some_and(|e| e.contains("may have taken effect")),
        "{waiting:?}"
    );
    assert!(notes(&w, &ticket).await.is_empty());
    // Connected again, the retry finishes it, once.
    support_agent::stripe::access::connect(
        &w.t.db,
        w.stripe.vault(),
        &w.a,
        &support_agent::stripe::Credential::RestrictedKey(support_agent::config::Secret::new(
            KEY_A,
        )),
    )
    .await
    .expect("connect");
    let done = actions::execute(&w.ctx(), &w.a, waiting)
        .await
        .expect("finished");
    assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
    assert_eq!(refunds_made_for(&w, id).len(), 1);
}
