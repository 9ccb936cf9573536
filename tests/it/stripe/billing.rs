//! `list_subscriptions`, `list_invoices` and what `customer_overview` gained (issue 18): paging
//! with `starting_after` over more than one page, the fields a support agent reads, and a
//! restricted-key tenant and a Connect tenant side by side, each reaching only its own account
//! (the loopback server checks the credentials it receives).

use serde_json::json;
use support_agent::tools::{
    self, CustomerOverviewArgs, ListInvoicesArgs, ListSubscriptionsArgs, ToolError,
    customer_overview, list_invoices, list_subscriptions,
};

use super::{ACCOUNT_B, ADA_INVOICES, KEY_A, PLATFORM_KEY, World, staff, strings};

fn invoices_args(w: &World, limit: i64, after: Option<String>) -> ListInvoicesArgs {
    ListInvoicesArgs {
        customer_id: Some(w.ada.id),
        limit: Some(limit),
        starting_after: after,
        ..Default::default()
    }
}

#[tokio::test]
async fn invoices_page_with_starting_after_over_more_than_one_page() {
    let w = World::new().await;
    let (mut ids, mut cursor, mut pages) = (Vec::new(), None, 0);
    loop {
        let out = list_invoices(&w.ctx(), &staff(w.a), invoices_args(&w, 2, cursor.clone()))
            .await
            .expect("invoices");
        pages += 1;
        assert!(out.invoices.len() <= 2);
        ids.extend(out.invoices.iter().map(|i| i.id.clone()));
        assert_eq!(out.has_more, out.next_cursor.is_some());
        match out.next_cursor {
            Some(next) => {
                assert_eq!(Some(&next), ids.last(), "the cursor is the page's last id");
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3, "5 invoices, 2 a page");
    let expected: Vec<String> = (0..ADA_INVOICES)
        .rev()
        .map(|n| format!("in_Aada{n:03}"))
        .collect();
    assert_eq!(ids, expected, "newest first, each once");
    let afters: Vec<String> = w
        .fake
        .seen()
        .iter()
        .filter(|s| s.path == "/v1/invoices")
        .filter_map(|s| s.param("starting_after").map(str::to_owned))
        .collect();
    assert_eq!(afters, ["in_Aada003", "in_Aada001"], "Stripe's own paging");
}

#[tokio::test]
async fn an_invoice_has_its_number_amounts_charge_subscription_and_period_and_no_hosted_url() {
    let w = World::new().await;
    let out = list_invoices(&w.ctx(), &staff(w.a), invoices_args(&w, 10, None))
        .await
        .expect("invoices");
    let open = &out.invoices[0];
    assert_eq!(open.id, "in_Aada004");
    assert_eq!(open.number.as_deref(), Some("ADA-0005"));
    assert_eq!(open.status.as_deref(), Some("open"));
    assert_eq!(open.amount_due_formatted, "$20.00");
    assert_eq!(open.amount_paid_formatted, "$0.00");
    assert_eq!(open.attempt_count, 2);
    assert!(open.next_payment_attempt.is_some());
    assert_eq!(open.charge, None);
    let paid = &out.invoices[1];
    assert_eq!(paid.status.as_deref(), Some("paid"));
    assert_eq!(paid.amount_paid_formatted, "$20.00");
    assert_eq!(
        paid.charge.as_deref(),
        Some("ch_Aada003"),
        "the charge that paid it"
    );
    assert_eq!(paid.subscription.as_deref(), Some("sub_Aada001"));
    assert_eq!(paid.billing_reason.as_deref(), Some("subscription_cycle"));
    assert!(paid.period_start < paid.period_end);
    let text = serde_json::to_value(&out).expect("json");
    for s in strings(&text) {
        assert!(
            !s.contains("invoice.stripe.com") && !s.contains("/pdf"),
            "no hosted-invoice URL: {s}"
        );
    }
    let only_paid = ListInvoicesArgs {
        status: Some("paid".into()),
        ..invoices_args(&w, 10, None)
    };
    let paid = list_invoices(&w.ctx(), &staff(w.a), only_paid)
        .await
        .expect("paid invoices");
    assert_eq!(paid.invoices.len(), ADA_INVOICES - 1);
}

#[tokio::test]
async fn subscriptions_name_their_price_or_product_and_say_when_access_ends() {
    let w = World::new().await;
    let args = |status: Option<&str>, after: Option<String>| ListSubscriptionsArgs {
        customer_id: Some(w.ada.id),
        status: status.map(str::to_owned),
        limit: Some(1),
        starting_after: after,
        ..Default::default()
    };
    let first = list_subscriptions(&w.ctx(), &staff(w.a), args(None, None))
        .await
        .expect("subscriptions");
    assert_eq!(first.subscriptions.len(), 1);
    assert_eq!(first.next_cursor.as_deref(), Some("sub_Aada002"));
    let ending = &first.subscriptions[0];
    assert_eq!(ending.name, "Tea Box", "the product's name, expanded");
    assert_eq!(ending.amount_formatted, "$20.00");
    assert_eq!(
        (ending.interval.as_deref(), ending.interval_count),
        (Some("month"), Some(1))
    );
    assert!(ending.cancel_at_period_end);
    let end = serde_json::to_value(ending.current_period_end).expect("json");
    assert_eq!(end, "2026-12-31T00:00:00Z");
    assert_eq!(ending.access_ends_at, ending.current_period_end);
    assert_eq!(ending.latest_invoice.as_deref(), Some("in_Aada004"));
    assert_eq!(ending.latest_invoice_status.as_deref(), Some("open"));

    let second = list_subscriptions(&w.ctx(), &staff(w.a), args(None, first.next_cursor))
        .await
        .expect("page 2");
    let renewing = &second.subscriptions[0];
    assert_eq!(renewing.name, "Coffee Club Monthly", "the price's nickname");
    assert_eq!(renewing.access_ends_at, None, "it renews");
    assert!(!second.has_more, "canceled ones are left out by default");

    let all = ListSubscriptionsArgs {
        limit: Some(10),
        ..args(Some("all"), None)
    };
    let all = list_subscriptions(&w.ctx(), &staff(w.a), all)
        .await
        .expect("all");
    assert_eq!(all.subscriptions.len(), 3);
    let ended = &all.subscriptions[2];
    assert_eq!(ended.status, "canceled");
    assert!(ended.ended_at.is_some() && ended.access_ends_at == ended.ended_at);
}

#[tokio::test]
async fn a_restricted_key_tenant_and_a_connect_tenant_each_see_only_their_own_account() {
    let w = World::new().await;
    let b_args = ListInvoicesArgs {
        customer_id: Some(w.bea.id),
        ..Default::default()
    };
    let b = list_invoices(&w.ctx(), &staff(w.b), b_args)
        .await
        .expect("B's invoices");
    let ids: Vec<&str> = b.invoices.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["in_Bbea000"]);
    let b_subs = ListSubscriptionsArgs {
        customer_id: Some(w.bea.id),
        ..Default::default()
    };
    let subs = list_subscriptions(&w.ctx(), &staff(w.b), b_subs)
        .await
        .expect("B's subscriptions");
    assert_eq!(subs.subscriptions[0].name, "Bea's Box");
    let a = list_invoices(&w.ctx(), &staff(w.a), invoices_args(&w, 10, None))
        .await
        .expect("A's invoices");
    assert!(a.invoices.iter().all(|i| i.id.starts_with("in_Aada")));

    for seen in w.fake.seen() {
        let auth = seen.authorization.as_deref();
        let customer = seen.param("customer").unwrap_or_default();
        if customer == "cus_Bbea" {
            assert_eq!(auth, Some(format!("Bearer {PLATFORM_KEY}").as_str()));
            assert_eq!(seen.stripe_account.as_deref(), Some(ACCOUNT_B));
        } else {
            assert_eq!(auth, Some(format!("Bearer {KEY_A}").as_str()));
            assert_eq!(seen.stripe_account, None, "{seen:?}");
        }
    }
    // B's customer is not A's: "not found", exactly like an id that never existed.
    let cross = ListInvoicesArgs {
        customer_id: Some(w.bea.id),
        ..Default::default()
    };
    let err = list_invoices(&w.ctx(), &staff(w.a), cross)
        .await
        .expect_err("not A's");
    assert!(matches!(err, ToolError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn the_overview_adds_subscriptions_the_last_failed_payment_and_unpaid_invoices() {
    let w = World::new().await;
    let args = CustomerOverviewArgs {
        customer_id: Some(w.ada.id),
        ..Default::default()
    };
    let out = customer_overview(&w.ctx(), &staff(w.a), args)
        .await
        .expect("overview");
    let subs: Vec<&str> = out.subscriptions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(subs, ["sub_Aada002", "sub_Aada001"]);
    let failed = out.last_failed_payment.as_ref().expect("a failed payment");
    assert_eq!(failed.charge, "ch_Aada020");
    assert_eq!(failed.failure_code.as_deref(), Some("card_declined"));
    assert_eq!(
        failed.failure_message.as_deref(),
        Some("Your card was declined.")
    );
    assert_eq!(
        (failed.brand.as_deref(), failed.last4.as_deref()),
        (Some("visa"), Some("4242"))
    );
    let unpaid: Vec<&str> = out.unpaid_invoices.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(unpaid, ["in_Aada004"]);
    let schema = &tools::find("customer_overview")
        .expect("tool")
        .output_schema;
    for field in ["subscriptions", "last_failed_payment", "unpaid_invoices"] {
        assert!(
            schema["properties"].get(field).is_some(),
            "{field} in the output schema"
        );
    }
}

#[tokio::test]
async fn bad_statuses_and_cursors_name_the_field() {
    let w = World::new().await;
    let cases = [
        (
            "list_invoices",
            json!({"customer_id": w.ada.id, "status": "unpaid"}),
            "status",
        ),
        (
            "list_invoices",
            json!({"customer_id": w.ada.id, "starting_after": "sub_Aada001"}),
            "starting_after",
        ),
        (
            "list_subscriptions",
            json!({"customer_id": w.ada.id, "status": "gone"}),
            "status",
        ),
        (
            "list_subscriptions",
            json!({"customer_id": w.ada.id, "limit": 0}),
            "limit",
        ),
    ];
    for (tool, args, field) in cases {
        match tools::call(&w.ctx(), &staff(w.a), tool, args).await {
            Err(ToolError::InvalidArgument { field: f, .. }) => assert_eq!(f, field, "{tool}"),
            other => panic!("{tool}: expected an invalid {field}, got {other:?}"),
        }
    }
}
