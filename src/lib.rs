//! support-agent: a multi-tenant AI customer-support agent for businesses that sell with Stripe.
//!
//! Every tenant-owned row carries `user_id`. Isolation is enforced three times: by the [`Tenant`]
//! type that only the auth layer (or one loudly named operator constructor) can make, by
//! `WHERE user_id = …` in every query, and by forced row-level security under a service role that
//! cannot bypass it (see `migrations/`).

pub mod accounts;
pub mod actions;
pub mod audit;
pub mod auth;
pub mod channels;
pub mod cli;
pub mod config;
pub mod customers;
pub mod db;
pub mod desk;
pub mod draft_check;
pub mod http;
pub mod jobs;
pub mod knowledge;
pub mod limits;
pub mod llm;
pub mod mcp;
pub mod messages;
pub mod prompts;
pub mod secrets;
pub mod settings;
pub mod signing;
pub mod stats;
pub mod stripe;
pub mod telemetry;
pub mod tenant;
pub mod tickets;
pub mod tls;
pub mod tools;
pub mod triage;
pub mod users;
pub mod validate;
pub mod worker;

pub use db::{Db, StoreError, TenantTx};
pub use tenant::Tenant;
