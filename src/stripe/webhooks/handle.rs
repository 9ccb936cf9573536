//! The `stripe_event` job: act on one stored event, once.
//!
//! - `charge.dispute.created`: an urgent ticket for the charge's customer with the reason, the
//!   amount and the evidence due date, or a note on their open ticket;
//! - `invoice.payment_failed`: a ticket (high) or a note with the failure: the card's decline
//!   code and message when a charge failed, the attempt count and the next attempt;
//! - `charge.refunded`, `customer.subscription.deleted`: a note on the customer's open ticket;
//! - anything else: stored and acknowledged, nothing done.
//!
//! A ticket needs a desk customer: one linked to the event's Stripe customer, else the one with
//! the email Stripe has for them (created if new), then linked.
//!
//! Delivery is at least once (SECURITY.md Q2): what Stripe must be asked (the disputed charge's
//! customer) is asked first, then the effect and the event's `handled_at` are written in one
//! transaction that holds the event's row, so a job run twice has one effect.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::store;
use crate::customers::{self, Customer};
use crate::jobs::{ClaimedJob, JobKind};
use crate::messages::{self, Sender};
use crate::stripe::{CustomerId, api, money};
use crate::tickets::{self, NewTicket, Priority, Status, TicketFilter};
use crate::tools::Ctx;
use crate::worker::{Done, Handler, JobError};
use crate::{StoreError, Tenant};

/// What an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A note on the customer's open ticket, else a new ticket with this subject and priority.
    Ticket {
        customer: String,
        subject: String,
        text: String,
        priority: Priority,
        /// The Stripe customer's email and name, for a customer the desk does not know yet.
        known_as: Option<(String, String)>,
    },
    /// A note on the customer's open ticket, if they have one.
    Note { customer: String, text: String },
    /// Nothing to do; why.
    Nothing(String),
}

/// Runs `stripe_event` jobs.
pub struct StripeEventHandler {
    ctx: Ctx,
}

impl StripeEventHandler {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    async fn run(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        let id = job
            .payload_id
            .ok_or_else(|| JobError::Permanent("a stripe_event job without its event".into()))?;
        let tenant = job.tenant();
        let db = self.ctx.db();
        let mut tx = db.begin(&tenant).await.map_err(transient)?;
        let event = store::get_event(&mut tx, id).await.map_err(permanent)?;
        tx.commit().await.map_err(transient)?;
        if event.handled_at.is_some() {
            return Ok(Done::with_note("handled already"));
        }
        let mut action = self.action(&tenant, &event.kind, &event.payload).await?;
        if let Action::Ticket {
            customer, known_as, ..
        } = &mut action
        {
            *known_as = self.stripe_customer(&tenant, customer).await?;
        }
        let mut tx = db.begin(&tenant).await.map_err(transient)?;
        let event = store::lock_event(&mut tx, id).await.map_err(permanent)?;
        if event.handled_at.is_some() {
            return Ok(Done::with_note("handled already"));
        }
        let (outcome, ticket) = apply(&mut tx, &action).await.map_err(transient)?;
        store::mark_handled(&mut tx, id, &outcome, ticket)
            .await
            .map_err(transient)?;
        tx.commit().await.map_err(transient)?;
        tracing::info!(%tenant, event = %event.event_id, kind = %event.kind, %outcome, "Stripe event handled");
        Ok(Done::with_note(outcome))
    }

    /// What the event asks for, asking Stripe (with the tenant's own access) what the payload
    /// does not say: a dispute names its charge, not the customer.
    async fn action(
        &self,
        tenant: &Tenant,
        kind: &str,
        payload: &Value,
    ) -> Result<Action, JobError> {
        let object = &payload["data"]["object"];
        match kind {
            "charge.dispute.created" => {
                let charge_id = id_of(&object["charge"]);
                let Some(charge_id) = charge_id else {
                    return Ok(Action::Nothing("the dispute names no charge".into()));
                };
                let customer = match customer_of(object) {
                    Some(c) => Some(c),
                    None => self.charge_customer(tenant, &charge_id).await?,
                };
                let Some(customer) = customer else {
                    return Ok(Action::Nothing(format!(
                        "charge {charge_id} has no customer"
                    )));
                };
                Ok(dispute_action(object, &charge_id, customer))
            }
            "invoice.payment_failed" => {
                let Some(customer) = customer_of(object) else {
                    return Ok(Action::Nothing("the invoice has no customer".into()));
                };
                let failure = match failed_charge_of(object) {
                    Some(ch) => self.charge_failure(tenant, &ch).await?,
                    None => None,
                };
                Ok(payment_failed_action(object, customer, failure))
            }
            "charge.refunded" => Ok(match customer_of(object) {
                Some(customer) => Action::Note {
                    text: refund_note(object),
                    customer,
                },
                None => Action::Nothing("the charge has no customer".into()),
            }),
            "customer.subscription.deleted" => Ok(match customer_of(object) {
                Some(customer) => Action::Note {
                    text: subscription_note(object),
                    customer,
                },
                None => Action::Nothing("the subscription has no customer".into()),
            }),
            other => Ok(Action::Nothing(format!("{other}: stored, not acted on"))),
        }
    }

    async fn charge_customer(
        &self,
        tenant: &Tenant,
        charge: &str,
    ) -> Result<Option<String>, JobError> {
        let Some(c) = self.charge(tenant, charge).await? else {
            return Ok(None);
        };
        Ok(c.customer.map(|c| c.id().as_str().to_owned()))
    }

    /// The decline of a failed charge, as a sentence.
    async fn charge_failure(
        &self,
        tenant: &Tenant,
        charge: &str,
    ) -> Result<Option<String>, JobError> {
        let Some(c) = self.charge(tenant, charge).await? else {
            return Ok(None);
        };
        let card = c
            .payment_method_details
            .as_ref()
            .and_then(|d| d.card.as_ref());
        let on = match card.map(|c| (c.brand.as_deref(), c.last4.as_deref())) {
            Some((Some(brand), Some(last4))) => format!(" on the {brand} card ending {last4}"),
            _ => String::new(),
        };
        let code = c.failure_code.as_deref().unwrap_or("unknown");
        let message = c.failure_message.as_deref().unwrap_or("no message");
        Ok(Some(format!(
            "charge {} failed{on}: {code} ({message})",
            c.id.as_str()
        )))
    }

    /// The email and name Stripe has for the customer, for opening a ticket for a customer the
    /// desk does not have yet; `None` when Stripe cannot say.
    async fn stripe_customer(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Option<(String, String)>, JobError> {
        let Ok(stripe) = self.ctx.stripe() else {
            return Ok(None);
        };
        let Ok(client) = stripe.client_for(self.ctx.db(), tenant).await else {
            return Ok(None);
        };
        match api::customer(&client, id).await {
            Ok(Some(c)) => Ok(c.email.clone().map(|email| {
                let name = c.name.clone().unwrap_or_else(|| email.clone());
                (email, name)
            })),
            Ok(None) => Ok(None),
            Err(e) if e.is_retryable() => Err(JobError::Transient(e.to_string())),
            Err(_) => Ok(None),
        }
    }

    /// A charge of the tenant's; `None` when Stripe is not set up or the charge is gone.
    async fn charge(
        &self,
        tenant: &Tenant,
        charge: &str,
    ) -> Result<Option<stripe_shared::Charge>, JobError> {
        let Ok(stripe) = self.ctx.stripe() else {
            return Ok(None);
        };
        let client = match stripe.client_for(self.ctx.db(), tenant).await {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(%tenant, error = %e, "no Stripe access to read an event's charge");
                return Ok(None);
            }
        };
        match api::charge(&client, charge).await {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.is_retryable() => Err(JobError::Transient(e.to_string())),
            Err(e) => {
                tracing::warn!(%tenant, charge, error = %e, "an event's charge cannot be read");
                Ok(None)
            }
        }
    }
}

impl Handler for StripeEventHandler {
    fn kinds(&self) -> &'static [JobKind] {
        &[JobKind::StripeEvent]
    }

    async fn handle(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        self.run(job).await
    }
}

/// Writes the action: the note or the ticket. The outcome for the event's row, and the ticket.
async fn apply(
    tx: &mut crate::TenantTx,
    action: &Action,
) -> Result<(String, Option<Uuid>), StoreError> {
    match action {
        Action::Nothing(why) => Ok((why.clone(), None)),
        Action::Note { customer, text } => {
            let Some(c) = customers::store::find_by_stripe_id(tx, customer).await? else {
                return Ok((format!("no customer is linked to {customer}"), None));
            };
            match open_ticket(tx, c.id).await? {
                Some(ticket) => {
                    messages::store::add(tx, ticket, Sender::Note, text).await?;
                    Ok(("noted on the open ticket".into(), Some(ticket)))
                }
                None => Ok(("the customer has no open ticket".into(), None)),
            }
        }
        Action::Ticket {
            customer,
            subject,
            text,
            priority,
            known_as,
        } => {
            let c = match (desk_customer(tx, customer).await?, known_as) {
                (Some(c), _) => c,
                (None, Some((email, name))) => match adopt(tx, customer, email, name).await? {
                    Some(c) => c,
                    None => return Ok((format!("no customer is linked to {customer}"), None)),
                },
                (None, None) => {
                    return Ok((format!("no customer is linked to {customer}"), None));
                }
            };
            if let Some(ticket) = open_ticket(tx, c.id).await? {
                messages::store::add(tx, ticket, Sender::Note, text).await?;
                return Ok(("noted on the open ticket".into(), Some(ticket)));
            }
            let new = NewTicket {
                customer_id: c.id,
                subject,
                description: Some(text),
                priority: Some(*priority),
            };
            let ticket = tickets::store::create(tx, &new).await?;
            Ok((
                format!("opened a {} ticket", priority.as_str()),
                Some(ticket.id),
            ))
        }
    }
}

/// The desk's customer linked to `stripe_id`.
async fn desk_customer(
    tx: &mut crate::TenantTx,
    stripe_id: &str,
) -> Result<Option<Customer>, StoreError> {
    if CustomerId::parse(stripe_id).is_err() {
        return Ok(None);
    }
    customers::store::find_by_stripe_id(tx, stripe_id).await
}

/// The desk's customer with the Stripe customer's email (created if new), linked to it when it
/// is linked to nothing yet; `None` when the email is not one the desk takes, or the customer
/// is linked to another Stripe customer.
async fn adopt(
    tx: &mut crate::TenantTx,
    stripe_id: &str,
    email: &str,
    name: &str,
) -> Result<Option<Customer>, StoreError> {
    let Ok(id) = CustomerId::parse(stripe_id) else {
        return Ok(None);
    };
    let c = match customers::store::find_or_create_by_email(tx, email, name).await {
        Ok(c) => c,
        Err(StoreError::Invalid { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    match c.stripe_customer_id.as_deref() {
        Some(linked) if linked == stripe_id => Ok(Some(c)),
        Some(_) => Ok(None),
        None => {
            let update = customers::CustomerUpdate {
                stripe_customer_id: Some(id),
                ..Default::default()
            };
            Ok(Some(customers::store::update(tx, c.id, &update).await?))
        }
    }
}

/// The customer's newest open ticket, else their newest pending one.
async fn open_ticket(tx: &mut crate::TenantTx, customer: Uuid) -> Result<Option<Uuid>, StoreError> {
    for status in [Status::Open, Status::Pending] {
        let filter = TicketFilter {
            status: Some(status),
            customer_id: Some(customer),
            ..Default::default()
        };
        if let Some(t) = tickets::store::list(tx, &filter, 1, None)
            .await?
            .items
            .first()
        {
            return Ok(Some(t.id));
        }
    }
    Ok(None)
}

/// An id field, whether Stripe sent the id or the expanded object.
fn id_of(v: &Value) -> Option<String> {
    v.as_str().or_else(|| v["id"].as_str()).map(str::to_owned)
}

fn customer_of(object: &Value) -> Option<String> {
    id_of(&object["customer"]).filter(|c| c.starts_with("cus_"))
}

/// The charge of a failed invoice payment: `charge` in older API versions, else the invoice's
/// payments.
fn failed_charge_of(invoice: &Value) -> Option<String> {
    if let Some(c) = id_of(&invoice["charge"]) {
        return Some(c);
    }
    invoice["payments"]["data"]
        .as_array()?
        .iter()
        .find_map(|p| id_of(&p["payment"]["charge"]))
}

fn amount(object: &Value, field: &str) -> String {
    let currency = object["currency"].as_str().unwrap_or("usd");
    money::format(object[field].as_i64().unwrap_or(0), currency)
}

fn date(v: &Value) -> Option<String> {
    let t = DateTime::<Utc>::from_timestamp(v.as_i64()?, 0)?;
    Some(t.format("%Y-%m-%d %H:%M UTC").to_string())
}

fn dispute_action(dispute: &Value, charge: &str, customer: String) -> Action {
    let id = dispute["id"].as_str().unwrap_or("a dispute");
    let reason = dispute["reason"].as_str().unwrap_or("unstated");
    let due = date(&dispute["evidence_details"]["due_by"]);
    let due = match due {
        Some(d) => format!("Evidence is due by {d}."),
        None => "Stripe gives no evidence due date.".to_owned(),
    };
    let amount = amount(dispute, "amount");
    Action::Ticket {
        subject: format!("Dispute opened: {amount} ({reason})"),
        text: format!(
            "Stripe reports a dispute ({id}) of charge {charge} for {amount}. Reason: {reason}. \
             {due} Respond in the Stripe dashboard before then, or the dispute is lost."
        ),
        priority: Priority::Urgent,
        customer,
        known_as: None,
    }
}

fn payment_failed_action(invoice: &Value, customer: String, failure: Option<String>) -> Action {
    let number = invoice["number"]
        .as_str()
        .or_else(|| invoice["id"].as_str())
        .unwrap_or("an invoice");
    let attempts = invoice["attempt_count"].as_i64().unwrap_or(0);
    let next = match date(&invoice["next_payment_attempt"]) {
        Some(d) => format!("Stripe tries again on {d}."),
        None => "Stripe will not try again by itself.".to_owned(),
    };
    let failure = failure.map_or(String::new(), |f| format!(" The {f}."));
    Action::Ticket {
        subject: format!("Payment failed: invoice {number}"),
        text: format!(
            "Stripe could not collect invoice {number} ({} due), attempt {attempts}.{failure} \
             {next}",
            amount(invoice, "amount_due")
        ),
        priority: Priority::High,
        customer,
        known_as: None,
    }
}

fn refund_note(charge: &Value) -> String {
    let id = charge["id"].as_str().unwrap_or("a charge");
    format!(
        "Stripe: charge {id} was refunded, {} of {}.",
        amount(charge, "amount_refunded"),
        amount(charge, "amount")
    )
}

fn subscription_note(sub: &Value) -> String {
    let id = sub["id"].as_str().unwrap_or("a subscription");
    let ended = date(&sub["ended_at"]).map_or(String::new(), |d| format!(" It ended on {d}."));
    format!("Stripe: subscription {id} was cancelled.{ended}")
}

fn transient(e: StoreError) -> JobError {
    JobError::Transient(e.to_string())
}

fn permanent(e: StoreError) -> JobError {
    if e.is_infrastructure() {
        transient(e)
    } else {
        JobError::Permanent(e.to_string())
    }
}
