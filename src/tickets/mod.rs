//! Tickets: a customer's request, with a status and a priority.

pub mod similar;
pub mod store;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::customers::Customer;
use crate::messages::Message;

/// Where a ticket is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    sqlx::Type,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Pending,
    Solved,
    Closed,
}

/// How urgent a ticket is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    sqlx::Type,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Solved => "solved",
            Self::Closed => "closed",
        }
    }
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row of `tickets`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Ticket {
    pub user_id: Uuid,
    pub id: Uuid,
    /// 1, 2, 3 … within the tenant; outgoing subjects carry it as `[#number]`.
    pub number: i64,
    pub customer_id: Uuid,
    pub subject: String,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    /// Triage's category (an intent label); `None` until triaged.
    pub category: Option<String>,
    /// negative, neutral or positive; `None` until triaged.
    pub sentiment: Option<String>,
    /// The customer's language (BCP 47, e.g. `en`); `None` until triaged.
    pub language: Option<String>,
    /// Triage's confidence in its category, 0 to 1.
    pub confidence: Option<f32>,
    /// Triage found no evidence to answer from, or the case needs a person.
    pub needs_human: bool,
    pub triaged_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket with its customer and its messages, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct TicketThread {
    pub ticket: Ticket,
    pub customer: Customer,
    pub messages: Vec<Message>,
}

/// What creating a ticket takes; validated by the store.
#[derive(Debug)]
pub struct NewTicket<'a> {
    pub customer_id: Uuid,
    pub subject: &'a str,
    pub description: Option<&'a str>,
    pub priority: Option<Priority>,
}

/// Filters for listing; all optional, combined with AND.
#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub customer_id: Option<Uuid>,
    pub needs_human: Option<bool>,
    pub category: Option<String>,
}

/// One page of a listing and the cursor of the next page, if there is one.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
