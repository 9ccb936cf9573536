//! Tenants: the individuals or organisations that run a support desk.

mod password;
pub mod store;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

pub use password::{check_policy, dummy_hash, hash_password, verify_password_hash};

/// A row of `users`. The password hash is never serialised or printed.
#[derive(Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub stripe_customer_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("email", &self.email)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "[redacted]"),
            )
            .field("stripe_customer_id", &self.stripe_customer_id)
            .finish()
    }
}

/// What `users create` takes.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub password: Option<&'a crate::config::Secret>,
}
