//! What the tools return about Stripe objects: the fields a support agent reads, amounts also
//! written out, times in ISO 8601, free text with credentials masked (SECURITY.md M5).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use stripe_shared::{Charge, Customer, Dispute, Refund};

use super::money;
use crate::secrets;

/// Statuses of a dispute that still wait on the merchant or the card network.
pub const OPEN_DISPUTE_STATUSES: [&str; 4] = [
    "needs_response",
    "under_review",
    "warning_needs_response",
    "warning_under_review",
];

/// How a charge was paid.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PaymentMethodView {
    /// `card`, `sepa_debit`, `us_bank_account`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The card brand (`visa`, `mastercard`, …), for cards.
    pub brand: Option<String>,
    /// The last four digits of the card or account number.
    pub last4: Option<String>,
}

/// A charge of the customer.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChargeView {
    /// Stripe's id (`ch_…`); pass the last one as `starting_after` for the next page.
    pub id: String,
    /// In the currency's smallest unit (cents for USD, yen for JPY).
    pub amount: i64,
    /// Lower-case ISO code, e.g. `usd`.
    pub currency: String,
    /// The amount for people, e.g. `$12.50`.
    pub amount_formatted: String,
    /// `succeeded`, `pending` or `failed`.
    pub status: String,
    pub paid: bool,
    /// True when the whole amount was refunded.
    pub refunded: bool,
    pub amount_refunded: i64,
    pub amount_refunded_formatted: String,
    /// Status of the charge's dispute (`needs_response`, `won`, `lost`, …); null if none.
    pub dispute_status: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub description: Option<String>,
    pub receipt_url: Option<String>,
    pub created: DateTime<Utc>,
    pub payment_method: Option<PaymentMethodView>,
}

impl ChargeView {
    /// The charge as shown, with the status of its dispute when it has one.
    pub fn new(c: &Charge, dispute_status: Option<String>) -> Self {
        let currency = c.currency.to_string();
        let payment_method = c.payment_method_details.as_ref().map(|d| {
            let (brand, last4) = match (&d.card, &d.sepa_debit, &d.us_bank_account) {
                (Some(card), _, _) => (card.brand.clone(), card.last4.clone()),
                (_, Some(sepa), _) => (None, sepa.last4.clone()),
                (_, _, Some(bank)) => (None, bank.last4.clone()),
                _ => (None, None),
            };
            PaymentMethodView {
                kind: d.type_.clone(),
                brand,
                last4,
            }
        });
        Self {
            id: c.id.as_str().to_owned(),
            amount: c.amount,
            amount_formatted: money::format(c.amount, &currency),
            status: c.status.as_str().to_owned(),
            paid: c.paid,
            refunded: c.refunded,
            amount_refunded: c.amount_refunded,
            amount_refunded_formatted: money::format(c.amount_refunded, &currency),
            dispute_status,
            failure_code: c.failure_code.clone(),
            failure_message: c.failure_message.clone(),
            description: c.description.as_deref().map(masked),
            receipt_url: c.receipt_url.clone(),
            created: time(c.created),
            payment_method,
            currency,
        }
    }
}

/// A refund of one of the customer's charges.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RefundView {
    pub id: String,
    /// The refunded charge (`ch_…`).
    pub charge: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub amount_formatted: String,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: Option<String>,
    /// `duplicate`, `fraudulent`, `requested_by_customer`, … when given.
    pub reason: Option<String>,
    pub created: DateTime<Utc>,
}

impl From<&Refund> for RefundView {
    fn from(r: &Refund) -> Self {
        let currency = r.currency.to_string();
        Self {
            id: r.id.as_str().to_owned(),
            charge: r.charge.as_ref().map(|c| c.id().as_str().to_owned()),
            amount: r.amount,
            amount_formatted: money::format(r.amount, &currency),
            status: r.status.clone(),
            reason: r.reason.as_ref().map(|x| x.as_str().to_owned()),
            created: time(r.created),
            currency,
        }
    }
}

/// A dispute (chargeback or inquiry) of one of the customer's charges.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DisputeView {
    pub id: String,
    pub charge: String,
    pub amount: i64,
    pub currency: String,
    pub amount_formatted: String,
    /// `needs_response`, `under_review`, `won`, `lost`, `warning_…`.
    pub status: String,
    /// The cardholder's stated reason: `fraudulent`, `product_not_received`, …
    pub reason: String,
    /// When evidence is due, if a response is needed.
    pub evidence_due_by: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
}

impl From<&Dispute> for DisputeView {
    fn from(d: &Dispute) -> Self {
        let currency = d.currency.to_string();
        Self {
            id: d.id.as_str().to_owned(),
            charge: d.charge.id().as_str().to_owned(),
            amount: d.amount,
            amount_formatted: money::format(d.amount, &currency),
            status: d.status.as_str().to_owned(),
            reason: d.reason.clone(),
            evidence_due_by: d.evidence_details.due_by.map(time),
            created: time(d.created),
            currency,
        }
    }
}

/// The customer as Stripe knows them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StripeCustomerView {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// True when Stripe's latest invoice or charge for them failed.
    pub delinquent: Option<bool>,
    /// Credit (negative) or amount owed (positive), written out, in their currency.
    pub balance_formatted: Option<String>,
    pub created: DateTime<Utc>,
}

impl From<&Customer> for StripeCustomerView {
    fn from(c: &Customer) -> Self {
        let balance = match (c.balance, &c.currency) {
            (Some(b), Some(cur)) => Some(money::format(b, &cur.to_string())),
            _ => None,
        };
        Self {
            id: c.id.as_str().to_owned(),
            name: c.name.as_deref().map(masked),
            email: c.email.clone(),
            delinquent: c.delinquent,
            balance_formatted: balance,
            created: time(c.created),
        }
    }
}

fn time(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

fn masked(text: &str) -> String {
    secrets::redact(text).into_owned()
}
