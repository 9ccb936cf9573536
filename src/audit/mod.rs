//! The audit trail of tool calls: who called which tool, how it went and how long it took.
//!
//! Arguments are kept only as an HMAC-SHA256 of their canonical JSON under the server's
//! `AUDIT_KEY`, so the trail can tell repeated calls apart without holding customer text, and a
//! dictionary of likely emails or ids cannot reverse it without the key; the caller's token is
//! never seen here at all. Tool calls, resource reads and prompt fetches are all recorded.

pub mod store;
mod writer;

pub use writer::{AuditLog, MAX_BATCH};

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

use crate::config::{Secret, SettingError};

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    NotFound,
    Invalid,
    Error,
}

/// Which door a tool call came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// MCP over stdio (Claude Desktop and other local clients).
    Stdio,
    /// MCP over Streamable HTTP.
    Http,
    /// The triage worker's own LLM loop.
    Agent,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stdio => "stdio",
            Self::Http => "http",
            Self::Agent => "agent",
        })
    }
}

/// What was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum CallKind {
    Tool,
    /// A resource read; `tool` names its template (`ticket`, `customer`).
    Resource,
    /// A prompt fetch; `tool` names the prompt.
    Prompt,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Resource => "resource",
            Self::Prompt => "prompt",
        }
    }
}

/// A row of `tool_calls`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ToolCall {
    pub user_id: Uuid,
    pub id: Uuid,
    pub kind: CallKind,
    pub tool: String,
    pub args_hmac: String,
    pub outcome: Outcome,
    pub latency_us: i64,
    pub transport: Transport,
    pub created_at: DateTime<Utc>,
}

/// What recording a call takes.
#[derive(Debug, Clone)]
pub struct NewToolCall<'a> {
    pub kind: CallKind,
    pub tool: &'a str,
    pub args_hmac: String,
    pub outcome: Outcome,
    pub latency_us: i64,
    pub transport: Transport,
}

/// The key argument digests are made with (`AUDIT_KEY`). `Debug` never shows it.
#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey([redacted])")
    }
}

/// Shortest key accepted.
pub const MIN_KEY_BYTES: usize = 32;

impl AuditKey {
    /// The key from `AUDIT_KEY`: base64 of at least 32 random bytes (scripts/setup.sh writes one).
    pub fn from_setting(value: &Secret) -> Result<Self, SettingError> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.expose().trim())
            .map_err(|_| SettingError::Invalid {
                name: "AUDIT_KEY",
                reason: "must be base64".into(),
            })?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(SettingError::Invalid {
                name: "AUDIT_KEY",
                reason: format!("must hold at least {MIN_KEY_BYTES} bytes"),
            });
        }
        Ok(Self(bytes))
    }

    /// A key of this process only, when none is configured: digests still reveal nothing, but
    /// equal arguments hash equally only within one run.
    pub fn ephemeral() -> Self {
        let mut bytes = vec![0u8; MIN_KEY_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        Self(bytes)
    }

    /// HMAC-SHA256 (hex) of the arguments' canonical JSON (object keys sorted at every level),
    /// so equal arguments hash equally whatever order their keys came in.
    pub fn digest(&self, args: &serde_json::Value) -> String {
        // HMAC takes a key of any length; the arm is unreachable.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            return String::new();
        };
        canonical(args, &mut mac);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn canonical(v: &serde_json::Value, h: &mut Hmac<Sha256>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            h.update(b"{");
            for k in keys {
                h.update(Value::String(k.clone()).to_string().as_bytes());
                h.update(b":");
                canonical(&map[k], h);
                h.update(b",");
            }
            h.update(b"}");
        }
        Value::Array(items) => {
            h.update(b"[");
            for item in items {
                canonical(item, h);
                h.update(b",");
            }
            h.update(b"]");
        }
        scalar => h.update(scalar.to_string().as_bytes()),
    }
}

/// Records one call in its own transaction, so that a failed call is recorded too.
pub async fn record(
    db: &crate::Db,
    tenant: &crate::Tenant,
    call: NewToolCall<'_>,
) -> Result<(), crate::StoreError> {
    let mut tx = db.begin(tenant).await?;
    store::record(&mut tx, &call).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A golden vector: this input's canonical form is
    /// `{"a":1,"b":"x","n":{"y":[1,"two",true,],"z":null,},}` (keys sorted at every level), and
    /// the expected digest is that text's HMAC-SHA256 under the key below, computed outside this
    /// code (Python's `hmac`). Any change to the canonical form, the MAC or the key's use fails.
    #[test]
    fn argument_digests_match_the_golden_vector() {
        use base64::Engine;
        let key =
            base64::engine::general_purpose::STANDARD.encode(b"0123456789abcdef0123456789abcdef");
        let key = AuditKey::from_setting(&Secret::new(key)).expect("key");
        let args: serde_json::Value =
            serde_json::from_str(r#"{"b":"x","a":1,"n":{"z":null,"y":[1,"two",true]}}"#)
                .expect("json");
        assert_eq!(
            key.digest(&args),
            "9e9f818e662b81de73be33681cc844f1dd228cea8153f51d42bd9b8724de712f"
        );
    }

    #[test]
    fn short_or_malformed_keys_are_refused() {
        assert!(AuditKey::from_setting(&Secret::new("c2hvcnQ=")).is_err());
        assert!(AuditKey::from_setting(&Secret::new("not base64!")).is_err());
    }
}
