//! Settings, read once from flags, the environment and a `.env` file in the working directory.

use std::fmt;
use std::str::FromStr;

use clap::Args;

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Where the databases are. Both URLs carry passwords, so both are secrets.
#[derive(Debug, Clone, Args)]
pub struct DbSettings {
    /// PostgreSQL URL of the service role (no superuser, no BYPASSRLS) that everything but
    /// `migrate` and `stats` connects as.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,

    /// Most connections the service pool opens.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        global = true,
        default_value_t = 10
    )]
    pub database_max_connections: u32,

    /// Longest a statement of the service role may run before PostgreSQL cancels it.
    #[arg(long, env = "DB_STATEMENT_TIMEOUT", global = true, default_value = "30s",
          value_parser = parse_duration)]
    pub db_statement_timeout: std::time::Duration,

    /// Longest a service-role connection may sit idle inside a transaction before PostgreSQL
    /// ends it (and rolls the transaction back).
    #[arg(long, env = "DB_IDLE_IN_TRANSACTION_TIMEOUT", global = true, default_value = "60s",
          value_parser = parse_duration)]
    pub db_idle_in_transaction_timeout: std::time::Duration,
}

impl DbSettings {
    pub fn service_url(&self) -> Result<&Secret, SettingError> {
        self.database_url
            .as_ref()
            .ok_or(SettingError::Missing("DATABASE_URL"))
    }

    /// The limits on every service-role connection.
    pub fn session_limits(&self) -> crate::db::SessionLimits {
        crate::db::SessionLimits {
            statement_timeout: self.db_statement_timeout,
            idle_in_transaction: self.db_idle_in_transaction_timeout,
        }
    }
}

/// The owner role's URL: only the operator commands that need it (migrations, the cross-tenant
/// `stats` and `jobs`, key rotation, token revocation by id) take it; `serve` and `worker` have
/// no such setting and never read it.
#[derive(Debug, Clone, Args)]
pub struct OwnerDb {
    /// PostgreSQL URL of the owner role (migrations, cross-tenant operator commands).
    #[arg(
        long,
        env = "DATABASE_OWNER_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_owner_url: Option<Secret>,
}

impl OwnerDb {
    pub fn url(&self) -> Result<&Secret, SettingError> {
        self.database_owner_url
            .as_ref()
            .ok_or(SettingError::Missing("DATABASE_OWNER_URL"))
    }
}

/// The key the audit trail digests arguments with.
#[derive(Debug, Clone, Args)]
pub struct AuditSettings {
    /// HMAC key for the audit trail's argument digests: base64 of at least 32 random bytes
    /// (scripts/setup.sh writes one). Without it, a key of the running process only is used.
    #[arg(long, env = "AUDIT_KEY", global = true, hide_env_values = true)]
    pub audit_key: Option<Secret>,
}

/// How tokens are signed and verified (SECURITY.md J1–J3).
#[derive(Debug, Clone, Args)]
pub struct JwtSettings {
    /// HS256 secret, at least 32 bytes (scripts/setup.sh writes a random one to .env).
    #[arg(long, env = "JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// The `iss` every token must carry.
    #[arg(
        long,
        env = "JWT_ISSUER",
        global = true,
        default_value = "support-agent"
    )]
    pub jwt_issuer: String,

    /// The `aud` every token must carry: this server's name.
    #[arg(
        long,
        env = "JWT_AUDIENCE",
        global = true,
        default_value = "support-agent"
    )]
    pub jwt_audience: String,

    /// Public keys for asymmetric tokens, selected by the token's `kid`: a comma-separated list of
    /// `KID=ALG:PATH` with ALG one of EdDSA, RS256 and PATH a PEM file.
    #[arg(long, env = "JWT_PUBLIC_KEYS", global = true, default_value = "")]
    pub jwt_public_keys: String,

    /// Sign issued tokens with a private key instead of the HS256 secret: `KID=ALG:PATH`.
    #[arg(long, env = "JWT_SIGNING_KEY", global = true)]
    pub jwt_signing_key: Option<String>,

    /// Longest lifetime `token issue --ttl` may give a token.
    #[arg(long, env = "TOKEN_MAX_TTL", global = true, default_value = "90d",
          value_parser = parse_duration)]
    pub token_max_ttl: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error("{0} is not set: run scripts/setup.sh, or set it in the environment or in .env")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Reads `.env` from the working directory when present. Values already in the environment win.
pub fn load_dotenv() -> Result<(), SettingError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(SettingError::Invalid {
            name: ".env",
            reason: e.to_string(),
        }),
    }
}

/// Parses durations such as `90s`, `15m`, `24h`, `7d`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 90s, 15m, 24h or 7d"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("'{s}' has an unknown unit: use s, m, h or d")),
    };
    if secs == 0 {
        return Err("a duration must be longer than zero".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}
