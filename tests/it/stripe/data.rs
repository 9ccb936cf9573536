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
