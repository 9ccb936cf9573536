//! The error every store returns, and the mapping from constraint names to clean messages.

/// What a store function can fail with. Callers turn it into a CLI message, an MCP tool error or
/// an HTTP status; only `Database` is an infrastructure failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist *for this tenant*: another tenant's row looks exactly the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness or reference rule refused the write.
    #[error("{0}")]
    Conflict(String),
    /// Input that failed validation before reaching the database.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// PostgreSQL ended the work at a limit of the connection: `setting` names it.
    #[error("the database stopped the request at {setting}")]
    Timeout { setting: &'static str },
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        // 57014 query_canceled (statement_timeout), 25P03 idle_in_transaction_session_timeout.
        let code = e
            .as_database_error()
            .and_then(|d| d.code().map(|c| c.into_owned()));
        match code.as_deref() {
            Some("57014") => Self::Timeout {
                setting: "DB_STATEMENT_TIMEOUT",
            },
            Some("25P03") => Self::Timeout {
                setting: "DB_IDLE_IN_TRANSACTION_TIMEOUT",
            },
            _ => Self::Database(e),
        }
    }
}

impl StoreError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// True for failures of the infrastructure rather than of the request.
    pub fn is_infrastructure(&self) -> bool {
        matches!(self, Self::Database(_) | Self::Timeout { .. })
    }
}

/// A constraint name (as in `migrations/`) and the error to report when it is violated.
pub type KnownConstraint<'a> = (&'a str, fn() -> StoreError);

/// Maps a violated constraint to the store error named for it; other errors pass through.
pub fn constraint_violation(err: sqlx::Error, known: &[KnownConstraint<'_>]) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && let Some(name) = db.constraint()
        && let Some((_, make)) = known.iter().find(|(c, _)| *c == name)
    {
        return make();
    }
    StoreError::from(err)
}
