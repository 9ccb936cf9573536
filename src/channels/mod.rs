//! Channels: how tickets reach a desk from outside and how replies leave it (issue G1).
//!
//! - **Intake** ([`intake`]): a tenant's website or back end opens tickets and adds customer
//!   messages over `POST /api/v1/intake/…`, authenticated by an API key or by an HMAC signature
//!   ([`signature`]) under a secret the tenant created, and made safe to retry by
//!   `Idempotency-Key` ([`idempotency`]).
//! - **Email** ([`email`]): the tenant's SMTP and IMAP account, its password sealed like a
//!   Stripe key; [`delivery`] is the worker's handler that sends an approved draft or an agent's
//!   reply, threaded into the customer's conversation; [`inbox`] (G2) reads the tenant's support
//!   mailbox into tickets, exactly once.
//!
//! A tenant's servers are reached only at public addresses unless `EMAIL_ALLOW_PRIVATE_HOSTS`
//! says otherwise ([`hosts`]): a tenant must not make this server probe its network.

pub mod delivery;
pub mod email;
pub mod hosts;
pub mod idempotency;
pub mod inbox;
pub mod intake;
pub mod settings;
pub mod signature;

pub use settings::{Channels, EmailSettings};
