//! The audit trail of tool calls: who called which tool, how it went and how long it took.
//!
//! Arguments are kept only as a SHA-256 of their canonical JSON, so the trail can tell repeated
//! calls apart without holding customer text; the caller's token is never seen here at all.

pub mod store;
mod writer;

pub use writer::{AuditLog, MAX_BATCH};

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

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

/// A row of `tool_calls`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ToolCall {
    pub user_id: Uuid,
    pub id: Uuid,
    pub tool: String,
    pub args_sha256: String,
    pub outcome: Outcome,
    pub latency_us: i64,
    pub transport: Transport,
    pub created_at: DateTime<Utc>,
}

/// What recording a call takes.
#[derive(Debug, Clone)]
pub struct NewToolCall<'a> {
    pub tool: &'a str,
    pub args_sha256: String,
    pub outcome: Outcome,
    pub latency_us: i64,
    pub transport: Transport,
}

/// SHA-256 (hex) of the arguments' canonical JSON (object keys sorted at every level), so equal
/// arguments hash equally whatever order their keys came in.
pub fn hash_arguments(args: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    canonical(args, &mut h);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical(v: &serde_json::Value, h: &mut Sha256) {
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
    /// the expected digest is that text's SHA-256 computed outside this code. Any change to the
    /// canonical form or the digest fails here.
    #[test]
    fn argument_hashes_match_the_golden_vector() {
        let args: serde_json::Value =
            serde_json::from_str(r#"{"b":"x","a":1,"n":{"z":null,"y":[1,"two",true]}}"#)
                .expect("json");
        assert_eq!(
            hash_arguments(&args),
            "0a955dfdf58339a81e16fe66fca77a0e873d670ca9faca7654c2b545a3232752"
        );
    }
}
