//! One pass over a mailbox on an open session: `SELECT INBOX`, the stored position for its
//! UIDVALIDITY, the UIDs and sizes above it, then the mails in UID order, a bounded batch at a
//! time, each filed in its own transaction ([`super::file`]). Mails over the size limit are
//! fetched as headers only.

use std::time::Duration;

use async_imap::types::Fetch;
use futures::TryStreamExt;

use super::file::{self, Filed, Incoming, Mailbox};
use super::store;
use crate::channels::email::imap::{ImapError, Session};
use crate::{Db, StoreError, Tenant};

/// Longest one IMAP command may take (a batch of large mails included).
const OP_TIMEOUT: Duration = Duration::from_secs(300);
/// Mails fetched per command at most, and their bytes at most.
const BATCH_MAILS: usize = 100;
const BATCH_BYTES: u64 = 32 * 1024 * 1024;

/// A mail's UID and size.
type UidSize = (u32, u64);

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// Mails above the position.
    pub seen: u64,
    /// Filed as a ticket, a message or a counted refusal.
    pub stored: u64,
    pub duplicates: u64,
    /// Filed by another worker meanwhile.
    pub skipped: u64,
}

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn imap(e: async_imap::error::Error) -> ImapError {
    ImapError::Network(crate::secrets::redact(&e.to_string()).into_owned())
}

async fn timed<T>(
    what: &str,
    fut: impl Future<Output = Result<T, async_imap::error::Error>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(OP_TIMEOUT, fut)
        .await
        .map_err(|_| ImapError::Network(format!("{what}: no answer within {OP_TIMEOUT:?}")))?
        .map_err(imap)
}

async fn uid_fetch(session: &mut Session, set: &str, query: &str) -> Result<Vec<Fetch>, ImapError> {
    timed("UID FETCH", async {
        let stream = session.uid_fetch(set, query).await?;
        stream.try_collect::<Vec<Fetch>>().await
    })
    .await
}

/// Reads every new mail of the tenant's mailbox, whose channel is `source`.
pub async fn pass(
    db: &Db,
    tenant: &Tenant,
    mailbox: &Mailbox,
    source: &str,
    session: &mut Session,
) -> Result<Pass, PassError> {
    let selected = timed("SELECT", session.select("INBOX")).await?;
    let uidvalidity = selected
        .uid_validity
        .ok_or_else(|| ImapError::Network("the server sent no UIDVALIDITY".into()))?;
    let mut tx = db.begin(tenant).await?;
    let last = store::position(&mut tx, source, uidvalidity).await?;
    tx.commit().await?;
    let mut pass = Pass::default();
    if selected.exists == 0 {
        return Ok(pass);
    }
    // `n:*` names the last mail even when its UID is below n: filtered below.
    let sizes = uid_fetch(
        session,
        &format!("{}:*", u64::from(last) + 1),
        "(UID RFC822.SIZE)",
    )
    .await?;
    let mut new: Vec<(u32, u64)> = sizes
        .iter()
        .filter_map(|f| Some((f.uid?, u64::from(f.size.unwrap_or(0)))))
        .filter(|(uid, _)| *uid > last)
        .collect();
    new.sort_unstable();
    new.dedup_by_key(|(uid, _)| *uid);
    pass.seen = new.len() as u64;
    for batch in batches(&new, mailbox.max_mail_bytes) {
        let (whole, large): (Vec<UidSize>, Vec<UidSize>) = batch
            .iter()
            .partition(|(_, size)| *size <= mailbox.max_mail_bytes);
        let mut fetched: Vec<(u32, u64, Vec<u8>, bool)> = Vec::with_capacity(batch.len());
        if !whole.is_empty() {
            for f in uid_fetch(session, &uid_set(&whole), "(UID BODY.PEEK[])").await? {
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    fetched.push((uid, size_of(&whole, uid), body.to_vec(), true));
                }
            }
        }
        if !large.is_empty() {
            for f in uid_fetch(session, &uid_set(&large), "(UID BODY.PEEK[HEADER])").await? {
                if let (Some(uid), Some(header)) = (f.uid, f.header()) {
                    fetched.push((uid, size_of(&large, uid), header.to_vec(), false));
                }
            }
        }
        fetched.sort_by_key(|(uid, ..)| *uid);
        for (uid, size, raw, is_whole) in &fetched {
            let incoming = Incoming {
                uidvalidity,
                uid: *uid,
                size: *size,
                raw,
                whole: *is_whole,
            };
            match file::file(db, tenant, mailbox, &incoming).await? {
                Filed::Stored { .. } => pass.stored += 1,
                Filed::Duplicate => pass.duplicates += 1,
                Filed::Skipped => pass.skipped += 1,
            }
        }
    }
    Ok(pass)
}

fn size_of(list: &[(u32, u64)], uid: u32) -> u64 {
    list.iter().find(|(u, _)| *u == uid).map_or(0, |(_, s)| *s)
}

/// The mails in runs of at most [`BATCH_MAILS`] and [`BATCH_BYTES`] (a large mail counts as
/// its headers only).
fn batches(mails: &[(u32, u64)], max_mail: u64) -> Vec<Vec<(u32, u64)>> {
    let mut out: Vec<Vec<(u32, u64)>> = Vec::new();
    let mut bytes = 0;
    for &(uid, size) in mails {
        let weight = if size <= max_mail { size } else { 64 * 1024 };
        let full = out
            .last()
            .is_none_or(|b| b.len() >= BATCH_MAILS || bytes + weight > BATCH_BYTES);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += weight;
        if let Some(b) = out.last_mut() {
            b.push((uid, size));
        }
    }
    out
}

fn uid_set(mails: &[(u32, u64)]) -> String {
    mails
        .iter()
        .map(|(uid, _)| uid.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_in_count_and_bytes() {
        let many: Vec<(u32, u64)> = (1..=250).map(|u| (u, 10)).collect();
        let b = batches(&many, 1000);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![100, 100, 50]
        );
        let big = vec![(1, 20 << 20), (2, 20 << 20), (3, 30 << 20)];
        let b = batches(&big, 25 << 20);
        assert_eq!(
            b.len(),
            2,
            "two 20 MiB mails do not share a batch; the 30 MiB one is headers"
        );
        assert_eq!(uid_set(&b[1]), "2,3");
    }
}
