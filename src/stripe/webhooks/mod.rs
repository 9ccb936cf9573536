//! Stripe webhooks (SECURITY.md W4): events Stripe sends, verified, stored once by event id and
//! handled on the job queue, so that the answer to Stripe is fast and a failure is retried.
//!
//! Two doors:
//! - `POST /webhooks/stripe/{endpoint_id}`, one per tenant (restricted-key tenants): the endpoint
//!   id `we_<user id>_<16 hex>` names the tenant, whose sealed signing secrets are read inside
//!   that tenant's own transaction (an id naming no endpoint is refused like a bad signature);
//! - `POST /webhooks/stripe`, the platform's Connect endpoint: signed with the platform's
//!   secrets (`STRIPE_CONNECT_WEBHOOK_SECRETS`), the tenant found from the event's `account`
//!   through the one SECURITY DEFINER lookup `stripe_tenant_by_account` (D4), after the
//!   signature holds. An event for an account no tenant has is logged, counted and
//!   acknowledged.
//!
//! Either way the event is stored with its `stripe_event` job in one transaction (Q3); a replay
//! of an event id is acknowledged and changes nothing.

pub mod handle;
pub mod signature;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::vault::{Purpose, VaultError};
use super::{AccessError, Stripe, access};
use crate::config::Secret;
use crate::{Db, StoreError, Tenant, TenantTx, jobs};
pub use signature::SignatureError;

/// How long the secret before the current one stays valid after `webhook-secret set`: Stripe
/// keeps an old secret for up to 24 hours when one rolls it.
pub const PREVIOUS_SECRET_HOURS: i64 = 24;

/// Why an event was refused. A signature failure is a `400` (as Stripe expects), the rest too
/// except the database.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("the body is not a Stripe event: {0}")]
    Malformed(String),
    #[error(
        "this server takes no Connect events: an operator should set \
         STRIPE_CONNECT_WEBHOOK_SECRETS"
    )]
    NoConnectSecrets,
    #[error("this server has no SECRETS_KEY, so it holds no webhook secrets")]
    NotConfigured,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of a verified event.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub received: bool,
    /// The event id was stored already: nothing was done again.
    pub duplicate: bool,
    /// Why the event was acknowledged without being stored (an unknown account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<&'static str>,
}

/// The fields of an event the intake needs; the whole body is stored as it came.
#[derive(Debug, Deserialize)]
struct EventHead {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    account: Option<String>,
    #[serde(default)]
    livemode: bool,
    created: i64,
}

fn parse_event(body: &[u8]) -> Result<(EventHead, serde_json::Value), WebhookError> {
    let payload: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let head: EventHead = serde_json::from_value(payload.clone())
        .map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let id_ok = head.id.strip_prefix("evt_").is_some_and(|r| {
        !r.is_empty() && r.len() <= 250 && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if !id_ok || head.kind.is_empty() || head.kind.len() > 200 {
        return Err(WebhookError::Malformed(
            "expected an event id evt_… and a type".into(),
        ));
    }
    if head
        .account
        .as_deref()
        .is_some_and(|a| super::AccountId::parse(a).is_err())
    {
        return Err(WebhookError::Malformed(
            "the account is not an acct_… id".into(),
        ));
    }
    Ok((head, payload))
}

/// The tenant an endpoint id names, if it has the right shape (checked next inside that
/// tenant's transaction: row-level security decides whether the endpoint exists).
pub fn tenant_of_endpoint(endpoint_id: &str) -> Option<Tenant> {
    let rest = endpoint_id.strip_prefix("we_")?;
    let (user, tail) = rest.split_once('_')?;
    let hex = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    };
    if user.len() != 32 || tail.len() != 16 || !hex(user) || !hex(tail) {
        return None;
    }
    Some(Tenant::from_verified_subject(Uuid::try_parse(user).ok()?))
}

/// An event sent to a tenant's own endpoint, at `now` (unix seconds).
pub async fn receive_for_endpoint(
    db: &Db,
    stripe: &Stripe,
    endpoint_id: &str,
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<Receipt, WebhookError> {
    let tenant = tenant_of_endpoint(endpoint_id).ok_or(SignatureError::Mismatch)?;
    let mut tx = db.begin(&tenant).await?;
    let hook = store::find_webhook(&mut tx)
        .await?
        .filter(|h| h.endpoint_id == endpoint_id)
        .ok_or(SignatureError::Mismatch)?;
    let vault = stripe.vault();
    let mut secrets = vec![vault.open_as(Purpose::WebhookSecret, &tenant, &hook.current)?];
    if let Some((sealed, until)) = &hook.previous
        && until.timestamp() > now
    {
        secrets.push(vault.open_as(Purpose::WebhookSecret, &tenant, sealed)?);
    }
    signature::verify(header, body, &secrets, now)?;
    let (head, payload) = parse_event(body)?;
    let duplicate = !record(&mut tx, &head, &payload).await?;
    tx.commit().await?;
    Ok(Receipt {
        received: true,
        duplicate,
        ignored: None,
    })
}

/// An event sent to the platform's Connect endpoint, at `now` (unix seconds).
pub async fn receive_connect(
    db: &Db,
    stripe: &Stripe,
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<Receipt, WebhookError> {
    let secrets = stripe.connect_webhook_secrets();
    if secrets.is_empty() {
        return Err(WebhookError::NoConnectSecrets);
    }
    signature::verify(header, body, secrets, now)?;
    let (head, payload) = parse_event(body)?;
    let tenant = match head.account.as_deref() {
        Some(account) => store::tenant_by_account(db, account).await?,
        None => None,
    };
    let Some(user) = tenant else {
        let n = stripe.count_unknown_account();
        tracing::warn!(
            event = %head.id,
            kind = %head.kind,
            account = head.account.as_deref().unwrap_or("(none)"),
            unknown_account_events = n,
            "a Connect event for an account no tenant has: acknowledged, not stored"
        );
        return Ok(Receipt {
            received: true,
            duplicate: false,
            ignored: Some("no tenant has this account"),
        });
    };
    // The signature holds and the database says whose account this is: the tenant is as
    // verified as a token's subject.
    let tenant = Tenant::from_verified_subject(user);
    let mut tx = db.begin(&tenant).await?;
    let duplicate = !record(&mut tx, &head, &payload).await?;
    tx.commit().await?;
    Ok(Receipt {
        received: true,
        duplicate,
        ignored: None,
    })
}

/// Stores the event and queues its job; false when the tenant had it already.
async fn record(
    tx: &mut TenantTx,
    head: &EventHead,
    payload: &serde_json::Value,
) -> Result<bool, StoreError> {
    let created = DateTime::<Utc>::from_timestamp(head.created, 0).unwrap_or_else(Utc::now);
    let event = store::NewEvent {
        event_id: &head.id,
        kind: &head.kind,
        account_id: head.account.as_deref(),
        livemode: head.livemode,
        created,
        payload,
    };
    let Some(id) = store::insert_event(tx, &event).await? else {
        return Ok(false);
    };
    jobs::store::enqueue_stripe_event(tx, id).await?;
    Ok(true)
}

/// What `stripe webhook-secret set` answers.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointSet {
    pub endpoint_id: String,
    /// Where Stripe should send the tenant's events: paste it into Stripe's dashboard.
    pub endpoint_url: String,
    /// Until when the secret before this one is still accepted, if there was one.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

/// The `whsec_…` Stripe shows for an endpoint, checked.
pub fn parse_secret(raw: &str) -> Result<Secret, AccessError> {
    let s = raw.trim();
    let ok = s.strip_prefix("whsec_").is_some_and(|r| {
        (16..=200).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if !ok {
        return Err(AccessError::Invalid {
            field: "webhook secret",
            reason: "expected the signing secret Stripe shows for the endpoint, whsec_…".into(),
        });
    }
    Ok(Secret::new(s))
}

/// The endpoint id of `tenant`: `we_<user id>_<16 hex>`, the same every time, so that
/// `stripe status` can show the URL to create in Stripe's Dashboard before the secret Stripe then
/// shows is set. Knowing it gives nothing: every event must be signed with the tenant's secret.
pub fn endpoint_id_for(tenant: &Tenant) -> String {
    let digest = Sha256::digest(format!("support-agent/stripe-webhook/v1/{}", tenant.id()));
    let tail: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("we_{}_{tail}", tenant.id().simple())
}

/// The URL of a tenant's endpoint under `public_url`.
pub fn endpoint_url(public_url: &str, endpoint_id: &str) -> String {
    format!(
        "{}/webhooks/stripe/{endpoint_id}",
        public_url.trim().trim_end_matches('/')
    )
}

/// Seals `secret` as the tenant's signing secret (the one before stays valid for
/// [`PREVIOUS_SECRET_HOURS`]) and gives the endpoint's URL under `public_url`. A tenant that
/// reaches Stripe through Connect is refused: its events come to the platform's endpoint.
pub async fn set_secret(
    db: &Db,
    stripe: &Stripe,
    tenant: &Tenant,
    secret: &Secret,
    public_url: &str,
) -> Result<EndpointSet, WebhookError> {
    let status = access::status(db, tenant).await.map_err(|e| match e {
        AccessError::Store(e) => WebhookError::Store(e),
        other => WebhookError::Malformed(other.to_string()),
    })?;
    if status.mode == Some("connect") {
        return Err(WebhookError::Store(StoreError::invalid(
            "user",
            "this tenant reaches Stripe through Connect: its events arrive at the platform's \
             /webhooks/stripe, signed with STRIPE_CONNECT_WEBHOOK_SECRETS",
        )));
    }
    let vault = stripe.vault();
    let sealed = vault.seal_as(Purpose::WebhookSecret, tenant, secret)?;
    let mut tx = db.begin(tenant).await?;
    let existing = store::find_webhook(&mut tx).await?;
    let endpoint_id = match &existing {
        Some(h) => h.endpoint_id.clone(),
        None => endpoint_id_for(tenant),
    };
    let until = Utc::now() + chrono::Duration::hours(PREVIOUS_SECRET_HOURS);
    let previous = existing.as_ref().map(|h| (&h.current, until));
    store::put_webhook(&mut tx, &endpoint_id, &sealed, previous).await?;
    tx.commit().await?;
    Ok(EndpointSet {
        endpoint_url: endpoint_url(public_url, &endpoint_id),
        endpoint_id,
        previous_secret_valid_until: previous.map(|(_, u)| u),
    })
}

/// Re-seals the tenant's webhook secrets under the current master key (`secrets rekey`); how
/// many secrets changed.
pub async fn reseal(db: &Db, vault: &super::Vault, tenant: &Tenant) -> Result<u64, WebhookError> {
    let mut tx = db.begin(tenant).await?;
    let Some(hook) = store::find_webhook(&mut tx).await? else {
        return Ok(0);
    };
    let current_id = vault.current_key_id();
    let mut n = 0;
    let mut again = |sealed: &super::vault::Sealed| -> Result<super::vault::Sealed, WebhookError> {
        if sealed.key_id == current_id {
            return Ok(sealed.clone());
        }
        n += 1;
        let secret = vault.open_as(Purpose::WebhookSecret, tenant, sealed)?;
        Ok(vault.seal_as(Purpose::WebhookSecret, tenant, &secret)?)
    };
    let current = again(&hook.current)?;
    let previous = match &hook.previous {
        Some((sealed, until)) => Some((again(sealed)?, *until)),
        None => None,
    };
    if n > 0 {
        let previous = previous.as_ref().map(|(s, u)| (s, *u));
        store::put_webhook(&mut tx, &hook.endpoint_id, &current, previous).await?;
        tx.commit().await?;
    }
    Ok(n)
}

/// What `stripe status --json` says of webhooks.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookStatus {
    /// True when events can arrive: the tenant's endpoint has a secret, or (Connect) this
    /// process has STRIPE_CONNECT_WEBHOOK_SECRETS.
    pub configured: bool,
    /// Where Stripe sends them (for a tenant without a secret yet: where to create the endpoint).
    pub endpoint_url: Option<String>,
    /// When the last event came, if one has.
    pub last_event_at: Option<DateTime<Utc>>,
}

/// The tenant's webhook status; `connect` says whether it reaches Stripe through Connect, and
/// `connect_configured` whether this process has the platform's secrets.
pub async fn status(
    db: &Db,
    tenant: &Tenant,
    connect: bool,
    connect_configured: bool,
    public_url: &str,
) -> Result<WebhookStatus, StoreError> {
    let mut tx = db.begin(tenant).await?;
    let hook = store::find_webhook(&mut tx).await?;
    let last_event_at = store::last_event_at(&mut tx).await?;
    tx.commit().await?;
    let base = public_url.trim().trim_end_matches('/');
    Ok(match (connect, hook) {
        (true, _) => WebhookStatus {
            configured: connect_configured,
            endpoint_url: Some(format!("{base}/webhooks/stripe")),
            last_event_at,
        },
        (false, Some(h)) => WebhookStatus {
            configured: true,
            endpoint_url: Some(endpoint_url(base, &h.endpoint_id)),
            last_event_at,
        },
        // The URL to create the endpoint with; its secret is not set yet.
        (false, None) => WebhookStatus {
            configured: false,
            endpoint_url: Some(endpoint_url(base, &endpoint_id_for(tenant))),
            last_event_at,
        },
    })
}
