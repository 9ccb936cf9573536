//! What the resource routes share: the caller, list pages, and how a credential is named in the
//! records it changes.

use schemars::JsonSchema;
use serde::Serialize;

use crate::Tenant;
use crate::accounts::{Credential, Principal};
use crate::audit::Transport;
use crate::tools::Caller;

/// One page of a listing.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
    /// Pass it back as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The tool layer's caller for a REST request: the tenant's staff.
pub fn staff(tenant: Tenant) -> Caller {
    Caller::staff(tenant, Transport::Http)
}

/// How a decision records the credential that made it.
pub fn by(principal: &Principal) -> String {
    match principal.credential {
        Credential::Token { jti, .. } => format!("token:{jti}"),
        Credential::ApiKey { id, .. } => format!("api_key:{id}"),
    }
}
