//! What the tools return about subscriptions, invoices and failed payments: the fields a support
//! agent reads, amounts also written out, times in ISO 8601. No hosted-invoice or PDF URL: a
//! page anyone with the link can pay or read has no place in a draft.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use stripe_shared::{Charge, Invoice, Subscription, SubscriptionItem};

use super::money;
use crate::secrets;

/// A subscription of the customer.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubscriptionView {
    /// Stripe's id (`sub_…`); pass the last one as `starting_after` for the next page.
    pub id: String,
    /// What is subscribed to: each item's price nickname, else its product's name.
    pub name: String,
    /// What one period costs, in the currency's smallest unit (every item, times its quantity).
    pub amount: i64,
    pub currency: String,
    /// The amount for people, e.g. `$20.00`.
    pub amount_formatted: String,
    /// `day`, `week`, `month` or `year`.
    pub interval: Option<String>,
    /// How many intervals one period lasts (3 with `month` is quarterly).
    pub interval_count: Option<u64>,
    /// `active`, `trialing`, `past_due`, `unpaid`, `canceled`, `incomplete`, `paused`, …
    pub status: String,
    /// When the period paid for ends (the next renewal, unless cancelled).
    pub current_period_end: Option<DateTime<Utc>>,
    /// True when it is set to end at `current_period_end` instead of renewing.
    pub cancel_at_period_end: bool,
    /// When it is set to be cancelled, if it is.
    pub cancel_at: Option<DateTime<Utc>>,
    /// When it ended, if it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// When the trial ends (or ended), if there is one.
    pub trial_end: Option<DateTime<Utc>>,
    /// When the customer loses access: when it ended, or when a cancellation takes effect;
    /// null while it renews.
    pub access_ends_at: Option<DateTime<Utc>>,
    /// The latest invoice (`in_…`).
    pub latest_invoice: Option<String>,
    /// That invoice's status: `paid`, `open`, `draft`, `uncollectible`, `void`.
    pub latest_invoice_status: Option<String>,
    pub created: DateTime<Utc>,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> Self {
        let items = &s.items.data;
        let names: Vec<String> = items.iter().map(item_name).collect();
        let amount = items
            .iter()
            .map(|i| {
                let qty = i64::try_from(i.quantity.unwrap_or(1)).unwrap_or(1);
                i.price.unit_amount.unwrap_or(0).saturating_mul(qty)
            })
            .fold(0i64, i64::saturating_add);
        let recurring = items.first().and_then(|i| i.price.recurring.as_ref());
        let period_end = items.iter().map(|i| i.current_period_end).max();
        let currency = s.currency.to_string();
        let cancel_at = s.cancel_at.map(time);
        let ended_at = s.ended_at.map(time);
        let current_period_end = period_end.map(time);
        let access_ends_at = ended_at.or(cancel_at).or(if s.cancel_at_period_end {
            current_period_end
        } else {
            None
        });
        let latest = s.latest_invoice.as_ref();
        Self {
            id: s.id.as_str().to_owned(),
            name: masked(&names.join(" + ")),
            amount,
            amount_formatted: money::format(amount, &currency),
            currency,
            interval: recurring.map(|r| r.interval.as_str().to_owned()),
            interval_count: recurring.map(|r| r.interval_count),
            status: s.status.as_str().to_owned(),
            current_period_end,
            cancel_at_period_end: s.cancel_at_period_end,
            cancel_at,
            ended_at,
            trial_end: s.trial_end.map(time),
            access_ends_at,
            latest_invoice: latest
                .and_then(|i| i.id().as_ref())
                .map(|id| id.as_str().to_owned()),
            latest_invoice_status: latest
                .and_then(|i| i.as_object())
                .and_then(|i| i.status.as_ref())
                .map(|st| st.as_str().to_owned()),
            created: time(s.created),
        }
    }
}

fn item_name(i: &SubscriptionItem) -> String {
    if let Some(nick) = i.price.nickname.as_deref().filter(|n| !n.trim().is_empty()) {
        return nick.to_owned();
    }
    match i.price.product.as_object() {
        Some(p) => p.name.clone(),
        None => i.price.product.id().as_str().to_owned(),
    }
}

/// An invoice of the customer.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InvoiceView {
    /// Stripe's id (`in_…`); pass the last one as `starting_after` for the next page.
    pub id: String,
    /// The number printed on the invoice, e.g. `1A2B3C-0007` (none while a draft).
    pub number: Option<String>,
    pub currency: String,
    pub amount_due: i64,
    pub amount_due_formatted: String,
    pub amount_paid: i64,
    pub amount_paid_formatted: String,
    /// `draft`, `open` (unpaid), `paid`, `uncollectible` or `void`.
    pub status: Option<String>,
    /// Why it was made: `subscription_cycle` (a renewal), `subscription_create`,
    /// `subscription_update`, `manual`, …
    pub billing_reason: Option<String>,
    /// Payment attempts so far.
    pub attempt_count: u64,
    /// When Stripe tries to collect it again, if it will.
    pub next_payment_attempt: Option<DateTime<Utc>>,
    /// The charge that paid it (`ch_…`), when one did.
    pub charge: Option<String>,
    /// The subscription it bills (`sub_…`), if any.
    pub subscription: Option<String>,
    /// The service period it covers.
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub created: DateTime<Utc>,
}

impl From<&Invoice> for InvoiceView {
    fn from(i: &Invoice) -> Self {
        let currency = i.currency.to_string();
        let charge = i.payments.as_ref().and_then(|p| {
            p.data
                .iter()
                .filter(|p| p.status == "paid")
                .chain(p.data.iter())
                .find_map(|p| p.payment.charge.as_ref())
                .map(|c| c.id().as_str().to_owned())
        });
        let from_parent = i
            .parent
            .as_ref()
            .and_then(|p| p.subscription_details.as_ref())
            .map(|d| d.subscription.id().as_str().to_owned());
        let subscription =
            from_parent.or_else(|| i.subscription.as_ref().map(|s| s.id().as_str().to_owned()));
        Self {
            id: i
                .id
                .as_ref()
                .map(|id| id.as_str().to_owned())
                .unwrap_or_default(),
            number: i.number.clone(),
            amount_due: i.amount_due,
            amount_due_formatted: money::format(i.amount_due, &currency),
            amount_paid: i.amount_paid,
            amount_paid_formatted: money::format(i.amount_paid, &currency),
            status: i.status.as_ref().map(|s| s.as_str().to_owned()),
            billing_reason: i.billing_reason.as_ref().map(|r| r.as_str().to_owned()),
            attempt_count: i.attempt_count,
            next_payment_attempt: i.next_payment_attempt.map(time),
            charge,
            subscription,
            period_start: time(i.period_start),
            period_end: time(i.period_end),
            created: time(i.created),
            currency,
        }
    }
}

/// The customer's most recent failed payment.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FailedPaymentView {
    /// The failed charge (`ch_…`).
    pub charge: String,
    pub amount_formatted: String,
    /// Stripe's code, e.g. `card_declined`, `insufficient_funds`, `expired_card`.
    pub failure_code: Option<String>,
    /// Stripe's explanation, e.g. "Your card was declined."
    pub failure_message: Option<String>,
    /// The card brand (`visa`, `mastercard`, …), for cards.
    pub brand: Option<String>,
    /// The last four digits of the card or account.
    pub last4: Option<String>,
    /// When the payment was attempted.
    pub at: DateTime<Utc>,
}

impl FailedPaymentView {
    /// The view of a failed charge; `None` for one that did not fail.
    pub fn of(c: &Charge) -> Option<Self> {
        if c.status.as_str() != "failed" {
            return None;
        }
        let card = c
            .payment_method_details
            .as_ref()
            .and_then(|d| d.card.as_ref());
        Some(Self {
            charge: c.id.as_str().to_owned(),
            amount_formatted: money::format(c.amount, &c.currency.to_string()),
            failure_code: c.failure_code.clone(),
            failure_message: c.failure_message.as_deref().map(masked),
            brand: card.and_then(|c| c.brand.clone()),
            last4: card.and_then(|c| c.last4.clone()),
            at: time(c.created),
        })
    }
}

fn time(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

fn masked(text: &str) -> String {
    secrets::redact(text).into_owned()
}
