//! Accounts over HTTP (issue F1; SECURITY.md W1–W2, D4) against the real server on port 0.

mod credentials;
mod delete;
mod flow;
mod input;
mod support;
