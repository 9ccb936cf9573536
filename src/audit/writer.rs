//! Recording tool calls off the request path.
//!
//! [`AuditLog::direct`] writes each call in its own transaction before the call returns (the
//! simplest, for low volumes). [`AuditLog::spawn`] queues calls to a background writer that
//! drains the queue in batches of up to [`MAX_BATCH`] and writes each batch in one statement,
//! each tenant's part under its own tenant context ([`super::store::record_batch`]): one round
//! trip per batch instead of a transaction per call, which is what lets the HTTP server reach its
//! throughput target when many tenants call at once, and a row one tenant cannot write never
//! costs another tenant its rows. A queued call is written
//! within a batch's time; [`AuditLog::flush`] waits until everything queued so far is written,
//! and the HTTP server flushes when it shuts down. A crash can lose the calls still queued.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{AuditKey, NewToolCall, store};
use crate::{Db, Tenant};

/// Largest batch written at once.
pub const MAX_BATCH: usize = 512;
/// Calls that may wait in the queue before callers wait for room (backpressure).
const QUEUE: usize = 16_384;

enum Msg {
    Record(Tenant, NewToolCall<'static>),
    Flush(oneshot::Sender<()>),
}

/// Where tool calls are recorded, and the key their arguments are digested with. Cheap to
/// clone.
#[derive(Clone)]
pub struct AuditLog {
    mode: Mode,
    db: Db,
    key: Arc<AuditKey>,
}

#[derive(Clone)]
enum Mode {
    Direct,
    Queued(mpsc::Sender<Msg>),
}

impl AuditLog {
    /// Writes every call before returning.
    pub fn direct(db: Db, key: Arc<AuditKey>) -> Self {
        Self {
            mode: Mode::Direct,
            db,
            key,
        }
    }

    /// Starts a background writer on the current runtime; it ends once every clone is dropped
    /// and the queue is written.
    pub fn spawn(db: Db, key: Arc<AuditKey>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(db.clone(), rx));
        Self {
            mode: Mode::Queued(tx),
            db,
            key,
        }
    }

    /// A batched log with this one's database and key.
    pub fn batched(&self) -> Self {
        Self::spawn(self.db.clone(), self.key.clone())
    }

    /// A direct log with this one's database and key.
    pub fn unbatched(&self) -> Self {
        Self::direct(self.db.clone(), self.key.clone())
    }

    /// The keyed digest of a call's arguments.
    pub fn digest(&self, args: &serde_json::Value) -> String {
        self.key.digest(args)
    }

    /// Records one call. A failure to write is logged, never returned: the call has happened.
    pub async fn record(&self, tenant: &Tenant, call: NewToolCall<'static>) {
        match &self.mode {
            Mode::Direct => {
                if let Err(e) = super::record(&self.db, tenant, call).await {
                    tracing::error!(%tenant, error = %e, "recording a tool call failed");
                }
            }
            Mode::Queued(tx) => {
                if tx.send(Msg::Record(*tenant, call)).await.is_err() {
                    tracing::error!(%tenant, "the audit writer has stopped; a tool call is lost");
                }
            }
        }
    }

    /// Waits until every call recorded before this one is written.
    pub async fn flush(&self) {
        if let Mode::Queued(tx) = &self.mode {
            let (done, wait) = oneshot::channel();
            if tx.send(Msg::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        }
    }
}

async fn write_batches(db: Db, mut rx: mpsc::Receiver<Msg>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut waiting = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(tenant, call) => batch.push((tenant, call)),
                Msg::Flush(done) => waiting.push(done),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            store::record_batch(&db, &batch).await;
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
