//! The tenant a request acts for.

use std::fmt;

use uuid::Uuid;

/// The tenant (a row of `users`) that a piece of work acts for.
///
/// Its field is private: a `Tenant` comes from a verified JWT ([`crate::auth`]), from a user the
/// users store has just created, or from [`Tenant::from_trusted_operator_input`] — the one constructor
/// for input that is trusted because an operator or the work queue supplied it. Grep for that name
/// to audit every place that does not go through authentication.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tenant {
    user_id: Uuid,
}

impl Tenant {
    /// Made by the auth layer once a token's signature and claims are verified, or once a
    /// credential that carries its user id is about to be checked inside that user's own
    /// transaction (row-level security then decides whether it exists).
    pub(crate) fn from_verified_subject(user_id: Uuid) -> Self {
        Self { user_id }
    }

    /// Made by the users store for the user it is creating.
    pub(crate) fn for_new_user(user_id: Uuid) -> Self {
        Self { user_id }
    }

    /// For trusted input only: an operator's `--user` flag on the command line, or the `user_id`
    /// column of a job row the worker has dequeued. Never call it with anything a client or a model
    /// sent.
    pub fn from_trusted_operator_input(user_id: Uuid) -> Self {
        Self { user_id }
    }

    /// The tenant's `users.id`.
    pub fn id(&self) -> Uuid {
        self.user_id
    }
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tenant({})", self.user_id)
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.user_id, f)
    }
}
