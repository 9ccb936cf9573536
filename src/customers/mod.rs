//! A tenant's customers: the people who open tickets.

pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

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

/// What creating a customer takes; validated by the store.
#[derive(Debug, Default)]
pub struct NewCustomer<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub stripe_customer_id: Option<&'a str>,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct CustomerUpdate<'a> {
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub stripe_customer_id: Option<&'a str>,
}
