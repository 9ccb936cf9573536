//! Connection pools, migrations and the tenant-scoped transaction every store function runs in.

pub mod citus;
mod connect;
mod cursor;
mod error;

pub use connect::{ConnectError, SessionLimits, check_pgvector, connect, migrate};
pub use cursor::{Cursor, CursorError};
pub use error::{StoreError, constraint_violation};

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{AssertSqlSafe, Postgres, Transaction};
use uuid::Uuid;

use crate::Tenant;

/// The service-role pool. All tenant data goes through [`Db::begin`].
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    /// Whether the server is a Citus coordinator; read once, at the first tenant transaction.
    citus: Arc<OnceCell<bool>>,
}

impl Db {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            citus: Arc::new(OnceCell::new()),
        }
    }

    /// Whether the database is served by Citus (the citus extension is installed).
    pub async fn is_citus(&self) -> Result<bool, StoreError> {
        let citus = self
            .citus
            .get_or_try_init(|| async {
                sqlx::query_scalar::<_, bool>(
                    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')",
                )
                .fetch_one(&self.pool)
                .await
            })
            .await?;
        Ok(*citus)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Checks that the database answers (health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Begins a transaction whose first statement sets the tenant context (SECURITY.md R3).
    ///
    /// `BEGIN` and `SET LOCAL` travel in one round trip. The literal is formatted from the typed
    /// `Uuid`, whose text form cannot carry a quote; being transaction-local, it is gone at COMMIT or
    /// ROLLBACK and never reaches the next borrower of the pooled connection.
    pub async fn begin(&self, tenant: &Tenant) -> Result<TenantTx, StoreError> {
        self.begin_in(tenant, None).await
    }

    /// Begins a transaction that sees one customer of the tenant and nothing else of theirs
    /// (SECURITY.md D1): a second transaction-local setting, `app.scope_customer_id`, which the
    /// `tenant_isolation` policy of every customer-owned table also reads. Another
    /// customer's rows are then absent, for reads and writes alike. The tool layer's
    /// `Ctx::begin` is what calls it, for a triage job's caller.
    pub async fn begin_for_customer(
        &self,
        tenant: &Tenant,
        customer_id: Uuid,
    ) -> Result<TenantTx, StoreError> {
        self.begin_in(tenant, Some(customer_id)).await
    }

    /// On plain PostgreSQL `BEGIN` and the `SET LOCAL`s travel in one round trip. On Citus they
    /// take two: Citus sends the *text* of the simple query that held a `SET LOCAL` to every
    /// worker the transaction reaches (`citus.propagate_set_commands = 'local'`), so a
    /// `BEGIN; SET LOCAL …` arrived there as a second `BEGIN` inside the worker's transaction
    /// ("WARNING: there is already a transaction in progress", on every tenant transaction).
    /// Sent alone, the text is nothing but the settings.
    async fn begin_in(
        &self,
        tenant: &Tenant,
        customer: Option<Uuid>,
    ) -> Result<TenantTx, StoreError> {
        let set = set_local_sql(tenant.id(), customer);
        let citus = self.is_citus().await?;
        let pool = self.pool.clone();
        // On a task of its own, because sqlx's `begin` is not safe to cancel: a caller dropped
        // after `BEGIN; SET LOCAL …` was queued but before its reply (a client that went away)
        // left nothing to roll it back — sqlx's guard rolls back only once the reply has raised
        // its transaction depth — and the connection went back to the pool inside a transaction
        // that still held this tenant's context. The task always finishes the `BEGIN`; if its
        // caller has gone, the transaction it returns is dropped there, which queues the
        // `ROLLBACK` that the pool's release ping then sends.
        let begun = tokio::spawn(async move {
            if citus {
                let mut tx = pool.begin().await?;
                sqlx::raw_sql(AssertSqlSafe(set)).execute(&mut *tx).await?;
                Ok(tx)
            } else {
                pool.begin_with(AssertSqlSafe(format!("BEGIN; {set}")))
                    .await
            }
        });
        let tx = begun
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))?
            .map_err(StoreError::from)?;
        Ok(TenantTx {
            tx,
            tenant: *tenant,
        })
    }
}

/// The tenant context (and the customer scope), as one simple query. Both literals are
/// formatted from typed `Uuid`s, whose text form cannot carry a quote.
fn set_local_sql(user_id: Uuid, customer: Option<Uuid>) -> String {
    let mut sql = format!("SET LOCAL app.current_user_id = '{}'", user_id.hyphenated());
    if let Some(customer) = customer {
        sql.push_str(&format!(
            "; SET LOCAL app.scope_customer_id = '{}'",
            customer.hyphenated()
        ));
    }
    sql
}

/// A tenant transaction begun before the work that will use it is known, shared through a
/// request's extensions: the MCP guard checks the request's credential in it, and the request's
/// first tool transaction for the same tenant and the tenant-wide scope takes it over instead of
/// beginning its own ([`crate::tools::Ctx::begin`]). A call then costs one pooled connection,
/// one `BEGIN; SET LOCAL` and one `COMMIT` instead of two of each. Whatever is left when the
/// request ends is committed by [`HeldTx::finish`] (it holds only the credential check's read).
#[derive(Clone)]
pub struct HeldTx(Arc<Mutex<Option<TenantTx>>>);

impl HeldTx {
    pub fn new(tx: TenantTx) -> Self {
        Self(Arc::new(Mutex::new(Some(tx))))
    }

    /// The transaction, if it is still held and is `tenant`'s; at most once.
    pub fn take(&self, tenant: &Tenant) -> Option<TenantTx> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|tx| tx.tenant() == tenant) {
            slot.take()
        } else {
            None
        }
    }

    /// Lets the transaction go if nothing took it: it is rolled back (it only read) and its
    /// connection goes back to the pool. For work that is about to use the pool otherwise, so
    /// that a request never holds two connections at once.
    pub fn release(&self) {
        drop(self.0.lock().unwrap_or_else(PoisonError::into_inner).take());
    }

    /// Commits the transaction if nothing took it.
    pub async fn finish(&self) -> Result<(), StoreError> {
        let held = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        match held {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }
}

/// A transaction bound to one tenant. Store functions take it first: the tenant they filter by
/// (`WHERE user_id = $1`) is the very one the row-level-security context was set to.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant: Tenant,
}

impl TenantTx {
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The tenant's id, for binding as `$1`.
    pub fn user_id(&self) -> Uuid {
        self.tenant.id()
    }

    /// The connection, for running queries inside the transaction.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await?;
        Ok(())
    }
}
