//! Integration tests against a real PostgreSQL with pgvector; each test on its own database.
//! One test binary (faster to build and link than one per file).

mod accounts;
mod api;
mod channels;
mod citus;
mod cli;
mod common;
mod demo;
mod fake_llm;
mod hardening;
mod inbox;
mod isolation;
mod jwt;
mod knowledge;
mod limits;
mod mcp;
mod model_refusals;
mod openapi;
mod queue;
mod queue_fairness;
mod readme;
mod scope;
mod setup_script;
mod stores;
mod stripe;
mod triage;
mod triage_faults;
