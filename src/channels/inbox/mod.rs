//! The inbox (issue G2): the tenant's support mailbox, read over IMAP, becomes its queue. Every
//! new mail becomes a ticket or a message on the right ticket, exactly once, and never a mail
//! loop.
//!
//! - [`watch`]: `support-agent worker` keeps one connection per mailbox, waits with IMAP IDLE
//!   where the server offers it (else polls every `EMAIL_POLL_INTERVAL`), reconnects with
//!   backoff and records a failing login with its reason and time (`channels email status`).
//!   The mailboxes of every tenant are found through one SECURITY DEFINER function.
//! - [`poll`]: one pass over a mailbox: the mails above the stored UID, in order.
//! - [`parse`]: MIME, encodings, charsets, HTML → text, the reply cut, attachments.
//! - [`file`]: one transaction per mail: threading onto a ticket (by `In-Reply-To` /
//!   `References` or the `[#number]` tag, only from that ticket's customer) or a new ticket and
//!   customer, the triage job, the mail's record under its unique key, and the mailbox position.

pub mod cut;
pub mod file;
pub mod parse;
pub mod poll;
pub mod store;
pub mod watch;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

pub use file::{Filed, Incoming};
pub use poll::{Pass, PassError};
pub use watch::Inbox;

/// What a mail became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new ticket.
    Ticket,
    /// A message on an existing ticket.
    Message,
    /// An automatic answer or bulk mail: counted, no ticket.
    AutoReply,
    /// A delivery failure report: counted, no ticket.
    Bounce,
    /// Our own mail come back (our address, our Message-ID): counted, no ticket.
    Loop,
    /// A mail that cannot be used (no sender, too large, unreadable), with the reason.
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ticket => "ticket",
            Self::Message => "message",
            Self::AutoReply => "auto_reply",
            Self::Bounce => "bounce",
            Self::Loop => "loop",
            Self::Rejected => "rejected",
        }
    }
}

/// How the mailbox is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailboxState {
    /// Not read successfully yet, and no failure either.
    Pending,
    /// The last attempt succeeded.
    Ok,
    /// The last attempt failed: see `last_error`; it is retried.
    Failing,
}

/// The mailbox as `channels email status` reports it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MailboxStatus {
    pub state: MailboxState,
    /// The worker reading it now, if any.
    pub watcher: Option<String>,
    /// When it was last read successfully.
    pub last_ok_at: Option<DateTime<Utc>>,
    /// Why the last failed attempt failed (a refused login, no answer), and when.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failed attempts since the last success.
    pub failures: u32,
    /// IMAP's UIDVALIDITY and the highest UID read.
    pub uidvalidity: Option<u32>,
    pub last_uid: u32,
    /// Mails that opened a ticket.
    pub tickets: u64,
    /// Mails added to a ticket.
    pub messages: u64,
    pub auto_replies: u64,
    pub bounces: u64,
    pub loops: u64,
    pub rejected: u64,
    /// Mails read again that were stored before (delivered twice, a renumbered mailbox).
    pub duplicates: u64,
}

impl MailboxStatus {
    fn state_of(ok: Option<DateTime<Utc>>, err: Option<DateTime<Utc>>) -> MailboxState {
        match (ok, err) {
            (_, Some(e)) if ok.is_none_or(|o| e > o) => MailboxState::Failing,
            (Some(_), _) => MailboxState::Ok,
            _ => MailboxState::Pending,
        }
    }
}
