//! A tenant's email channel: the address replies come from, its SMTP server (and IMAP server for
//! the inbox of G2), the login, and the password, sealed at rest like a Stripe key and never
//! shown again. Servers are checked to be public when set, tested and used ([`super::hosts`]).

pub mod imap;
pub mod smtp;
pub mod store;
pub mod tls;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::Channels;
use super::hosts::{self, HostError};
use super::inbox::store as inbox_store;
use crate::config::Secret;
use crate::stripe::vault::{Purpose, VaultError};
use crate::validate::Email;
use crate::{Db, StoreError, Tenant};

/// Why a channel operation failed. Messages never hold the password.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("this tenant has no email channel")]
    NotConfigured,
    #[error(transparent)]
    Setup(#[from] super::settings::SetupError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a server is reached: TLS from the first byte, or STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`, `imaps://`.
    Tls,
    /// `smtp://`, `imap://`: STARTTLS, required unless the server is on loopback.
    StartTls,
}

/// A parsed `smtp[s]://host:port` or `imap[s]://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub security: Security,
    pub host: String,
    pub port: u16,
}

impl ServerUrl {
    /// Parses `url` for `kind` (`smtp` or `imap`); the port defaults to 465/587 or 993/143.
    pub fn parse(field: &'static str, kind: &str, url: &str) -> Result<Self, ChannelError> {
        let invalid = |reason: String| ChannelError::Invalid { field, reason };
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            invalid(format!(
                "expected {kind}://host:port or {kind}s://host:port"
            ))
        })?;
        let security = match scheme.to_ascii_lowercase() {
            s if s == format!("{kind}s") => Security::Tls,
            s if s == kind => Security::StartTls,
            _ => return Err(invalid(format!("the scheme must be {kind} or {kind}s"))),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| invalid("the port must be 1 to 65535".into()))?;
                (h, port)
            }
            _ => (rest, default_port(kind, security)),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c));
        if !host_ok {
            return Err(invalid(
                "expected a host name or address, without user, path or query".into(),
            ));
        }
        Ok(Self {
            security,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

fn default_port(kind: &str, security: Security) -> u16 {
    match (kind, security) {
        ("smtp", Security::Tls) => 465,
        ("smtp", Security::StartTls) => 587,
        (_, Security::Tls) => 993,
        _ => 143,
    }
}

/// What setting a channel takes.
#[derive(Debug, Clone)]
pub struct NewChannel {
    pub address: String,
    pub smtp_url: String,
    pub imap_url: Option<String>,
    pub username: String,
    pub password: Secret,
}

/// What anyone may see of a channel: never the password.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChannelView {
    /// Replies are sent from this address.
    pub address: String,
    pub smtp_url: String,
    pub imap_url: Option<String>,
    pub username: String,
    /// The master key the password is sealed under.
    pub key_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The inbox: how reading the IMAP mailbox goes (none before the worker first tried).
    pub mailbox: Option<crate::channels::inbox::MailboxStatus>,
}

/// A channel with its password opened, for the worker and `test`.
pub struct OpenChannel {
    pub address: String,
    pub smtp: ServerUrl,
    pub imap: Option<ServerUrl>,
    pub username: String,
    pub password: Secret,
}

/// Checks, seals and stores the tenant's channel, replacing any earlier one. Each server must
/// resolve to a public address unless `EMAIL_ALLOW_PRIVATE_HOSTS` is set.
pub async fn set(
    db: &Db,
    channels: &Channels,
    tenant: &Tenant,
    new: &NewChannel,
) -> Result<ChannelView, ChannelError> {
    let address = Email::parse("address", &new.address).map_err(invalid_from_store)?;
    let smtp = ServerUrl::parse("smtp_url", "smtp", &new.smtp_url)?;
    let imap = new
        .imap_url
        .as_deref()
        .map(|u| ServerUrl::parse("imap_url", "imap", u))
        .transpose()?;
    let username = new.username.trim();
    if username.is_empty() || username.len() > 254 || username.chars().any(char::is_control) {
        return Err(ChannelError::Invalid {
            field: "username",
            reason: "use 1 to 254 characters without control characters".into(),
        });
    }
    let password = new.password.expose();
    if password.is_empty() || password.len() > 1000 || password.contains(['\r', '\n', '\0']) {
        return Err(ChannelError::Invalid {
            field: "password",
            reason: "use 1 to 1000 characters on one line".into(),
        });
    }
    let allow = channels.email.email_allow_private_hosts;
    check_host("smtp_url", &smtp, allow).await?;
    if let Some(imap) = &imap {
        check_host("imap_url", imap, allow).await?;
    }
    let sealed = channels
        .vault()?
        .seal_as(Purpose::EmailPassword, tenant, &new.password)?;
    let row = store::Row {
        address: address.as_str().to_owned(),
        smtp_url: new.smtp_url.trim().to_owned(),
        imap_url: new.imap_url.as_deref().map(|u| u.trim().to_owned()),
        username: username.to_owned(),
        sealed,
    };
    let mut tx = db.begin(tenant).await?;
    let stored = store::upsert(&mut tx, &row).await?;
    let mailbox = inbox_store::status(&mut tx).await?;
    tx.commit().await?;
    Ok(stored.view(mailbox))
}

async fn check_host(field: &'static str, url: &ServerUrl, allow: bool) -> Result<(), ChannelError> {
    hosts::resolve(&url.host, url.port, allow)
        .await
        .map(|_| ())
        .map_err(|e: HostError| ChannelError::Invalid {
            field,
            reason: e.to_string(),
        })
}

fn invalid_from_store(e: StoreError) -> ChannelError {
    match e {
        StoreError::Invalid { field, reason } => ChannelError::Invalid { field, reason },
        e => ChannelError::Store(e),
    }
}

/// The tenant's channel, if any.
pub async fn status(db: &Db, tenant: &Tenant) -> Result<Option<ChannelView>, ChannelError> {
    let mut tx = db.begin(tenant).await?;
    let row = store::find(&mut tx).await?;
    let mailbox = inbox_store::status(&mut tx).await?;
    tx.commit().await?;
    Ok(row.map(|r| r.view(mailbox)))
}

/// Forgets the tenant's channel; true when there was one.
pub async fn remove(db: &Db, tenant: &Tenant) -> Result<bool, ChannelError> {
    let mut tx = db.begin(tenant).await?;
    let done = store::delete(&mut tx).await?;
    tx.commit().await?;
    Ok(done)
}

/// The tenant's channel with its password opened; `None` without one.
pub async fn open(
    db: &Db,
    channels: &Channels,
    tenant: &Tenant,
) -> Result<Option<OpenChannel>, ChannelError> {
    let mut tx = db.begin(tenant).await?;
    let row = store::find(&mut tx).await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let password = channels
        .vault()?
        .open_as(Purpose::EmailPassword, tenant, &row.row.sealed)?;
    Ok(Some(OpenChannel {
        smtp: ServerUrl::parse("smtp_url", "smtp", &row.row.smtp_url)?,
        imap: row
            .row
            .imap_url
            .as_deref()
            .map(|u| ServerUrl::parse("imap_url", "imap", u))
            .transpose()?,
        address: row.row.address,
        username: row.row.username,
        password,
    }))
}

/// Re-seals the tenant's password under the current master key; false when nothing changed.
pub async fn reseal(db: &Db, channels: &Channels, tenant: &Tenant) -> Result<bool, ChannelError> {
    let vault = channels.vault()?;
    let mut tx = db.begin(tenant).await?;
    let Some(mut stored) = store::find(&mut tx).await? else {
        return Ok(false);
    };
    if stored.row.sealed.key_id == vault.current_key_id() {
        return Ok(false);
    }
    let password = vault.open_as(Purpose::EmailPassword, tenant, &stored.row.sealed)?;
    stored.row.sealed = vault.seal_as(Purpose::EmailPassword, tenant, &password)?;
    store::upsert(&mut tx, &stored.row).await?;
    tx.commit().await?;
    Ok(true)
}

/// What `channels email test` found: one line per server.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub smtp: Result<(), String>,
    pub imap: Option<Result<(), String>>,
}

impl TestReport {
    pub fn ok(&self) -> bool {
        self.smtp.is_ok() && self.imap.as_ref().is_none_or(Result::is_ok)
    }

    /// One line: which server failed and why, or that both answered.
    pub fn line(&self) -> String {
        let mut failed = Vec::new();
        if let Err(e) = &self.smtp {
            failed.push(format!("SMTP failed: {e}"));
        }
        if let Some(Err(e)) = &self.imap {
            failed.push(format!("IMAP failed: {e}"));
        }
        if failed.is_empty() {
            match self.imap {
                Some(_) => "SMTP and IMAP logins succeeded".into(),
                None => "SMTP login succeeded (no IMAP server set)".into(),
            }
        } else {
            failed.join("; ")
        }
    }
}

/// Logs in to each of the tenant's servers.
pub async fn test(
    db: &Db,
    channels: &Channels,
    tenant: &Tenant,
) -> Result<TestReport, ChannelError> {
    let channel = open(db, channels, tenant)
        .await?
        .ok_or(ChannelError::NotConfigured)?;
    let smtp = smtp::login(channels, &channel)
        .await
        .map_err(|e| e.to_string());
    let imap = match &channel.imap {
        Some(url) => Some(
            imap::login(channels, url, &channel.username, &channel.password)
                .await
                .map_err(|e| e.to_string()),
        ),
        None => None,
    };
    Ok(TestReport { smtp, imap })
}
