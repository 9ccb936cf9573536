//! Messages on a ticket: from the customer, from an agent, or drafted by the AI.

pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who wrote a message.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    sqlx::Type,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Sender {
    Agent,
    Customer,
    Ai,
    /// An internal note of the staff: never delivered, never triaged.
    Note,
}

/// The life of an `ai` message: drafted, then approved and sent, or discarded, by a person.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, schemars::JsonSchema,
)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum DraftState {
    Draft,
    Approved,
    Sent,
    Discarded,
}

/// Where an outgoing message (an agent's reply, an approved draft) is on its way to the customer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, schemars::JsonSchema,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for the worker.
    Queued,
    /// Handed to the SMTP server; a crash here leaves it `uncertain`, never resent by itself.
    Sending,
    /// The SMTP server accepted it.
    Sent,
    /// Refused for good (a 5xx, a bad address) or out of attempts: see `delivery_error`.
    Failed,
    /// A send was interrupted: the customer may or may not have it. A person may resend.
    Uncertain,
    /// The tenant has no email channel: nothing was sent and nothing will be retried.
    NoChannel,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Uncertain => "uncertain",
            Self::NoChannel => "no_channel",
        }
    }
}

/// A row of `messages`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Message {
    pub user_id: Uuid,
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub sender_type: Sender,
    pub content: String,
    /// Set for `ai` messages only.
    pub draft_state: Option<DraftState>,
    /// For an ai draft: the customer message (or the ticket) it answers.
    pub reply_to: Option<Uuid>,
    /// For an ai draft: the sources it relied on (knowledge chunks, Stripe charges).
    pub citations: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    /// For an ai draft a person edited: the model's own text.
    pub original_content: Option<String>,
    pub edited_at: Option<DateTime<Utc>>,
    /// The credential that last edited the draft (`token:<jti>`, `api_key:<id>`, `operator`).
    pub edited_by: Option<String>,
    /// When the draft was approved or discarded, and by which credential.
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// For a message sent (or to be sent) to the customer: where it is on its way.
    pub delivery_state: Option<DeliveryState>,
    /// Why the last delivery attempt failed.
    pub delivery_error: Option<String>,
    /// The RFC 5322 Message-ID the message was sent with (or, for a customer's mail, came with).
    pub email_message_id: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// For a customer's mail: its attachments' names, types and sizes (never their contents).
    pub attachments: Option<serde_json::Value>,
}

/// What a person does with a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Discard,
}
