//! The one tool layer: what the MCP server exposes and what the triage worker's LLM loop will
//! call, with the very same functions, argument structs and JSON schemas.
//!
//! Each tool is a plain `async fn(&Ctx, &Caller, Args) -> Result<Output, ToolError>` plus a
//! [`Tool`] impl that names it, describes it and states all four annotations. The [`catalog`]
//! lists them in a stable order with their schemas; [`call`] runs one by name from JSON
//! arguments and [`invoke`] one with typed arguments, both recording the call in the tenant's
//! audit trail. The [`Ctx`] carries the dependencies built once at start-up, the [`Caller`] the
//! tenant the caller got from authentication (or a dequeued job): no argument struct has a
//! tenant field, and unknown fields are refused.

mod actions;
mod args;
mod billing;
mod charges;
mod ctx;
mod customers;
mod drafts;
mod knowledge;
mod overview;
mod registry;
mod tickets;
mod views;

use std::future::Future;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use actions::{
    ProposeOutput, ProposeRefund, ProposeRefundArgs, ProposeSubscriptionCancel,
    ProposeSubscriptionCancelArgs, propose_refund, propose_subscription_cancel,
};
pub use billing::{
    ListInvoices, ListInvoicesArgs, ListInvoicesOutput, ListSubscriptions, ListSubscriptionsArgs,
    ListSubscriptionsOutput, list_invoices, list_subscriptions,
};
pub use charges::{
    FetchStripeCharges, FetchStripeChargesArgs, FetchStripeChargesOutput, client as stripe_client,
    fetch_stripe_charges,
};
pub use ctx::{Caller, Ctx, Knowledge, Scope};
pub use customers::{LookupCustomer, LookupCustomerArgs, LookupCustomerOutput, lookup_customer};
pub use drafts::{DraftReply, DraftReplyArgs, DraftReplyOutput, draft_reply};
pub use knowledge::{
    KnowledgeResult, SearchKnowledge, SearchKnowledgeArgs, SearchKnowledgeOutput, search_knowledge,
};
pub use overview::{
    CustomerOverview, CustomerOverviewArgs, CustomerOverviewOutput, customer_overview,
};
pub use registry::{ToolDef, call, catalog, find, invoke};
pub use tickets::{
    GetTicket, GetTicketArgs, GetTicketOutput, ListTickets, ListTicketsArgs, ListTicketsOutput,
    UpdateTicket, UpdateTicketArgs, UpdateTicketOutput, get_ticket, list_tickets, update_ticket,
};
pub use views::{CustomerView, MessageView, TicketSummaryView, TicketView};

use crate::StoreError;

/// Behaviour hints for clients (MCP `ToolAnnotations`), always all four stated: the protocol's
/// defaults (not read-only, destructive, not idempotent, open world) are the unsafe ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    pub read_only_hint: bool,
    pub destructive_hint: bool,
    pub idempotent_hint: bool,
    pub open_world_hint: bool,
}

impl Annotations {
    /// Reads the tenant's own records and nothing else.
    pub const READ_ONLY: Self = Self {
        read_only_hint: true,
        destructive_hint: false,
        idempotent_hint: true,
        open_world_hint: false,
    };

    /// Reads from an outside service (Stripe) and changes nothing.
    pub const READ_ONLY_OPEN_WORLD: Self = Self {
        open_world_hint: true,
        ..Self::READ_ONLY
    };
}

/// A tool: its contract with outside clients (name, description, schemas, annotations) and the
/// function that runs it.
pub trait Tool {
    /// The name clients call it by; a contract, never renamed.
    const NAME: &'static str;
    /// What it does, for a model choosing tools. Never holds untrusted text (SECURITY.md M5).
    const DESCRIPTION: &'static str;
    const ANNOTATIONS: Annotations;
    /// Arguments; their `///` docs become the input schema's descriptions.
    type Args: DeserializeOwned + JsonSchema + Send;
    /// The result, always a JSON object.
    type Output: Serialize + JsonSchema;
    fn run(
        ctx: &Ctx,
        caller: &Caller,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;
}

/// Why a tool call failed. Every variant but `Infrastructure` is the caller's to fix and is
/// shown to it; `Infrastructure` is logged and reported as an internal error without detail.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// No such tool in the catalog.
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// The record does not exist for this tenant: another tenant's id looks exactly the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// An argument was missing, of the wrong type or out of range; `field` names it.
    #[error("invalid argument `{field}`: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// The write conflicts with existing records.
    #[error("{0}")]
    Conflict(String),
    /// The tool cannot run until someone sets something up (Stripe not connected, a customer
    /// not linked to Stripe); the message says what to do.
    #[error("{0}")]
    Unavailable(String),
    /// An outside service (Stripe) failed or refused; the message says what to do.
    #[error("{0}")]
    Upstream(String),
    /// The database (or another dependency) failed.
    #[error("internal error")]
    Infrastructure(#[source] StoreError),
}

impl ToolError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The audit outcome this error is recorded as.
    pub fn outcome(&self) -> crate::audit::Outcome {
        use crate::audit::Outcome;
        match self {
            Self::NotFound(_) => Outcome::NotFound,
            Self::UnknownTool(_)
            | Self::InvalidArgument { .. }
            | Self::Conflict(_)
            | Self::Unavailable(_) => Outcome::Invalid,
            Self::Upstream(_) | Self::Infrastructure(_) => Outcome::Error,
        }
    }
}

impl From<StoreError> for ToolError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Invalid { field, reason } => Self::invalid(field, reason),
            StoreError::Conflict(msg) => Self::Conflict(msg),
            StoreError::Timeout { setting } => Self::Unavailable(format!(
                "the request took longer than {setting} allows; try a narrower request or again \
                 later"
            )),
            e @ StoreError::Database(_) => Self::Infrastructure(e),
        }
    }
}
