//! The intake: a tenant's website or back end opens tickets for its customers and adds their
//! messages. The customer is found by email or created; triage is queued as for any ticket.
//! A message is accepted only from the ticket's own customer: for anyone else the ticket is
//! "not found", so that the intake cannot be used to learn which tickets exist.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::idempotency::{self, Idempotency};
use crate::customers;
use crate::messages::{self, Sender};
use crate::tickets::{self, NewTicket};
use crate::tools::{CustomerView, MessageView, TicketView};
use crate::validate::Email;
use crate::{Db, StoreError, Tenant};

/// Who writes, as the tenant's site says.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct From {
    /// The customer's email address: the customer is found by it, or created.
    pub email: String,
    /// The customer's name, for a new customer (default: the address's local part).
    pub name: Option<String>,
}

/// A new ticket from outside.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntakeTicket {
    pub from: From,
    pub subject: String,
    /// The customer's words: untrusted text.
    pub text: String,
}

/// The sender of a message on an existing ticket.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageFrom {
    /// Must be the ticket's customer's address; otherwise the ticket is not found.
    pub email: String,
}

/// A customer's message on an existing ticket.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntakeMessage {
    pub from: MessageFrom,
    pub text: String,
}

/// The ticket opened, and its customer.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IntakeTicketCreated {
    pub ticket: TicketView,
    pub customer: CustomerView,
}

/// The message added.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IntakeMessageCreated {
    pub message: MessageView,
}

/// An answer: `201` with its body, or the first answer to the same `Idempotency-Key`.
pub type Answer = (u16, serde_json::Value);

fn to_json(v: &impl Serialize) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(v).map_err(|e| StoreError::invalid("body", e.to_string()))
}

/// Opens a ticket for the customer `new.from` names (created if new) and queues its triage.
pub async fn open_ticket(
    db: &Db,
    tenant: &Tenant,
    new: &NewIntakeTicket,
    idem: Option<&Idempotency>,
) -> Result<Answer, StoreError> {
    let mut tx = db.begin(tenant).await?;
    if let Some(idem) = idem
        && let Some(stored) = idempotency::claim(&mut tx, idem).await?
    {
        return Ok(stored);
    }
    let email = Email::parse("from.email", &new.from.email)?;
    let default_name = email.as_str().split('@').next().unwrap_or("customer");
    let name = new
        .from
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(default_name);
    let customer = customers::store::find_or_create_by_email(&mut tx, email.as_str(), name).await?;
    let ticket = tickets::store::create(
        &mut tx,
        &NewTicket {
            customer_id: customer.id,
            subject: &new.subject,
            description: Some(&new.text),
            priority: None,
        },
    )
    .await
    .map_err(|e| rename(e, "description", "text"))?;
    let body = to_json(&IntakeTicketCreated {
        ticket: ticket.into(),
        customer: CustomerView::new(customer, None),
    })?;
    if let Some(idem) = idem {
        idempotency::record(&mut tx, idem, 201, &body).await?;
    }
    tx.commit().await?;
    Ok((201, body))
}

/// Adds the customer's message to their ticket (triage is queued for it).
pub async fn add_message(
    db: &Db,
    tenant: &Tenant,
    ticket_id: Uuid,
    new: &NewIntakeMessage,
    idem: Option<&Idempotency>,
) -> Result<Answer, StoreError> {
    let mut tx = db.begin(tenant).await?;
    if let Some(idem) = idem
        && let Some(stored) = idempotency::claim(&mut tx, idem).await?
    {
        return Ok(stored);
    }
    let email = Email::parse("from.email", &new.from.email)?;
    let ticket = tickets::store::get(&mut tx, ticket_id).await?;
    let customer = customers::store::get(&mut tx, ticket.customer_id).await?;
    if customer.email != email.as_str() {
        return Err(StoreError::NotFound("ticket"));
    }
    let message = messages::store::add(&mut tx, ticket_id, Sender::Customer, &new.text)
        .await
        .map_err(|e| rename(e, "content", "text"))?;
    let body = to_json(&IntakeMessageCreated {
        message: message.into(),
    })?;
    if let Some(idem) = idem {
        idempotency::record(&mut tx, idem, 201, &body).await?;
    }
    tx.commit().await?;
    Ok((201, body))
}

/// Names a field as the intake's body calls it.
fn rename(e: StoreError, from: &str, to: &'static str) -> StoreError {
    match e {
        StoreError::Invalid { field, reason } if field == from => StoreError::invalid(to, reason),
        e => e,
    }
}
