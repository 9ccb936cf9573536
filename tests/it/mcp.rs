//! The MCP server: the tool layer in process, the HTTP transport spawned on port 0 in process,
//! and both transports end to end with the independent Python SDK.

mod audit;
mod bad_input;
mod e2e;
mod http_auth;
mod isolation;
mod logs;
pub mod support;
mod tools;
mod writes;
