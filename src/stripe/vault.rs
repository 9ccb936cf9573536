//! Sealing tenants' secrets at rest (Stripe keys, email passwords, intake signing secrets) with AES-256-GCM under a master key that can rotate.
//!
//! `SECRETS_KEY` holds the current master key as `KID:BASE64` (32 bytes, base64), or as bare
//! base64, whose key id is then `k` and the first 8 hex digits of the key's SHA-256.
//! `SECRETS_KEY_PREVIOUS` holds older keys, comma-separated in the same form, for reading only.
//! Every ciphertext is stored with the id of the key that sealed it, so after a rotation the rows
//! sealed under an older key stay readable until `support-agent secrets rekey` (or its older name
//! `stripe rekey`) re-seals them.
//!
//! The tenant's id and the secret's [`Purpose`] are bound in as associated data: a ciphertext
//! copied into another tenant's row, or into a column for another kind of secret, does not decrypt
//! there.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::Tenant;
use crate::config::Secret;

/// Why sealing or opening failed. No variant carries key material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "{0} is not set: it holds the master key for tenants' secrets (Stripe keys, email passwords, intake signing secrets; see README.md)"
    )]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(
        "the stored secret was sealed with master key `{0}`, which neither SECRETS_KEY nor \
         SECRETS_KEY_PREVIOUS holds: restore that key, or connect the tenant again"
    )]
    UnknownKeyId(String),
    #[error(
        "the stored secret does not decrypt with master key `{0}`: SECRETS_KEY (or \
         SECRETS_KEY_PREVIOUS) holds a different key under that id, or the row was altered"
    )]
    WrongKey(String),
    #[error("the secret could not be encrypted")]
    Seal,
}

/// What a sealed secret is for; part of its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A tenant's restricted Stripe key.
    StripeKey,
    /// The password of a tenant's email channel.
    EmailPassword,
    /// A signing secret of a tenant's intake webhook.
    IntakeSecret,
    /// The signing secret (`whsec_…`) of a tenant's Stripe webhook endpoint.
    WebhookSecret,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::StripeKey => "stripe-key",
            Self::EmailPassword => "email-password",
            Self::IntakeSecret => "intake-secret",
            Self::WebhookSecret => "stripe-webhook-secret",
        }
    }
}

/// A sealed secret as stored: the master key's id, a fresh nonce, ciphertext with its tag.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The id of the master key that sealed it.
    pub key_id: String,
    /// 12 random bytes, never reused with the same key.
    pub nonce: Vec<u8>,
    /// The ciphertext with GCM's 16-byte tag appended.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Sealed(key {}, {} bytes)",
            self.key_id,
            self.ciphertext.len()
        )
    }
}

struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The master keys: the current one seals and opens, older ones only open.
pub struct Vault {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(|k| k.id.as_str()).collect();
        write!(
            f,
            "Vault(current {}, previous {previous:?})",
            self.current.id
        )
    }
}

impl Vault {
    /// Reads `SECRETS_KEY` and, when given, the comma-separated `SECRETS_KEY_PREVIOUS`.
    pub fn new(current: Option<&Secret>, previous: Option<&Secret>) -> Result<Self, VaultError> {
        let current = current.ok_or(VaultError::Missing("SECRETS_KEY"))?;
        let current = parse_key("SECRETS_KEY", current.expose())?;
        let mut keys = Vec::new();
        for part in previous.map(Secret::expose).unwrap_or("").split(',') {
            if !part.trim().is_empty() {
                keys.push(parse_key("SECRETS_KEY_PREVIOUS", part)?);
            }
        }
        Ok(Self {
            current,
            previous: keys,
        })
    }

    /// The id of the key that seals now.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// Seals a Stripe key for `tenant` (see [`Vault::seal_as`]).
    pub fn seal(&self, tenant: &Tenant, plaintext: &Secret) -> Result<Sealed, VaultError> {
        self.seal_as(Purpose::StripeKey, tenant, plaintext)
    }

    /// Opens a sealed Stripe key of `tenant` (see [`Vault::open_as`]).
    pub fn open(&self, tenant: &Tenant, sealed: &Sealed) -> Result<Secret, VaultError> {
        self.open_as(Purpose::StripeKey, tenant, sealed)
    }

    /// Seals `plaintext`, a secret for `purpose`, for `tenant` under the current master key with
    /// a fresh random nonce.
    pub fn seal_as(
        &self,
        purpose: Purpose,
        tenant: &Tenant,
        plaintext: &Secret,
    ) -> Result<Sealed, VaultError> {
        let nonce: [u8; 12] = rand::random();
        let aad = associated_data(purpose, tenant);
        let payload = Payload {
            msg: plaintext.expose().as_bytes(),
            aad: &aad,
        };
        // Encryption fails only for messages beyond GCM's 64 GiB limit.
        let ciphertext = self
            .current
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| VaultError::Seal)?;
        Ok(Sealed {
            key_id: self.current.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Opens a sealed secret for `purpose` of `tenant` with the key it names.
    pub fn open_as(
        &self,
        purpose: Purpose,
        tenant: &Tenant,
        sealed: &Sealed,
    ) -> Result<Secret, VaultError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKeyId(sealed.key_id.clone()))?;
        let wrong = || VaultError::WrongKey(sealed.key_id.clone());
        let nonce: [u8; 12] = sealed.nonce.as_slice().try_into().map_err(|_| wrong())?;
        let aad = associated_data(purpose, tenant);
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: &aad,
        };
        let plain = key
            .cipher
            .decrypt(&Nonce::from(nonce), payload)
            .map_err(|_| wrong())?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| wrong())
    }
}

fn associated_data(purpose: Purpose, tenant: &Tenant) -> Vec<u8> {
    format!("support-agent/{}/v1/{}", purpose.label(), tenant.id()).into_bytes()
}

fn parse_key(name: &'static str, raw: &str) -> Result<MasterKey, VaultError> {
    let raw = raw.trim();
    let invalid = |reason: &str| VaultError::Invalid {
        name,
        reason: reason.to_owned(),
    };
    let (id, encoded) = match raw.split_once(':') {
        Some((id, encoded)) => (Some(id.trim()), encoded.trim()),
        None => (None, raw),
    };
    let bytes = STANDARD.decode(encoded).map_err(|_| {
        invalid("expected KID:BASE64 with 32 bytes of base64 (openssl rand -base64 32)")
    })?;
    if bytes.len() != 32 {
        return Err(invalid(
            "the key must be 32 bytes (openssl rand -base64 32)",
        ));
    }
    let id = match id {
        Some(id) => id.to_owned(),
        None => {
            let digest = Sha256::digest(&bytes);
            let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
            format!("k{hex}")
        }
    };
    let id_ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !id_ok {
        return Err(invalid(
            "a key id has 1 to 64 letters, digits, '.', '_' or '-'",
        ));
    }
    let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| invalid("not a 256-bit key"))?;
    Ok(MasterKey { id, cipher })
}
