//! Stripe objects for the loopback server, made from Stripe's own fixtures
//! (`../shared/data/stripe/fixtures3.json`, read in place, never copied).

use std::sync::LazyLock;

use serde_json::{Value, json};

/// The fixture file, next to the project.
pub fn fixtures_path() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/stripe/fixtures3.json"
    )
    .to_owned()
}

static RESOURCES: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(fixtures_path()).expect("read fixtures3.json");
    let mut all: Value = serde_json::from_str(&text).expect("fixtures3.json is JSON");
    all["resources"].take()
});

/// Stripe's fixture for a resource (`charge`, `refund`, `dispute`, `customer`, …).
pub fn fixture(resource: &str) -> Value {
    RESOURCES
        .get(resource)
        .unwrap_or_else(|| panic!("no fixture {resource}"))
        .clone()
}

fn merge(mut base: Value, changes: Value) -> Value {
    if let (Some(b), Value::Object(c)) = (base.as_object_mut(), changes) {
        b.extend(c);
    }
    base
}

/// A customer of an account.
pub fn customer(id: &str, email: &str, name: &str) -> Value {
    merge(
        fixture("customer"),
        json!({"id": id, "email": email, "name": name, "created": 1_690_000_000}),
    )
}

/// What is special about a charge.
#[derive(Clone, Copy, Default)]
pub struct ChargeKind {
    pub refunded: bool,
    pub disputed: bool,
    pub failed: bool,
}

/// A card charge of `customer`; `n` orders charges in time (higher is newer).
pub fn charge(
    id: &str,
    customer: &str,
    n: i64,
    amount: i64,
    currency: &str,
    kind: ChargeKind,
) -> Value {
    let mut c = merge(
        fixture("charge"),
        json!({
            "id": id,
            "customer": customer,
            "amount": amount,
            "amount_captured": amount,
            "currency": currency,
            "created": 1_700_000_000 + n * 3600,
            "description": format!("Order #{n}"),
            "receipt_url": format!("https://pay.stripe.com/receipts/{id}"),
            "captured": true,
        }),
    );
    c["payment_method_details"]["card"]["brand"] = json!("visa");
    c["payment_method_details"]["card"]["last4"] = json!("4242");
    if kind.refunded {
        c["refunded"] = json!(true);
        c["amount_refunded"] = json!(amount);
    }
    if kind.disputed {
        c["disputed"] = json!(true);
    }
    if kind.failed {
        c["status"] = json!("failed");
        c["paid"] = json!(false);
        c["failure_code"] = json!("card_declined");
        c["failure_message"] = json!("Your card was declined.");
    }
    c
}

/// A refund of a whole charge.
pub fn refund(id: &str, charge: &Value) -> Value {
    merge(
        fixture("refund"),
        json!({
            "id": id,
            "charge": charge["id"],
            "amount": charge["amount"],
            "currency": charge["currency"],
            "created": charge["created"].as_i64().unwrap_or(0) + 60,
            "reason": "requested_by_customer",
            "status": "succeeded",
        }),
    )
}

/// A dispute of a charge in `status`.
pub fn dispute(id: &str, charge: &Value, status: &str) -> Value {
    merge(
        fixture("dispute"),
        json!({
            "id": id,
            "charge": charge["id"],
            "amount": charge["amount"],
            "currency": charge["currency"],
            "created": charge["created"].as_i64().unwrap_or(0) + 86_400,
            "status": status,
            "reason": "product_not_received",
        }),
    )
}

/// Stripe's list envelope.
pub fn list(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({"object": "list", "url": url, "has_more": has_more, "data": data})
}

/// Stripe's error envelope.
pub fn error(kind: &str, code: Option<&str>, message: &str) -> Value {
    json!({"error": {"type": kind, "code": code, "message": message}})
}

/// A product (what a price sells), e.g. "Coffee Club".
pub fn product(id: &str, name: &str) -> Value {
    merge(fixture("product"), json!({"id": id, "name": name}))
}

/// What is special about a subscription.
#[derive(Clone, Copy, Default)]
pub struct SubKind<'a> {
    /// The price's nickname; `None` leaves the product's name to name it.
    pub nickname: Option<&'a str>,
    /// `active`, `canceled`, `past_due`, …
    pub status: &'a str,
    pub cancel_at_period_end: bool,
}

/// A monthly subscription of `customer` to `product` at `amount` a month; `n` orders them in
/// time (higher is newer); its period ends `period_end` (unix seconds).
pub fn subscription(
    id: &str,
    customer: &str,
    n: i64,
    product: &str,
    amount: i64,
    period_end: i64,
    kind: SubKind<'_>,
) -> Value {
    let mut s = merge(
        fixture("subscription"),
        json!({
            "id": id,
            "customer": customer,
            "created": 1_700_000_000 + n * 3600,
            "status": kind.status,
            "cancel_at_period_end": kind.cancel_at_period_end,
            "cancel_at": if kind.cancel_at_period_end { json!(period_end) } else { Value::Null },
            "canceled_at": Value::Null,
            "ended_at": if kind.status == "canceled" { json!(period_end) } else { Value::Null },
            "trial_end": Value::Null,
            "trial_start": Value::Null,
            "latest_invoice": Value::Null,
            "currency": "usd",
        }),
    );
    let item = &mut s["items"]["data"][0];
    item["subscription"] = json!(id);
    item["current_period_end"] = json!(period_end);
    item["current_period_start"] = json!(period_end - 30 * 86_400);
    item["quantity"] = json!(1);
    item["price"]["product"] = json!(product);
    item["price"]["unit_amount"] = json!(amount);
    item["price"]["unit_amount_decimal"] = json!(amount.to_string());
    item["price"]["nickname"] = json!(kind.nickname);
    item["price"]["recurring"]["interval"] = json!("month");
    item["price"]["recurring"]["interval_count"] = json!(1);
    item["plan"]["product"] = json!(product);
    s["items"]["url"] = json!(format!("/v1/subscription_items?subscription={id}"));
    s
}

/// What an invoice bills and what paid it.
#[derive(Clone, Copy, Default)]
pub struct Billed<'a> {
    pub subscription: Option<&'a str>,
    pub charge: Option<&'a str>,
}

/// An invoice of `customer` for `billed.subscription` (if any), paid by `billed.charge` (if any).
pub fn invoice(
    id: &str,
    customer: &str,
    n: i64,
    number: &str,
    amount: i64,
    status: &str,
    billed: Billed<'_>,
) -> Value {
    let Billed {
        subscription,
        charge,
    } = billed;
    let created = 1_700_000_000 + n * 3600;
    let paid = status == "paid";
    let parent = match subscription {
        Some(sub) => json!({
            "type": "subscription_details",
            "quote_details": null,
            "subscription_details": {"metadata": {}, "subscription": sub, "subscription_proration_date": null},
        }),
        None => Value::Null,
    };
    let mut i = merge(
        fixture("invoice"),
        json!({
            "id": id,
            "customer": customer,
            "number": number,
            "created": created,
            "currency": "usd",
            "amount_due": amount,
            "amount_paid": if paid { amount } else { 0 },
            "amount_remaining": if paid { 0 } else { amount },
            "status": status,
            "billing_reason": if subscription.is_some() { "subscription_cycle" } else { "manual" },
            "attempt_count": if paid { 1 } else { 2 },
            "attempted": true,
            "next_payment_attempt": if paid { Value::Null } else { json!(created + 3 * 86_400) },
            "period_start": created - 30 * 86_400,
            "period_end": created,
            "parent": parent,
            "subscription": Value::Null,
            "hosted_invoice_url": format!("https://invoice.stripe.com/i/{id}"),
            "invoice_pdf": format!("https://pay.stripe.com/invoice/{id}/pdf"),
        }),
    );
    i.as_object_mut().map(|o| o.remove("payments"));
    if let Some(ch) = charge {
        let mut p = fixture("invoice_payment");
        p["id"] = json!(format!("inpay_{id}"));
        p["invoice"] = json!(id);
        p["currency"] = json!("usd");
        p["amount_paid"] = json!(amount);
        p["amount_requested"] = json!(amount);
        p["status"] = json!("paid");
        p["payment"] = json!({"type": "charge", "charge": ch});
        i["payments_template"] = list(
            &format!("/v1/invoice_payments?invoice={id}"),
            vec![p],
            false,
        );
    }
    i
}
