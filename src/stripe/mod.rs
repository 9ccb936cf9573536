//! Stripe: each tenant's own access (a restricted key sealed at rest, or a Connect account),
//! a client with timeouts, retries and idempotency keys, and the reads the tools need.
//!
//! SECURITY.md S1–S4: credentials come from the database only (never from a tool argument), a
//! tenant's requests carry that tenant's credentials only, retries follow Stripe's rules, and
//! writes carry an idempotency key derived from a durable id.

pub mod access;
pub mod api;
pub mod billing;
pub mod billing_views;
mod error;
mod http;
pub mod ids;
pub mod link;
pub mod money;
pub mod retry;
pub mod settings;
pub mod store;
pub mod vault;
pub mod views;
pub mod webhooks;
pub mod writes;

use std::sync::atomic::{AtomicU64, Ordering};

use stripe_client_core::{IdempotencyKey, RequestStrategy};

pub use access::{AccessError, AccessStatus, Credential};
pub use error::StripeError;
pub use http::{StripeHttp, TenantClient};
pub use ids::{AccountId, ChargeId, CustomerId, IdError, InvoiceId, SubscriptionId};
pub use retry::RetryPolicy;
pub use settings::StripeSettings;
pub use vault::{Vault, VaultError};

use crate::config::Secret;
use crate::{Db, Tenant};

/// Everything a Stripe call needs but the tenant: the HTTP client, the vault, the platform key.
pub struct Stripe {
    http: StripeHttp,
    vault: Vault,
    platform_key: Option<Secret>,
    /// The platform's Connect webhook signing secrets.
    connect_webhook_secrets: Vec<Secret>,
    /// Connect events for accounts no tenant has, since start.
    unknown_account_events: AtomicU64,
}

impl std::fmt::Debug for Stripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripe")
            .field("http", &self.http)
            .field("vault", &self.vault)
            .field(
                "platform_key",
                &self.platform_key.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "connect_webhook_secrets",
                &self.connect_webhook_secrets.len(),
            )
            .finish()
    }
}

impl Stripe {
    /// Builds the client from settings, with the default backoff.
    pub fn from_settings(settings: &StripeSettings) -> Result<Self, AccessError> {
        let policy = RetryPolicy {
            max_attempts: settings.stripe_max_attempts,
            ..RetryPolicy::default()
        };
        Self::with_policy(settings, policy)
    }

    /// Builds the client from settings with this retry policy (tests use short waits).
    pub fn with_policy(
        settings: &StripeSettings,
        policy: RetryPolicy,
    ) -> Result<Self, AccessError> {
        let vault = Vault::new(
            settings.secrets_key.as_ref(),
            settings.secrets_key_previous.as_ref(),
        )?;
        let http = StripeHttp::new(&settings.stripe_api_base, settings.stripe_timeout, policy)?;
        let connect_webhook_secrets = settings
            .stripe_connect_webhook_secrets
            .as_ref()
            .map(|s| {
                s.expose()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Secret::new)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            http,
            vault,
            platform_key: settings.stripe_platform_key.clone(),
            connect_webhook_secrets,
            unknown_account_events: AtomicU64::new(0),
        })
    }

    /// The platform's Connect webhook signing secrets (`STRIPE_CONNECT_WEBHOOK_SECRETS`).
    pub fn connect_webhook_secrets(&self) -> &[Secret] {
        &self.connect_webhook_secrets
    }

    /// Counts one more Connect event for an account no tenant has; the count so far.
    pub fn count_unknown_account(&self) -> u64 {
        self.unknown_account_events.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Connect events for accounts no tenant has, since this process started.
    pub fn unknown_account_events(&self) -> u64 {
        self.unknown_account_events.load(Ordering::Relaxed)
    }

    /// The vault tenants' keys are sealed in.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// A client carrying `tenant`'s own credentials, read from the database: its restricted key,
    /// or the platform key with its Connect account as `Stripe-Account`.
    pub async fn client_for(
        &self,
        db: &Db,
        tenant: &Tenant,
    ) -> Result<TenantClient<'_>, AccessError> {
        match access::load(db, &self.vault, tenant).await? {
            Credential::RestrictedKey(key) => Ok(self.http.authorized(&key, None)?),
            Credential::Connect(account) => {
                let key = self
                    .platform_key
                    .as_ref()
                    .ok_or(AccessError::NoPlatformKey)?;
                Ok(self.http.authorized(key, Some(account.as_str()))?)
            }
        }
    }
}

/// The strategy of a write: one `Idempotency-Key` derived from the durable id it acts for
/// (SECURITY.md S3), e.g. `refund:{ticket_id}`, kept across retries, so that a retried or
/// repeated write takes effect once. [`TenantClient`] refuses writes without one.
pub fn idempotent(action: &str, id: uuid::Uuid) -> Result<RequestStrategy, StripeError> {
    IdempotencyKey::new(format!("{action}:{id}"))
        .map(RequestStrategy::Idempotent)
        .map_err(|e| StripeError::Config(e.to_string()))
}
