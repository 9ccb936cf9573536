//! Opening pools with errors a person can act on, checking pgvector, running migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use crate::config::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{setting} is not a valid PostgreSQL URL: {reason}")]
    BadUrl {
        setting: &'static str,
        reason: String,
    },
    #[error(
        "cannot reach PostgreSQL at {target} ({setting}): {reason}; is the server running? (scripts/setup.sh starts it)"
    )]
    Unreachable {
        setting: &'static str,
        target: String,
        reason: String,
    },
    #[error("PostgreSQL at {target} refused {setting}: {reason}")]
    Refused {
        setting: &'static str,
        target: String,
        reason: String,
    },
    #[error("the database {target} has no pgvector extension (0.8 or later): run scripts/setup.sh")]
    NoPgvector { target: String },
    #[error("migrating the database failed: {0}")]
    Migrate(String),
}

/// Limits PostgreSQL enforces on every connection of a pool (SECURITY.md D5): a statement that
/// runs longer is cancelled, and a transaction left idle longer is ended, so that no request can
/// hold a connection or a lock indefinitely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// `statement_timeout` (`DB_STATEMENT_TIMEOUT`).
    pub statement_timeout: Duration,
    /// `idle_in_transaction_session_timeout` (`DB_IDLE_IN_TRANSACTION_TIMEOUT`).
    pub idle_in_transaction: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(30),
            idle_in_transaction: Duration::from_secs(60),
        }
    }
}

/// Opens a pool for the URL held in `setting` (named in errors; the URL itself never is, since it
/// carries a password), with `limits` on every connection when given (the service role's pool;
/// the owner's runs migrations, which may take longer). Fails fast, with one sentence, when the
/// server cannot be reached.
pub async fn connect(
    setting: &'static str,
    url: &Secret,
    max_connections: u32,
    limits: Option<SessionLimits>,
) -> Result<PgPool, ConnectError> {
    let scheme_ok = ["postgres://", "postgresql://"]
        .iter()
        .any(|p| url.expose().starts_with(p));
    if !scheme_ok {
        return Err(ConnectError::BadUrl {
            setting,
            reason: "it must start with postgres:// or postgresql://".into(),
        });
    }
    let mut options =
        PgConnectOptions::from_str(url.expose()).map_err(|e| ConnectError::BadUrl {
            setting,
            reason: strip_url(&e.to_string()),
        })?;
    if limits.is_none() {
        // The owner's pool runs migrations and index builds, which take seconds by design:
        // sqlx's "slow statement" warning would only be noise on the operator's terminal.
        options = options.log_slow_statements(log::LevelFilter::Off, Duration::ZERO);
    }
    if let Some(l) = limits {
        let ms = |d: Duration| d.as_millis().max(1).to_string();
        options = options.options([
            ("statement_timeout", ms(l.statement_timeout)),
            (
                "idle_in_transaction_session_timeout",
                ms(l.idle_in_transaction),
            ),
        ]);
    }
    let target = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    );
    // One direct connection first: a pool retries a refused connection until its acquire timeout
    // and then reports only "timed out", where a direct attempt fails at once with the cause.
    let probe = PgConnection::connect_with(&options)
        .await
        .map_err(|e| match e {
            sqlx::Error::Io(io) => ConnectError::Unreachable {
                setting,
                target: target.clone(),
                reason: io.to_string(),
            },
            other => ConnectError::Refused {
                setting,
                target: target.clone(),
                reason: strip_url(&other.to_string()),
            },
        })?;
    // On Citus the tenant context must reach the workers: SET LOCAL is sent on to them only
    // with citus.propagate_set_commands = 'local' (SECURITY.md R3). Set here for every
    // connection of the pool, so that on a coordinator configured without it row-level
    // security does not fail closed on the workers (every insert refused, every read empty).
    let mut probe = probe;
    let citus: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
            .fetch_one(&mut probe)
            .await
            .unwrap_or(false);
    if citus {
        options = options.options([("citus.propagate_set_commands", "local")]);
    }
    let _ = probe.close().await;
    // No ping before handing out an idle connection (sqlx's default): it is one more round trip
    // on every acquire, two per MCP call before issue 21. A connection that broke while idle
    // fails the one statement that uses it instead, and the pool drops it.
    Ok(PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options))
}

/// Errors from URL parsing can quote the URL; keep anything after a scheme out of messages.
fn strip_url(s: &str) -> String {
    match s.find("postgres") {
        Some(i) if s[i..].contains("://") => format!("{}<url>", &s[..i]),
        _ => s.to_owned(),
    }
}

/// Fails with [`ConnectError::NoPgvector`] unless the connected database has `vector` installed.
pub async fn check_pgvector(pool: &PgPool) -> Result<(), ConnectError> {
    let installed: Option<String> =
        sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            .fetch_optional(pool)
            .await
            .map_err(|e| ConnectError::Migrate(e.to_string()))?;
    match installed {
        Some(v) if version_at_least(&v, (0, 8)) => Ok(()),
        _ => {
            let target: String = sqlx::query_scalar("SELECT current_database()")
                .fetch_one(pool)
                .await
                .unwrap_or_default();
            Err(ConnectError::NoPgvector { target })
        }
    }
}

fn version_at_least(v: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// Applies the embedded migrations; run as the owner role.
pub async fn migrate(owner: &PgPool) -> Result<(), ConnectError> {
    check_pgvector(owner).await?;
    sqlx::migrate!("./migrations")
        .run(owner)
        .await
        .map_err(|e| ConnectError::Migrate(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgvector_versions_compare_numerically() {
        assert!(version_at_least("0.8.0", (0, 8)));
        assert!(version_at_least("0.10.1", (0, 8)));
        assert!(!version_at_least("0.7.4", (0, 8)));
    }
}
