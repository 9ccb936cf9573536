//! What every tool call runs with: the dependencies built once at start-up ([`Ctx`]) and who
//! the call acts for ([`Caller`]).
//!
//! Every caller of the tool layer — the MCP server, the triage loop, the offline engine, the
//! REST API — builds one [`Ctx`] from the settings and passes it to each call with the
//! [`Caller`] it authenticated. Nothing is installed in a process global, so two contexts (a
//! test's loopback Stripe next to the real one, say) never interfere.

use std::sync::Arc;

use uuid::Uuid;

use super::ToolError;
use crate::audit::{AuditKey, AuditLog, Transport};
use crate::channels::Channels;
use crate::db::HeldTx;
use crate::knowledge::{QueryCache, SearchSettings, SharedEmbedder};
use crate::limits::{LimitSettings, Limits};
use crate::stripe::Stripe;
use crate::{Db, StoreError, Tenant, TenantTx};

/// The embedder and search settings `search_knowledge` needs.
pub struct Knowledge {
    pub embedder: SharedEmbedder,
    pub settings: SearchSettings,
    /// Query vectors of repeated searches (`KB_QUERY_CACHE`), kept per tenant.
    pub queries: QueryCache,
}

/// The tool layer's dependencies. Cheap to clone: everything behind it is shared.
#[derive(Clone)]
pub struct Ctx {
    db: Db,
    audit: AuditLog,
    stripe: Option<Arc<Stripe>>,
    knowledge: Option<Arc<Knowledge>>,
    limits: Arc<Limits>,
    channels: Channels,
    /// The transaction the request's credential was checked in, for [`Ctx::begin`] to take over.
    held: Option<HeldTx>,
}

impl Ctx {
    /// A context with the database only: calls are audited directly, the limits are the
    /// defaults, and Stripe and the knowledge base answer that they are not configured.
    pub fn new(db: Db) -> Self {
        Self {
            audit: AuditLog::direct(db.clone(), Arc::new(AuditKey::ephemeral())),
            db,
            stripe: None,
            knowledge: None,
            limits: Arc::new(Limits::default()),
            channels: Channels::default(),
            held: None,
        }
    }

    /// This context for one request whose credential was checked in `held`: the request's first
    /// tenant-wide transaction for that tenant is `held` rather than a new one.
    pub fn with_held_tx(&self, held: HeldTx) -> Self {
        Self {
            held: Some(held),
            ..self.clone()
        }
    }

    /// Enforces these per-tenant limits (SECURITY.md D5) instead of the defaults.
    pub fn with_limits(mut self, settings: LimitSettings) -> Self {
        self.limits = Arc::new(Limits::new(settings));
        self
    }

    /// Records calls through `audit` (the HTTP server's batched writer) instead.
    pub fn with_audit(mut self, audit: AuditLog) -> Self {
        self.audit = audit;
        self
    }

    /// Gives the intake and the email channel their vault and settings.
    pub fn with_channels(mut self, channels: Channels) -> Self {
        self.channels = channels;
        self
    }

    /// The channels' vault and settings.
    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// Gives the Stripe tools this client.
    pub fn with_stripe(mut self, stripe: impl Into<Arc<Stripe>>) -> Self {
        self.stripe = Some(stripe.into());
        self
    }

    /// Gives `search_knowledge` this embedder and these settings.
    pub fn with_knowledge(mut self, embedder: SharedEmbedder, settings: SearchSettings) -> Self {
        let queries = QueryCache::new(settings.kb_query_cache);
        self.knowledge = Some(Arc::new(Knowledge {
            embedder,
            settings,
            queries,
        }));
        self
    }

    /// The service-role pool, for what is not the caller's records: the tenant's Stripe
    /// credentials, its knowledge base. A tool reads and writes records through [`Ctx::begin`].
    pub fn db(&self) -> &Db {
        // Whoever uses the pool directly did not take over the request's held transaction:
        // give its connection back first, so that no request holds two at once.
        self.release_held();
        &self.db
    }

    /// Begins a transaction for `caller`: the tenant context, and for a [`Scope::Ticket`] caller
    /// the customer scope too (SECURITY.md D1). Every tool opens its transactions here, so the
    /// scope is checked in one place, by the database: under a ticket scope another customer's
    /// rows are "not found", exactly as another tenant's are, whatever a tool asks for.
    pub async fn begin(&self, caller: &Caller) -> Result<TenantTx, StoreError> {
        match caller.scope {
            Scope::Tenant => {
                if let Some(tx) = self.held.as_ref().and_then(|h| h.take(&caller.tenant)) {
                    return Ok(tx);
                }
                self.db.begin(&caller.tenant).await
            }
            Scope::Ticket { customer_id, .. } => {
                self.db
                    .begin_for_customer(&caller.tenant, customer_id)
                    .await
            }
        }
    }

    /// Lets the request's held transaction go, if no transaction took it over (see [`HeldTx`]).
    pub fn release_held(&self) {
        if let Some(held) = &self.held {
            held.release();
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The Stripe client, or a tool error that says what an operator must set up.
    pub fn stripe(&self) -> Result<&Stripe, ToolError> {
        self.stripe.as_deref().ok_or_else(|| {
            ToolError::Unavailable(
                "Stripe is not configured on this server: an operator should set SECRETS_KEY"
                    .into(),
            )
        })
    }

    /// The per-tenant limits and this process's request buckets.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The embedder and search settings, when the server has an embedding model.
    pub fn knowledge(&self) -> Option<&Knowledge> {
        self.knowledge.as_deref()
    }
}

/// How far inside its tenant a call may read and write. Set by the server (from a verified
/// token, or from a dequeued job row), never by a tool's arguments, and enforced by the database
/// through [`Ctx::begin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The tenant's staff (MCP clients, the REST API): everything the tenant owns.
    Tenant,
    /// A triage job (the LLM loop): one ticket and its customer. The job acts for the tenant,
    /// and the ticket's author is an outsider, so the loop's tools see only that customer's
    /// records: their own customer row, tickets and messages, and their Stripe data. The
    /// tenant's knowledge base stays searchable.
    Ticket { ticket_id: Uuid, customer_id: Uuid },
}

/// Who a call acts for: the tenant (from a verified token or a dequeued job row), the scope
/// within it, and the door the call came through (recorded in the audit trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub tenant: Tenant,
    pub scope: Scope,
    pub transport: Transport,
}

impl Caller {
    /// A member of the tenant's staff, through `transport`.
    pub fn staff(tenant: Tenant, transport: Transport) -> Self {
        Self {
            tenant,
            scope: Scope::Tenant,
            transport,
        }
    }

    /// A triage job working on `ticket_id`, whose customer is `customer_id`: both read by the
    /// server from the job row and the ticket it names, never from the model or the ticket text.
    pub fn for_ticket(tenant: Tenant, ticket_id: Uuid, customer_id: Uuid) -> Self {
        Self {
            tenant,
            scope: Scope::Ticket {
                ticket_id,
                customer_id,
            },
            transport: Transport::Agent,
        }
    }

    /// The customer this caller is confined to, if any.
    pub fn scoped_customer(&self) -> Option<Uuid> {
        match self.scope {
            Scope::Tenant => None,
            Scope::Ticket { customer_id, .. } => Some(customer_id),
        }
    }
}
