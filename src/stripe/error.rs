//! What a Stripe request can fail with, worded for whoever has to act on it.

use serde::Deserialize;
use stripe_client_core::StripeClientErr;

use crate::secrets;

/// Why a Stripe request failed. No variant carries a credential; Stripe's own messages (which
/// mask keys already) are masked again before they are kept.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error body.
    #[error("Stripe refused the request ({status} {kind}{}): {message}", code_suffix(.code))]
    Api {
        status: u16,
        kind: String,
        code: Option<String>,
        message: String,
    },
    #[error("Stripe did not answer within {0:?} (after {1} attempts)")]
    Timeout(std::time::Duration, u32),
    #[error("Stripe could not be reached (after {1} attempts): {0}")]
    Network(String, u32),
    #[error("Stripe's answer could not be read: {0}")]
    Decode(String),
    /// A write without an idempotency key is refused before it is sent (SECURITY.md S3).
    #[error("a write to Stripe needs an idempotency key derived from a durable id")]
    MissingIdempotencyKey,
    #[error("the Stripe client is misconfigured: {0}")]
    Config(String),
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| format!(", {c}"))
        .unwrap_or_default()
}

impl StripeClientErr for StripeError {
    fn deserialize_err(msg: impl std::fmt::Display) -> Self {
        Self::Decode(msg.to_string())
    }
}

impl StripeError {
    /// The HTTP status Stripe answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when trying again later may succeed: a rate limit, a lock, a 5xx, a timeout, a
    /// dropped connection (the job queue then retries with its backoff).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Api {
                status: 409 | 429 | 500..,
                ..
            } | Self::Timeout(..)
                | Self::Network(..)
        )
    }

    /// What the person or model that saw this failure can do about it.
    pub fn advice(&self) -> &'static str {
        match self {
            Self::Api { status: 401, .. } => {
                "the tenant's Stripe key was rejected: an operator should connect a valid \
                 restricted key with `support-agent stripe connect`"
            }
            Self::Api { status: 403, .. } => {
                "the tenant's Stripe key lacks a permission: it needs read access to charges, \
                 customers, refunds and disputes"
            }
            Self::Api { status: 404, .. } => {
                "Stripe does not know this object in the tenant's account: check the customer's \
                 Stripe id (`support-agent stripe link` matches customers by email)"
            }
            Self::Api { status: 429, .. }
            | Self::Api { status: 500.., .. }
            | Self::Timeout(..)
            | Self::Network(..) => "Stripe is unavailable right now: try again in a minute",
            _ => "try again; if it keeps failing, an operator should check the logs",
        }
    }
}

/// Stripe's error envelope: `{"error": {"type": …, "code": …, "message": …}}`.
#[derive(Deserialize)]
struct Envelope {
    error: Body,
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

/// The error for a non-2xx answer with this body.
pub(super) fn from_response(status: u16, body: &[u8]) -> StripeError {
    let parsed = serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|e| e.error);
    let (kind, code, message) = match parsed {
        Some(b) => (b.kind, b.code, b.message),
        None => (None, None, None),
    };
    let message = message.unwrap_or_else(|| format!("HTTP {status} without an error body"));
    StripeError::Api {
        status,
        kind: kind.unwrap_or_else(|| "api_error".into()),
        code,
        message: clip(&secrets::redact(&message), 300),
    }
}

fn clip(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}
