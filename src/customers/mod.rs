//! A tenant's customers: the people who open tickets.

pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::StoreError;
use crate::stripe::CustomerId;
use crate::validate::{Email, Phone};

/// A row of `customers`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Customer {
    pub user_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub stripe_customer_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A customer together with how many of their tickets are open or pending.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CustomerSummary {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub customer: Customer,
    pub open_tickets: i64,
}

/// What creating a customer takes. Name and email are checked by the store; the phone and the
/// Stripe id arrive parsed.
#[derive(Debug, Default)]
pub struct NewCustomer<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<Phone>,
    pub stripe_customer_id: Option<CustomerId>,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct CustomerUpdate<'a> {
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<Phone>,
    pub stripe_customer_id: Option<CustomerId>,
}

/// A customer named by id or by email address, as operators and clients name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRef {
    Id(Uuid),
    Email(Email),
}

impl CustomerRef {
    /// A UUID is an id; anything else must be an email address.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, StoreError> {
        match Uuid::parse_str(raw.trim()) {
            Ok(id) => Ok(Self::Id(id)),
            Err(_) => Email::parse(field, raw).map(Self::Email),
        }
    }

    /// From the two optional arguments a tool takes: exactly one of them must be given.
    pub fn from_parts(id: Option<Uuid>, email: Option<&str>) -> Result<Self, StoreError> {
        match (id, email) {
            (Some(id), None) => Ok(Self::Id(id)),
            (None, Some(email)) => Email::parse("email", email).map(Self::Email),
            _ => Err(StoreError::invalid(
                "customer_id, email",
                "give exactly one of customer_id or email",
            )),
        }
    }
}

impl std::fmt::Display for CustomerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Email(email) => write!(f, "{email}"),
        }
    }
}
