//! What a person does at the desk — through the REST API, the inbox page or the CLI alike: open
//! tickets, write messages and notes, edit, approve and discard drafts, run triage again, export
//! what is held about a customer. Each operation is one tenant transaction over the stores, and
//! records which credential made each decision (`by`).

pub mod inbox;
mod retry;

pub use retry::{DraftFate, draft_before_retry};

use serde::Serialize;
use uuid::Uuid;

use crate::customers::{self, Customer, CustomerRef};
use crate::messages::{self, Decision, Message, Sender};
use crate::tickets::{self, NewTicket, Priority, Status, Ticket};
use crate::{Db, StoreError, Tenant, jobs};

/// Opens a ticket for a customer named by id or email, and queues its triage.
pub async fn create_ticket(
    db: &Db,
    tenant: &Tenant,
    customer: &CustomerRef,
    subject: &str,
    description: Option<&str>,
    priority: Option<Priority>,
) -> Result<(Ticket, Customer), StoreError> {
    let mut tx = db.begin(tenant).await?;
    let customer = customers::store::find(&mut tx, customer).await?;
    let new = NewTicket {
        customer_id: customer.id,
        subject,
        description,
        priority,
    };
    let ticket = tickets::store::create(&mut tx, &new).await?;
    tx.commit().await?;
    Ok((ticket, customer))
}

/// Changes status and/or priority, refusing when the ticket changed since `seen` (its
/// `updated_at` when the caller read it).
pub async fn update_ticket(
    db: &Db,
    tenant: &Tenant,
    id: Uuid,
    seen: Option<chrono::DateTime<chrono::Utc>>,
    status: Option<Status>,
    priority: Option<Priority>,
) -> Result<Ticket, StoreError> {
    if status.is_none() && priority.is_none() {
        return Err(StoreError::invalid(
            "status, priority",
            "give status, priority or both",
        ));
    }
    let mut tx = db.begin(tenant).await?;
    let ticket = tickets::store::update_if_unchanged(&mut tx, id, seen, status, priority).await?;
    tx.commit().await?;
    Ok(ticket)
}

pub async fn delete_ticket(db: &Db, tenant: &Tenant, id: Uuid) -> Result<(), StoreError> {
    let mut tx = db.begin(tenant).await?;
    tickets::store::delete(&mut tx, id).await?;
    tx.commit().await
}

/// Who writes a message a person adds: a reply to the customer, the customer's own words
/// (entered for them), or an internal note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    Agent,
    Customer,
    Note,
}

impl From<Author> for Sender {
    fn from(a: Author) -> Self {
        match a {
            Author::Agent => Sender::Agent,
            Author::Customer => Sender::Customer,
            Author::Note => Sender::Note,
        }
    }
}

/// Adds a message to a ticket. A customer's message queues triage; a note never does and is
/// never delivered. `send` hands an agent's reply to the email channel (a `deliver` job); it is
/// refused for anything but an agent's reply.
pub async fn add_message(
    db: &Db,
    tenant: &Tenant,
    ticket_id: Uuid,
    author: Author,
    content: &str,
    send: bool,
) -> Result<Message, StoreError> {
    if send && author != Author::Agent {
        return Err(StoreError::invalid(
            "send",
            "only an agent's reply can be sent to the customer",
        ));
    }
    let mut tx = db.begin(tenant).await?;
    let mut message = messages::store::add(&mut tx, ticket_id, author.into(), content).await?;
    if send {
        message = messages::store::queue_delivery(&mut tx, ticket_id, message.id).await?;
        jobs::store::enqueue_delivery(&mut tx, ticket_id, message.id).await?;
    }
    tx.commit().await?;
    Ok(message)
}

/// Replaces a draft's text; the model's own is kept as `original_content`.
pub async fn edit_draft(
    db: &Db,
    tenant: &Tenant,
    ticket_id: Uuid,
    message_id: Uuid,
    content: &str,
    by: &str,
) -> Result<Message, StoreError> {
    let mut tx = db.begin(tenant).await?;
    let m = messages::store::edit_draft(&mut tx, ticket_id, message_id, content, by).await?;
    tx.commit().await?;
    Ok(m)
}

/// Approves a draft, with a last edit when `content` is given, and hands it to the email
/// channel; or discards it. Only a draft in state `draft` can be decided.
pub async fn decide_draft(
    db: &Db,
    tenant: &Tenant,
    ticket_id: Uuid,
    message_id: Uuid,
    decision: Decision,
    content: Option<&str>,
    by: &str,
) -> Result<Message, StoreError> {
    let mut tx = db.begin(tenant).await?;
    if let Some(content) = content {
        if decision == Decision::Discard {
            return Err(StoreError::invalid(
                "content",
                "a discarded draft takes no edit",
            ));
        }
        messages::store::edit_draft(&mut tx, ticket_id, message_id, content, by).await?;
    }
    let mut m = messages::store::decide_draft(&mut tx, ticket_id, message_id, decision, by).await?;
    if decision == Decision::Approve {
        m = messages::store::queue_delivery(&mut tx, ticket_id, m.id).await?;
        jobs::store::enqueue_delivery(&mut tx, ticket_id, m.id).await?;
    }
    tx.commit().await?;
    Ok(m)
}

/// Sends a reply again after its delivery `failed`, became `uncertain` (the customer may then
/// get it twice, with the same Message-ID) or found `no_channel`: a person's decision.
pub async fn resend(
    db: &Db,
    tenant: &Tenant,
    ticket_id: Uuid,
    message_id: Uuid,
) -> Result<Message, StoreError> {
    use crate::messages::DeliveryState as D;
    let mut tx = db.begin(tenant).await?;
    let current = messages::store::lock_for_delivery(&mut tx, ticket_id, message_id).await?;
    match current.delivery_state {
        Some(D::Failed | D::Uncertain | D::NoChannel) => {}
        Some(state) => {
            return Err(StoreError::Conflict(format!(
                "the message is {} already: only a failed, uncertain or no_channel delivery \
                 can be sent again",
                state.as_str()
            )));
        }
        None => return Err(StoreError::NotFound("message to send")),
    }
    let m = messages::store::queue_delivery(&mut tx, ticket_id, message_id).await?;
    jobs::store::requeue_delivery(&mut tx, ticket_id, message_id).await?;
    tx.commit().await?;
    Ok(m)
}

/// Runs triage of the ticket again: its latest draft, if still a draft, is replaced; a draft a
/// person has approved, sent or discarded is a conflict.
pub async fn retriage(db: &Db, tenant: &Tenant, ticket_id: Uuid) -> Result<(), StoreError> {
    let mut tx = db.begin(tenant).await?;
    tickets::store::get(&mut tx, ticket_id).await?;
    let trigger = match messages::store::latest_draft(&mut tx, ticket_id).await? {
        Some(draft) => {
            messages::store::delete_open_draft(&mut tx, ticket_id, draft.id).await?;
            draft.reply_to.filter(|r| *r != ticket_id)
        }
        None => messages::store::latest_from_customer(&mut tx, ticket_id)
            .await?
            .map(|m| m.id),
    };
    jobs::store::requeue_triage(&mut tx, ticket_id, trigger).await?;
    tx.commit().await
}

/// Everything held about a customer, for a data-access request.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CustomerExport {
    #[schemars(with = "serde_json::Value")]
    pub customer: Customer,
    pub tickets: Vec<ExportedTicket>,
}

/// A ticket of the export, with every message.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ExportedTicket {
    #[serde(flatten)]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub ticket: Ticket,
    #[schemars(with = "Vec<serde_json::Value>")]
    pub messages: Vec<Message>,
}

pub async fn export_customer(
    db: &Db,
    tenant: &Tenant,
    customer_id: Uuid,
) -> Result<CustomerExport, StoreError> {
    let mut tx = db.begin(tenant).await?;
    let customer = customers::store::get(&mut tx, customer_id).await?;
    let mut tickets = Vec::new();
    for ticket in tickets::store::of_customer(&mut tx, customer_id).await? {
        let messages = messages::store::list_by_ticket(&mut tx, ticket.id).await?;
        tickets.push(ExportedTicket { ticket, messages });
    }
    tx.commit().await?;
    Ok(CustomerExport { customer, tickets })
}
