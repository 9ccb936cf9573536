//! The worker's side of the inbox: every tenant's mailbox watched over one connection each.
//!
//! [`Inbox::run`] asks `email_mailboxes_to_watch()` (SECURITY DEFINER: the worker never holds the
//! owner role) which tenants have a mailbox, and keeps one task per mailbox, restarted when the
//! channel changes and stopped when it goes. A task takes the mailbox's lease (one worker per
//! mailbox), logs in, reads what is new, then waits: IMAP IDLE where the server offers it, else
//! `EMAIL_POLL_INTERVAL`. A failure is recorded with its reason and time, and retried after a
//! backoff that starts at the poll interval and doubles up to 30 minutes.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::file::Mailbox;
use super::poll::{self, Pass, PassError};
use super::store;
use crate::channels::Channels;
use crate::channels::email::imap::{self, IMAP_TIMEOUT, ImapError, Session};
use crate::channels::email::{self, OpenChannel};
use crate::{Db, StoreError, Tenant};

/// Longest wait between retries of a failing mailbox.
const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);
/// Longest one IDLE lasts before the mailbox is read again (RFC 2177 asks for under 29 minutes).
const MAX_IDLE: Duration = Duration::from_secs(25 * 60);

/// Reads the tenants' mailboxes.
#[derive(Clone)]
pub struct Inbox {
    db: Db,
    channels: Channels,
    worker_id: String,
}

impl Inbox {
    /// `worker_id` names this worker on the mailboxes it holds.
    pub fn new(db: Db, channels: Channels, worker_id: impl Into<String>) -> Self {
        Self {
            db,
            channels,
            worker_id: worker_id.into(),
        }
    }

    fn poll_interval(&self) -> Duration {
        self.channels
            .email
            .email_poll_interval
            .max(Duration::from_secs(1))
    }

    /// How long a mailbox is this worker's without renewal: past every wait of the loop.
    fn lease(&self) -> Duration {
        (self.poll_interval().min(MAX_IDLE) * 3).max(Duration::from_secs(300))
    }

    fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(16);
        let full = self
            .poll_interval()
            .saturating_mul(2u32.saturating_pow(exp))
            .min(MAX_BACKOFF);
        full.mul_f64(rand::Rng::random_range(&mut rand::rng(), 0.8..=1.0))
    }

    /// The tenant's channel and the name of its mailbox (server and login); `None` without a
    /// channel or without an imap_url.
    async fn mailbox(&self, tenant: &Tenant) -> Result<Option<(OpenChannel, String)>, PassError> {
        let channel = email::open(&self.db, &self.channels, tenant)
            .await
            .map_err(|e| match e {
                email::ChannelError::Store(e) => PassError::Store(e),
                e => PassError::Imap(ImapError::Refused(e.to_string())),
            })?;
        let Some(channel) = channel else {
            return Ok(None);
        };
        let Some(url) = &channel.imap else {
            return Ok(None);
        };
        let source = format!(
            "imap{}://{}:{} {}",
            match url.security {
                email::Security::Tls => "s",
                email::Security::StartTls => "",
            },
            url.host,
            url.port,
            channel.username
        );
        Ok(Some((channel, source)))
    }

    fn mailbox_limits(&self, channel: &OpenChannel) -> Mailbox {
        Mailbox {
            address: channel.address.to_lowercase(),
            max_mail_bytes: self.channels.email.email_max_mail_bytes,
        }
    }

    async fn login(&self, channel: &OpenChannel) -> Result<Session, ImapError> {
        let url = channel
            .imap
            .as_ref()
            .ok_or_else(|| ImapError::Refused("no imap_url".into()))?;
        imap::connect(&self.channels, url, &channel.username, &channel.password).await
    }

    /// Records a pass's outcome: `None` for success, else why it failed.
    async fn record(&self, tenant: &Tenant, source: &str, error: Option<&PassError>) {
        let outcome = async {
            let mut tx = self.db.begin(tenant).await?;
            match error {
                None => store::record_ok(&mut tx).await?,
                Some(e) => store::record_error(&mut tx, source, &e.to_string()).await?,
            }
            tx.commit().await
        };
        if let Err(e) = outcome.await {
            tracing::warn!(tenant = %tenant, error = %e, "recording the mailbox's state failed");
        }
    }

    /// One pass over the tenant's mailbox, whoever holds its lease: log in, read what is new,
    /// log out; the result is recorded for `channels email status`. `None` without a mailbox.
    pub async fn poll_once(&self, tenant: &Tenant) -> Result<Option<Pass>, PassError> {
        let Some((channel, source)) = self.mailbox(tenant).await? else {
            return Ok(None);
        };
        let result = async {
            let mut session = self.login(&channel).await?;
            let r = poll::pass(
                &self.db,
                tenant,
                &self.mailbox_limits(&channel),
                &source,
                &mut session,
            )
            .await;
            let _ = tokio::time::timeout(IMAP_TIMEOUT, session.logout()).await;
            r
        }
        .await;
        self.record(tenant, &source, result.as_ref().err()).await;
        result.map(Some)
    }

    /// One pass over every tenant's mailbox (`worker --once`): (mailboxes read, failed).
    pub async fn poll_all_once(&self) -> Result<(u64, u64), StoreError> {
        let (mut read, mut failed) = (0, 0);
        for (user_id, _) in store::to_watch(self.db.pool()).await? {
            let tenant = Tenant::from_trusted_operator_input(user_id);
            match self.poll_once(&tenant).await {
                Ok(Some(_)) => read += 1,
                Ok(None) => {}
                Err(e) => {
                    failed += 1;
                    tracing::warn!(tenant = %tenant, error = %e, "reading the mailbox failed");
                }
            }
        }
        Ok((read, failed))
    }

    /// Watches every tenant's mailbox until `shutdown` is cancelled.
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut tasks: HashMap<Uuid, (DateTime<Utc>, CancellationToken, JoinHandle<()>)> =
            HashMap::new();
        loop {
            match store::to_watch(self.db.pool()).await {
                Ok(list) => {
                    let wanted: HashMap<Uuid, DateTime<Utc>> = list.into_iter().collect();
                    tasks.retain(|user, (changed, stop, handle)| {
                        let keep = wanted.get(user) == Some(&*changed) && !handle.is_finished();
                        if !keep {
                            stop.cancel();
                        }
                        keep
                    });
                    for (user, changed) in wanted {
                        if tasks.contains_key(&user) {
                            continue;
                        }
                        let stop = shutdown.child_token();
                        let (me, token) = (self.clone(), stop.clone());
                        let tenant = Tenant::from_trusted_operator_input(user);
                        let handle = tokio::spawn(async move { me.watch(tenant, token).await });
                        tasks.insert(user, (changed, stop, handle));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "listing the mailboxes to watch failed"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.poll_interval().min(Duration::from_secs(60))) => {}
            }
        }
        for (_, (_, stop, handle)) in tasks {
            stop.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
        }
    }

    /// Watches one mailbox until `stop` is cancelled or the mailbox goes away.
    async fn watch(&self, tenant: Tenant, stop: CancellationToken) {
        let mut failures = 0u32;
        while !stop.is_cancelled() {
            let wait = match self.session(&tenant, &stop, &mut failures).await {
                Ok(Some(wait)) => wait,
                Ok(None) => break,
                Err(_) => self.backoff(failures),
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let released = async {
            let mut tx = self.db.begin(&tenant).await?;
            store::release_lease(&mut tx, &self.worker_id).await?;
            tx.commit().await
        };
        if let Err(e) = released.await {
            tracing::warn!(tenant = %tenant, error = %e, "releasing the mailbox failed");
        }
    }

    /// One connection: lease, login, then pass and wait until something fails. `Ok(None)`: no
    /// mailbox any more; `Ok(Some(wait))`: another worker holds it, look again after `wait`.
    async fn session(
        &self,
        tenant: &Tenant,
        stop: &CancellationToken,
        failures: &mut u32,
    ) -> Result<Option<Duration>, PassError> {
        let (channel, source) = match self.mailbox(tenant).await {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(None),
            Err(e) => {
                *failures += 1;
                return Err(e);
            }
        };
        if !self.take_lease(tenant, &source).await? {
            return Ok(Some(self.poll_interval()));
        }
        let limits = self.mailbox_limits(&channel);
        let mut session = match self.login(&channel).await {
            Ok(s) => s,
            Err(e) => {
                *failures += 1;
                let e = PassError::Imap(e);
                self.record(tenant, &source, Some(&e)).await;
                tracing::warn!(tenant = %tenant, error = %e, "mailbox login failed; will retry");
                return Err(e);
            }
        };
        let idle = match tokio::time::timeout(IMAP_TIMEOUT, session.capabilities()).await {
            Ok(Ok(caps)) => caps.has_str("IDLE"),
            _ => false,
        };
        loop {
            if !self.take_lease(tenant, &source).await? {
                let _ = tokio::time::timeout(IMAP_TIMEOUT, session.logout()).await;
                return Ok(Some(self.poll_interval()));
            }
            let result = tokio::select! {
                r = poll::pass(&self.db, tenant, &limits, &source, &mut session) => r,
                _ = stop.cancelled() => return Ok(Some(Duration::ZERO)),
            };
            self.record(tenant, &source, result.as_ref().err()).await;
            if let Err(e) = result {
                *failures += 1;
                tracing::warn!(tenant = %tenant, error = %e, "reading the mailbox failed; will retry");
                return Err(e);
            }
            *failures = 0;
            let wait = self.poll_interval().min(MAX_IDLE);
            if idle {
                session = match idle_wait(session, wait, stop).await {
                    Ok(s) => s,
                    Err(e) => {
                        *failures += 1;
                        return Err(PassError::Imap(e));
                    }
                };
            } else {
                tokio::select! {
                    _ = stop.cancelled() => return Ok(Some(Duration::ZERO)),
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            if stop.is_cancelled() {
                let _ = tokio::time::timeout(IMAP_TIMEOUT, session.logout()).await;
                return Ok(Some(Duration::ZERO));
            }
        }
    }

    async fn take_lease(&self, tenant: &Tenant, source: &str) -> Result<bool, PassError> {
        let mut tx = self.db.begin(tenant).await?;
        let got = store::take_lease(&mut tx, source, &self.worker_id, self.lease()).await?;
        tx.commit().await?;
        Ok(got)
    }
}

/// Waits in IDLE until the server reports a change, `wait` passes or `stop` is cancelled.
async fn idle_wait(
    session: Session,
    wait: Duration,
    stop: &CancellationToken,
) -> Result<Session, ImapError> {
    let net = |e: async_imap::error::Error| ImapError::Network(e.to_string());
    let mut handle = session.idle();
    tokio::time::timeout(IMAP_TIMEOUT, handle.init())
        .await
        .map_err(|_| ImapError::Network("IDLE: no answer".into()))?
        .map_err(net)?;
    {
        let (changed, _interrupt) = handle.wait_with_timeout(wait);
        tokio::select! {
            r = changed => { r.map_err(net)?; }
            _ = stop.cancelled() => {}
        }
    }
    tokio::time::timeout(IMAP_TIMEOUT, handle.done())
        .await
        .map_err(|_| ImapError::Network("IDLE: no answer to DONE".into()))?
        .map_err(net)
}
