//! Stripe actions at the desk (issue I2): proposed over MCP, then listed, approved and rejected
//! through the REST API, the inbox page and the CLI — each approval exactly one write at the
//! loopback Stripe.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support_agent::audit::Transport;
use support_agent::config::Secret;
use support_agent::stripe::{Credential, Stripe, access};
use support_agent::tools::{self, Caller, Ctx};
use support_agent::{Db, Tenant};

use super::fake::FakeStripe;
use super::{KEY_A, MASTER_KEY, account_a, fast_policy, linked, settings};
use crate::accounts::support::{Api, access as bearer};
use crate::cli::run_env;
use crate::common::{TestDb, new_ticket};
use crate::inbox::support::{Browser, server_ctx, tenant_of};

async fn connect(db: &Db, stripe: &Stripe, tenant: &Tenant) {
    access::connect(
        db,
        stripe.vault(),
        tenant,
        &Credential::RestrictedKey(Secret::new(KEY_A)),
    )
    .await
    .expect("connect");
}

fn stripe_for(fake: &FakeStripe) -> Arc<Stripe> {
    Arc::new(Stripe::with_policy(&settings(&fake.base), fast_policy()).expect("client"))
}

fn writes(fake: &FakeStripe) -> usize {
    fake.seen().iter().filter(|s| s.method != "GET").count()
}

#[tokio::test]
async fn rest_lists_approves_once_and_rejects_what_mcp_proposed() {
    let t = TestDb::new().await;
    let fake = FakeStripe::start(vec![account_a()]);
    let stripe = stripe_for(&fake);
    let api = Api {
        server: crate::mcp::support::Server::spawn_configured(
            Ctx::new(t.db.clone()).with_stripe(stripe.clone()),
            |_| {},
        )
        .await,
    };
    let tokens = api.register("owner@coffee.test").await;
    let token = bearer(&tokens);
    let tenant = Tenant::from_trusted_operator_input(
        tokens["user"]["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid"),
    );
    connect(&t.db, &stripe, &tenant).await;
    let ada = linked(&t.db, &tenant, "Ada", "ada@example.com", "cus_Aada").await;
    let ticket = new_ticket(&t.db, &tenant, ada.id, "Charged twice").await;

    // Proposed by an MCP client over HTTP: nothing written at Stripe.
    let (status, result) = api
        .mcp(
            &token,
            "propose_refund",
            json!({"ticket_id": ticket.id, "charge_id": "ch_Aada005", "reason": "duplicate"}),
        )
        .await;
    assert_eq!(status, 200);
    let result = &result["result"];
    assert_eq!(result["isError"], false, "{result}");
    let id = result["structuredContent"]["action"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, second) = api
        .mcp(
            &token,
            "propose_subscription_cancel",
            json!({"ticket_id": ticket.id, "subscription_id": "sub_Aada001"}),
        )
        .await;
    let cancel = second["result"]["structuredContent"]["action"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(writes(&fake), 0);

    let pending = api.get("/actions?status=pending", &token).await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.text);
    let items = pending.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], json!(cancel), "newest first");
    assert_eq!(items[1]["amount_formatted"], "$10.05");
    let of_ticket = api
        .get(&format!("/actions?ticket_id={}", ticket.id), &token)
        .await;
    assert_eq!(of_ticket.body["items"].as_array().map(Vec::len), Some(2));
    let bad = api.get("/actions?status=done", &token).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.headers["content-type"], "application/problem+json");

    let approved = api
        .send(
            Method::POST,
            &format!("/actions/{id}/approve"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["status"], "succeeded");
    assert!(
        approved.body["decided_by"]
            .as_str()
            .is_some_and(|b| b.starts_with("token:")),
        "{}",
        approved.text
    );
    let again = api
        .send(
            Method::POST,
            &format!("/actions/{id}/approve"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(writes(&fake), 1, "one refund");

    let rejected = api
        .send(
            Method::POST,
            &format!("/actions/{cancel}/reject"),
            Some(&token),
            Some(json!({"reason": "the customer changed their mind"})),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.text);
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(
        rejected.body["decision_reason"],
        "the customer changed their mind"
    );
    let late = api
        .send(
            Method::POST,
            &format!("/actions/{cancel}/approve"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(writes(&fake), 1, "a rejection sends nothing");

    // Another tenant sees none of it.
    let other = bearer(&api.register("someone@else.test").await);
    let theirs = api
        .send(
            Method::POST,
            &format!("/actions/{id}/approve"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.text);
    let listed = api.get("/actions", &other).await;
    assert_eq!(listed.body["items"], json!([]));
    let unknown = api
        .send(
            Method::POST,
            &format!("/actions/{}/reject", uuid::Uuid::now_v7()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown_body = api
        .send(
            Method::POST,
            &format!("/actions/{id}/reject"),
            Some(&token),
            Some(json!({"why": "x"})),
        )
        .await;
    assert_eq!(
        unknown_body.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown_body.text
    );
}

#[tokio::test]
async fn the_inbox_shows_a_proposal_and_a_person_approves_or_rejects_it() {
    let t = TestDb::new().await;
    let fake = FakeStripe::start(vec![account_a()]);
    let stripe = stripe_for(&fake);
    let ctx = Ctx::new(t.db.clone()).with_stripe(stripe.clone());
    let s = server_ctx(ctx.clone(), |_| {}).await;
    let mut b = Browser::new(&s);
    b.sign_up("Coffee", "desk@coffee.test").await;
    let tenant = tenant_of(&t, "desk@coffee.test").await;
    connect(&t.db, &stripe, &tenant).await;
    let ada = linked(&t.db, &tenant, "Ada", "ada@example.com", "cus_Aada").await;
    let ticket = new_ticket(&t.db, &tenant, ada.id, "Charged twice").await;
    let staff = Caller::staff(tenant, Transport::Http);
    let refund = tools::call(
        &ctx,
        &staff,
        "propose_refund",
        json!({"ticket_id": ticket.id, "charge_id": "ch_Aada019", "reason": "duplicate"}),
    )
    .await
    .expect("proposed");
    let refund = refund["action"]["id"].as_str().expect("id").to_owned();

    let page = b.get(&format!("/tickets/{}", ticket.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Stripe actions"), "{}", page.body);
    assert!(
        page.body
            .contains("Approve: refund of ¥1,250 on charge ch_Aada019 (duplicate)"),
        "{}",
        page.body
    );
    let done = b
        .post(
            &format!("/tickets/{}/actions/{refund}/approve", ticket.id),
            &[],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location().ends_with("done=action-succeeded"),
        "{}",
        done.location()
    );
    let after = b.get(done.location()).await.body;
    assert!(after.contains("Done at Stripe"), "{after}");
    assert!(after.contains("re_made"), "the refund's id: {after}");
    assert!(!after.contains("Approve: refund"), "no longer pending");
    assert_eq!(writes(&fake), 1);

    let cancel = tools::call(
        &ctx,
        &staff,
        "propose_subscription_cancel",
        json!({"ticket_id": ticket.id, "subscription_id": "sub_Aada001"}),
    )
    .await
    .expect("proposed");
    let cancel = cancel["action"]["id"].as_str().expect("id").to_owned();
    // The action must be this ticket's: another ticket's path is not found.
    let other = new_ticket(&t.db, &tenant, ada.id, "Another").await;
    let wrong = b
        .post(
            &format!("/tickets/{}/actions/{cancel}/approve", other.id),
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let rejected = b
        .post(
            &format!("/tickets/{}/actions/{cancel}/reject", ticket.id),
            &[("reason", "keeps the plan")],
        )
        .await;
    assert!(rejected.location().ends_with("done=action-rejected"));
    let after = b.get(rejected.location()).await.body;
    assert!(after.contains("nothing was sent to Stripe") && after.contains("keeps the plan"));
    assert_eq!(writes(&fake), 1, "a rejection sends nothing");
}

#[tokio::test]
async fn the_cli_lists_approves_and_rejects_with_json_and_exit_codes() {
    let t = TestDb::new().await;
    let fake = FakeStripe::start(vec![account_a()]);
    let stripe = stripe_for(&fake);
    let tenant = crate::common::new_tenant(&t.db, "Coffee").await;
    connect(&t.db, &stripe, &tenant).await;
    let ada = linked(&t.db, &tenant, "Ada", "ada@example.com", "cus_Aada").await;
    let ticket = new_ticket(&t.db, &tenant, ada.id, "Charged twice").await;
    let ctx = Ctx::new(t.db.clone()).with_stripe(stripe.clone());
    let staff = Caller::staff(tenant, Transport::Stdio);
    let mut ids = Vec::new();
    for charge in ["ch_Aada005", "ch_Aada006"] {
        let v = tools::call(
            &ctx,
            &staff,
            "propose_refund",
            json!({"ticket_id": ticket.id, "charge_id": charge, "reason": "requested_by_customer"}),
        )
        .await
        .expect("proposed");
        ids.push(v["action"]["id"].as_str().expect("id").to_owned());
    }
    let user = tenant.id().to_string();
    let env = [
        ("SECRETS_KEY", MASTER_KEY),
        ("STRIPE_API_BASE", fake.base.as_str()),
        ("STRIPE_MAX_ATTEMPTS", "1"),
    ];
    let run = |args: &[&str]| run_env(Some(&t), args, None, &env);
    let listed = run(&[
        "actions", "list", "--user", &user, "--status", "pending", "--json",
    ]);
    let all: Vec<Value> = listed.json()["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(all.len(), 2, "{}", listed.stdout);
    let human = run(&["actions", "list", "--user", &user]);
    assert!(
        human.ok
            && human
                .stdout
                .contains("refund of $10.05 on charge ch_Aada005"),
        "{}",
        human.stdout
    );

    let approved = run(&[
        "actions", "approve", "--user", &user, "--action", &ids[0], "--json",
    ]);
    assert!(approved.ok, "{}", approved.stderr);
    assert_eq!(approved.json()["status"], "succeeded");
    assert_eq!(approved.json()["decided_by"], "operator");
    let twice = run(&["actions", "approve", "--user", &user, "--action", &ids[0]]);
    assert!(!twice.ok);
    assert!(
        twice.stderr.contains("succeeded already"),
        "{}",
        twice.stderr
    );
    assert_eq!(
        twice.stderr.trim().lines().count(),
        1,
        "one line: {}",
        twice.stderr
    );
    let rejected = run(&[
        "actions", "reject", "--user", &user, "--action", &ids[1], "--reason", "not owed", "--json",
    ]);
    assert_eq!(rejected.json()["status"], "rejected", "{}", rejected.stderr);
    let bad = run(&["actions", "approve", "--user", &user, "--action", "nope"]);
    assert!(
        !bad.ok && bad.stderr.contains("is not a UUID"),
        "{}",
        bad.stderr
    );
    let no_key = run_env(
        Some(&t),
        &["actions", "approve", "--user", &user, "--action", &ids[1]],
        None,
        &[("SECRETS_KEY", "")],
    );
    assert!(!no_key.ok);
    assert_eq!(writes(&fake), 1, "one refund in all");
}
