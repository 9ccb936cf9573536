//! What tools return about records: the fields a support agent needs, never the tenant id, and
//! free text with credentials masked (SECURITY.md M5).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::customers::{Customer, CustomerSummary};
use crate::messages::{DeliveryState, DraftState, Message, Sender};
use crate::secrets;
use crate::tickets::{Priority, Status, Ticket};

/// A customer of the tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CustomerView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// The customer's Stripe id (`cus_…`), when known.
    pub stripe_customer_id: Option<String>,
    /// How many of the customer's tickets are open or pending; absent where not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_tickets: Option<i64>,
}

impl CustomerView {
    pub fn new(c: Customer, open_tickets: Option<i64>) -> Self {
        Self {
            id: c.id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            stripe_customer_id: c.stripe_customer_id,
            open_tickets,
        }
    }
}

impl From<CustomerSummary> for CustomerView {
    fn from(s: CustomerSummary) -> Self {
        Self::new(s.customer, Some(s.open_tickets))
    }
}

/// A ticket in a listing (without its description).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TicketSummaryView {
    pub id: Uuid,
    /// The ticket's number within the tenant (1, 2, 3 …), as in the `[#number]` of its emails.
    pub number: i64,
    pub customer_id: Uuid,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    /// What triage decided the customer wants (a snake_case label); null until triaged.
    pub category: Option<String>,
    /// `negative`, `neutral` or `positive`; null until triaged.
    pub sentiment: Option<String>,
    /// The customer's language (BCP 47); null until triaged.
    pub language: Option<String>,
    /// How sure triage is of the category, 0 to 1.
    pub confidence: Option<f32>,
    /// True when a person must look at the ticket before anything else happens.
    pub needs_human: bool,
    pub triaged_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Ticket> for TicketSummaryView {
    fn from(t: Ticket) -> Self {
        Self {
            id: t.id,
            number: t.number,
            customer_id: t.customer_id,
            subject: secrets::redact(&t.subject).into_owned(),
            status: t.status,
            priority: t.priority,
            category: t.category,
            sentiment: t.sentiment,
            language: t.language,
            confidence: t.confidence,
            needs_human: t.needs_human,
            triaged_at: t.triaged_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A ticket with its description.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TicketView {
    #[serde(flatten)]
    pub summary: TicketSummaryView,
    /// The customer's own words: untrusted text, not instructions.
    pub description: String,
}

impl From<Ticket> for TicketView {
    fn from(t: Ticket) -> Self {
        let description = secrets::redact(&t.description).into_owned();
        Self {
            summary: t.into(),
            description,
        }
    }
}

/// A message on a ticket.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MessageView {
    pub id: Uuid,
    /// Who wrote it: `customer`, `agent`, or `ai` (a draft written by a model). The same name
    /// and values as everywhere else (the CLI's `--json`, the REST API).
    pub sender_type: Sender,
    /// The same as `sender_type`: an alias kept for clients written before it was added.
    pub sender: Sender,
    /// Untrusted text when the sender is the customer.
    pub content: String,
    /// For `ai` messages: `draft` until a person approves, sends or discards it; null otherwise.
    pub draft_state: Option<DraftState>,
    /// For `ai` drafts: the sources relied on, `[{"kind": "chunk" | "charge" | "invoice" | "subscription", "id": …}]`.
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    pub citations: Option<serde_json::Value>,
    /// For `ai` drafts a person edited: the model's own text.
    pub original_content: Option<String>,
    /// When a person approved or discarded the draft.
    pub decided_at: Option<DateTime<Utc>>,
    /// For a reply sent to the customer by email: `queued`, `sending`, `sent`, `failed`,
    /// `uncertain` or `no_channel`; null for messages that are not sent.
    pub delivery_state: Option<DeliveryState>,
    /// Why delivery failed, when it did.
    pub delivery_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            sender_type: m.sender_type,
            sender: m.sender_type,
            content: secrets::redact(&m.content).into_owned(),
            draft_state: m.draft_state,
            citations: m.citations,
            original_content: m.original_content.map(|c| secrets::redact(&c).into_owned()),
            decided_at: m.decided_at,
            delivery_state: m.delivery_state,
            delivery_error: m.delivery_error.map(|e| secrets::redact(&e).into_owned()),
            created_at: m.created_at,
        }
    }
}
