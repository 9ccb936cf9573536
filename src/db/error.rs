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
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
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
        matches!(self, Self::Database(_))
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
    StoreError::Database(err)
}
