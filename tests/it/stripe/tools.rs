//! `fetch_stripe_charges` and `customer_overview` in process: the fields, paging that really
//! pages, and an error that says what to do for every missing piece.

use support_agent::stripe::views::ChargeView;
use support_agent::tools::{
    self, Annotations, CustomerOverviewArgs, FetchStripeChargesArgs, ToolError, customer_overview,
    fetch_stripe_charges,
};

use super::{ADA_CHARGES, World, staff};
use crate::common::new_ticket;

fn args(w: &World, limit: Option<i64>, after: Option<String>) -> FetchStripeChargesArgs {
    FetchStripeChargesArgs {
        customer_id: Some(w.ada.id),
        limit,
        starting_after: after,
        ..Default::default()
    }
}

fn find<'a>(charges: &'a [ChargeView], id: &str) -> &'a ChargeView {
    charges
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} listed"))
}

#[tokio::test]
async fn a_page_of_charges_has_every_field_a_support_agent_reads() {
    let w = World::new().await;
    let out = fetch_stripe_charges(&w.ctx(), &staff(w.a), args(&w, None, None))
        .await
        .expect("charges");
    assert_eq!(out.charges.len(), 10, "default limit");
    assert!(out.has_more);
    assert_eq!(out.charges[0].id, "ch_Aada022", "newest first");

    let refunded = find(&out.charges, "ch_Aada022");
    assert!(refunded.refunded && refunded.paid);
    assert_eq!((refunded.amount, refunded.currency.as_str()), (1022, "usd"));
    assert_eq!(refunded.amount_formatted, "$10.22");
    assert_eq!(refunded.amount_refunded_formatted, "$10.22");
    assert_eq!(refunded.dispute_status, None);
    assert_eq!(refunded.description.as_deref(), Some("Order #22"));
    assert_eq!(
        refunded.receipt_url.as_deref(),
        Some("https://pay.stripe.com/receipts/ch_Aada022")
    );
    let pm = refunded.payment_method.as_ref().expect("payment method");
    assert_eq!(
        (pm.kind.as_str(), pm.brand.as_deref(), pm.last4.as_deref()),
        ("card", Some("visa"), Some("4242"))
    );
    let created = serde_json::to_value(refunded.created).expect("json");
    assert_eq!(created, "2023-11-15T20:13:20Z", "ISO 8601");

    assert_eq!(
        find(&out.charges, "ch_Aada021").dispute_status.as_deref(),
        Some("needs_response")
    );
    let failed = find(&out.charges, "ch_Aada020");
    assert_eq!((failed.status.as_str(), failed.paid), ("failed", false));
    assert_eq!(failed.failure_code.as_deref(), Some("card_declined"));
    assert_eq!(
        failed.failure_message.as_deref(),
        Some("Your card was declined.")
    );
    assert_eq!(
        find(&out.charges, "ch_Aada019").amount_formatted,
        "¥1,250",
        "zero-decimal"
    );
}

#[tokio::test]
async fn paging_with_next_cursor_walks_every_charge_once() {
    let w = World::new().await;
    let (mut ids, mut cursor, mut pages) = (Vec::new(), None, 0);
    loop {
        let out = fetch_stripe_charges(&w.ctx(), &staff(w.a), args(&w, Some(10), cursor))
            .await
            .expect("page");
        pages += 1;
        ids.extend(out.charges.iter().map(|c| c.id.clone()));
        assert_eq!(out.has_more, out.next_cursor.is_some());
        match out.next_cursor {
            Some(next) => {
                assert_eq!(Some(&next), ids.last(), "the cursor is the last charge");
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..ADA_CHARGES)
        .rev()
        .map(|n| format!("ch_Aada{n:03}"))
        .collect();
    assert_eq!(ids, want, "every charge once, newest first");
    let sent: Vec<_> = w
        .fake
        .seen()
        .into_iter()
        .filter(|s| s.path == "/v1/charges")
        .map(|s| {
            (
                s.param("limit").map(str::to_owned),
                s.param("starting_after").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        sent[1],
        (Some("10".into()), Some("ch_Aada013".into())),
        "form-encoded cursor"
    );
    assert_eq!(sent[2].1.as_deref(), Some("ch_Aada003"));
}

fn field<T: std::fmt::Debug>(r: Result<T, ToolError>) -> String {
    match r {
        Err(ToolError::InvalidArgument { field, .. }) => field,
        other => panic!("expected an invalid argument, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_arguments_name_their_field() {
    let w = World::new().await;
    for limit in [0, 101] {
        let r = fetch_stripe_charges(&w.ctx(), &staff(w.a), args(&w, Some(limit), None)).await;
        assert_eq!(field(r), "limit");
    }
    let r = fetch_stripe_charges(
        &w.ctx(),
        &staff(w.a),
        args(&w, None, Some("x' OR 1".into())),
    )
    .await;
    assert_eq!(field(r), "starting_after");
    let both = FetchStripeChargesArgs {
        email: Some("ada@example.com".into()),
        ..args(&w, None, None)
    };
    let r = fetch_stripe_charges(&w.ctx(), &staff(w.a), both).await;
    assert_eq!(field(r), "customer_id, email");
    let r = fetch_stripe_charges(&w.ctx(), &staff(w.a), FetchStripeChargesArgs::default()).await;
    assert_eq!(field(r), "customer_id, email");
    let parsed = tools::find("fetch_stripe_charges")
        .expect("registered")
        .run(
            &w.ctx(),
            &staff(w.a),
            serde_json::json!({"customer_id": w.ada.id, "user_id": w.b.id()}),
        )
        .await;
    assert_eq!(field(parsed), "user_id", "no argument names a tenant");
    assert!(w.fake.seen().is_empty());
}

#[tokio::test]
async fn the_overview_has_the_customer_open_tickets_charges_refunds_and_open_disputes() {
    let w = World::new().await;
    let open = new_ticket(&w.t.db, &w.a, w.ada.id, "Where is my refund?").await;
    let args = CustomerOverviewArgs {
        customer_id: None,
        email: Some("ADA@example.com".into()),
    };
    let out = customer_overview(&w.ctx(), &staff(w.a), args)
        .await
        .expect("overview");
    assert_eq!(out.customer.id, w.ada.id);
    assert_eq!(out.customer.open_tickets, Some(1));
    assert_eq!(
        out.open_tickets.iter().map(|t| t.id).collect::<Vec<_>>(),
        [open.id]
    );
    let stripe = out.stripe_customer.expect("Stripe's customer");
    assert_eq!(
        (stripe.id.as_str(), stripe.name.as_deref()),
        ("cus_Aada", Some("Ada Lovelace"))
    );
    assert_eq!(out.charges.len(), 10);
    assert!(out.more_charges);
    assert_eq!(
        out.refunds
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["re_Aada022"]
    );
    assert_eq!(out.refunds[0].amount_formatted, "$10.22");
    assert_eq!(out.open_disputes.len(), 1);
    let d = &out.open_disputes[0];
    assert_eq!(
        (d.id.as_str(), d.charge.as_str(), d.status.as_str()),
        ("dp_Aada021", "ch_Aada021", "needs_response")
    );
}

#[test]
fn both_tools_are_in_the_catalog_read_only_and_open_world() {
    for name in ["fetch_stripe_charges", "customer_overview"] {
        let t = tools::find(name).expect("registered");
        assert_eq!(t.annotations, Annotations::READ_ONLY_OPEN_WORLD);
        let props = t.input_schema["properties"]
            .as_object()
            .expect("properties");
        assert!(props.contains_key("customer_id") && props.contains_key("email"));
        assert!(
            props.values().all(|p| p.get("description").is_some()),
            "{name}: documented fields"
        );
    }
    let props = &tools::find("fetch_stripe_charges")
        .expect("tool")
        .input_schema["properties"];
    assert!(props.get("limit").is_some() && props.get("starting_after").is_some());
}
