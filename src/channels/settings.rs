//! What the channels run with: the email settings and the vault secrets are sealed in.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::stripe::Vault;

/// Settings of the email channel (README.md, Channels).
#[derive(Debug, Clone, Args)]
pub struct EmailSettings {
    /// Allow SMTP and IMAP hosts that resolve to private, loopback or link-local addresses
    /// (tests, a mail server on the same network). Off by default: a tenant must not make the
    /// server probe its network.
    #[arg(long, env = "EMAIL_ALLOW_PRIVATE_HOSTS", global = true, default_value_t = false,
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub email_allow_private_hosts: bool,

    /// A PEM file of extra root certificates trusted for SMTP and IMAP over TLS (a private CA).
    #[arg(long, env = "EMAIL_CA_FILE", global = true)]
    pub email_ca_file: Option<PathBuf>,

    /// How often the worker looks for new mail in a mailbox whose server does not offer IMAP
    /// IDLE (with IDLE, new mail is read as it arrives); also the first delay before a failed
    /// login is retried, doubling up to 30 minutes.
    #[arg(long, env = "EMAIL_POLL_INTERVAL", global = true, default_value = "60s",
          value_parser = crate::config::parse_duration)]
    pub email_poll_interval: Duration,

    /// Mails larger than this many bytes are not fetched: they are recorded with the reason
    /// and make no ticket.
    #[arg(long, env = "EMAIL_MAX_MAIL_BYTES", global = true, default_value_t = DEFAULT_MAX_MAIL_BYTES)]
    pub email_max_mail_bytes: u64,
}

/// 25 MiB: what the large mail providers accept.
pub const DEFAULT_MAX_MAIL_BYTES: u64 = 25 * 1024 * 1024;

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            email_allow_private_hosts: false,
            email_ca_file: None,
            email_poll_interval: Duration::from_secs(60),
            email_max_mail_bytes: DEFAULT_MAX_MAIL_BYTES,
        }
    }
}

/// The channels' shared dependencies: cheap to clone.
#[derive(Clone, Default)]
pub struct Channels {
    vault: Option<Arc<Vault>>,
    pub email: EmailSettings,
    /// The contents of `EMAIL_CA_FILE`, read once.
    pub ca_pem: Option<Arc<Vec<u8>>>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("vault", &self.vault)
            .field("email", &self.email)
            .finish()
    }
}

/// Why a channel cannot work on this server.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("SECRETS_KEY is not set on this server: channel secrets cannot be sealed or opened")]
    NoVault,
    #[error("EMAIL_CA_FILE {path}: {reason}")]
    CaFile { path: String, reason: String },
}

impl Channels {
    /// Channels with `vault` (none: secrets cannot be stored, and the routes say so) and
    /// `email`, whose CA file is read now.
    pub fn new(vault: Option<Arc<Vault>>, email: EmailSettings) -> Result<Self, SetupError> {
        let ca_pem = match &email.email_ca_file {
            Some(path) => Some(Arc::new(std::fs::read(path).map_err(|e| {
                SetupError::CaFile {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                }
            })?)),
            None => None,
        };
        Ok(Self {
            vault,
            email,
            ca_pem,
        })
    }

    /// The vault, or why there is none.
    pub fn vault(&self) -> Result<&Vault, SetupError> {
        self.vault.as_deref().ok_or(SetupError::NoVault)
    }
}
