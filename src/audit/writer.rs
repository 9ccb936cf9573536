//! Recording tool calls off the request path.
//!
//! [`AuditLog::direct`] writes each call in its own transaction before the call returns (the
//! simplest, for low volumes). [`AuditLog::spawn`] queues calls to a background writer that
//! drains the queue in batches of up to [`MAX_BATCH`] and writes each batch in one transaction
//! ([`super::store::record_batch`]): one commit for many calls instead of one per call, which is
//! what lets the HTTP server reach its throughput target. A queued call is written within a
//! batch's time; [`AuditLog::flush`] waits until everything queued so far is written, and the
//! HTTP server flushes when it shuts down. A crash can lose the calls still queued.

use tokio::sync::{mpsc, oneshot};

use super::{NewToolCall, store};
use crate::{Db, Tenant};

/// Largest batch written in one transaction.
pub const MAX_BATCH: usize = 512;
/// Calls that may wait in the queue before callers wait for room (backpressure).
const QUEUE: usize = 16_384;

enum Msg {
    Record(Tenant, NewToolCall<'static>),
    Flush(oneshot::Sender<()>),
}

/// Where tool calls are recorded. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog(Mode);

#[derive(Clone)]
enum Mode {
    Direct(Db),
    Queued(mpsc::Sender<Msg>),
}

impl AuditLog {
    /// Writes every call before returning.
    pub fn direct(db: Db) -> Self {
        Self(Mode::Direct(db))
    }

    /// Starts a background writer on the current runtime; it ends once every clone is dropped
    /// and the queue is written.
    pub fn spawn(db: Db) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(db, rx));
        Self(Mode::Queued(tx))
    }

    /// Records one call. A failure to write is logged, never returned: the call has happened.
    pub async fn record(&self, tenant: &Tenant, call: NewToolCall<'static>) {
        match &self.0 {
            Mode::Direct(db) => {
                if let Err(e) = super::record(db, tenant, call).await {
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
        if let Mode::Queued(tx) = &self.0 {
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
            if let Err(e) = store::record_batch(&db, &batch).await {
                tracing::error!(calls = batch.len(), error = %e, "writing audited tool calls failed");
            }
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
