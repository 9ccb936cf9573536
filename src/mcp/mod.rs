//! The MCP server: one [`SupportServer`] handler adapting the tool layer ([`crate::tools`]),
//! served over stdio ([`stdio`]) or Streamable HTTP ([`http`]).
//!
//! The handler holds no tenant of its own over HTTP: each request's tenant is the one its
//! verified bearer token named, put into the request's extensions by [`http`]'s middleware.

mod draft_prompt;
mod guard;
pub mod http;
mod resources;
mod server;
pub mod stdio;

pub use server::SupportServer;

/// Where the tenant of a request comes from.
#[derive(Clone)]
pub enum TenantSource {
    /// Over stdio: the one tenant whose token was verified at start (SECURITY.md M2), checked
    /// again on every call, so that the server stops serving once the token expires or is
    /// revoked.
    Fixed(crate::Tenant, std::sync::Arc<stdio::StdioToken>),
    /// Over HTTP: the tenant the request's own verified token names (SECURITY.md M1).
    PerRequest,
}
