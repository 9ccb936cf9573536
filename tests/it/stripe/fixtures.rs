//! Every charge-related fixture of Stripe's own (fixtures3.json) deserialises into async-stripe's
//! types the way the client reads answers (miniserde), alone and inside a list envelope.

use stripe_shared::{Charge, Customer, Dispute, PaymentIntent, Refund};
use stripe_types::List;

use super::data::{self, fixture};

fn read<T: miniserde::Deserialize>(resource: &str) -> T {
    let text = fixture(resource).to_string();
    miniserde::json::from_str(&text)
        .unwrap_or_else(|e| panic!("the {resource} fixture does not deserialise: {e:?}"))
}

#[test]
fn every_charge_related_fixture_deserialises() {
    let charge: Charge = read("charge");
    assert_eq!(charge.id.as_str(), "ch_1PgafuB7WZ01zgkWXYmPNZs8");
    assert_eq!(charge.amount, 100);
    assert_eq!(charge.currency.to_string(), "usd");
    assert_eq!(charge.status.as_str(), "succeeded");
    let card = charge
        .payment_method_details
        .as_ref()
        .and_then(|d| d.card.as_ref())
        .expect("card details");
    assert!(card.brand.is_some() && card.last4.is_some());

    let refund: Refund = read("refund");
    assert_eq!(refund.id.as_str(), "re_1Pgc72B7WZ01zgkWqPvrRrPE");
    assert_eq!(refund.status.as_deref(), Some("succeeded"));

    let dispute: Dispute = read("dispute");
    assert_eq!(dispute.id.as_str(), "dp_1Pgc71B7WZ01zgkWMevJiAUx");
    assert_eq!(dispute.status.as_str(), "warning_needs_response");
    assert_eq!(dispute.charge.id().as_str(), "ch_1PgafuB7WZ01zgkWXYmPNZs8");

    let customer: Customer = read("customer");
    assert_eq!(customer.id.as_str(), "cus_QXg1o8vcGmoR32");

    let intent: PaymentIntent = read("payment_intent");
    assert_eq!(intent.id.as_str(), "pi_1PgafyB7WZ01zgkWSjxsAJo3");
    assert_eq!(intent.amount, 1099);
}

#[test]
fn list_envelopes_of_fixtures_deserialise_with_their_cursor_fields() {
    let charges = data::list(
        "/v1/charges",
        vec![fixture("charge"), fixture("charge")],
        true,
    );
    let list: List<Charge> = miniserde::json::from_str(&charges.to_string()).expect("list");
    assert!(list.has_more);
    assert_eq!(list.data.len(), 2);
    assert_eq!(list.url, "/v1/charges");
    for resource in ["refund", "dispute", "customer"] {
        let text = data::list("/v1/x", vec![fixture(resource)], false).to_string();
        let ok = match resource {
            "refund" => miniserde::json::from_str::<List<Refund>>(&text).is_ok(),
            "dispute" => miniserde::json::from_str::<List<Dispute>>(&text).is_ok(),
            _ => miniserde::json::from_str::<List<Customer>>(&text).is_ok(),
        };
        assert!(ok, "a list of {resource} fixtures deserialises");
    }
}

#[test]
fn the_templated_objects_the_loopback_server_serves_deserialise_too() {
    let kind = data::ChargeKind {
        refunded: true,
        disputed: true,
        failed: true,
    };
    let c = data::charge("ch_T1", "cus_T", 1, 999, "jpy", kind);
    let charge: Charge = miniserde::json::from_str(&c.to_string()).expect("charge");
    assert_eq!(charge.failure_code.as_deref(), Some("card_declined"));
    assert!(charge.refunded && charge.disputed && !charge.paid);
    let r: Refund =
        miniserde::json::from_str(&data::refund("re_T1", &c).to_string()).expect("refund");
    assert_eq!(r.amount, 999);
    let d: Dispute =
        miniserde::json::from_str(&data::dispute("dp_T1", &c, "needs_response").to_string())
            .expect("dispute");
    assert_eq!(d.status.as_str(), "needs_response");
    let cu: Customer =
        miniserde::json::from_str(&data::customer("cus_T", "t@example.com", "T").to_string())
            .expect("customer");
    assert_eq!(cu.email.as_deref(), Some("t@example.com"));
}
