//! The worker's `deliver` handler: sends an agent's reply or an approved draft to the customer
//! from the tenant's email channel, threaded into their conversation.
//!
//! Each job moves its message `queued → sending → sent`. The Message-ID is recorded with
//! `sending`, in a transaction committed before the SMTP conversation starts, so that a job found
//! in `sending` is one whose worker died mid-send: it becomes `uncertain`, its ticket is flagged,
//! and it is never resent by itself (a person may resend it). A temporary failure (4xx, network)
//! goes back to `queued` and is retried with the queue's backoff; a permanent one (5xx, a bad
//! address), or the last attempt, ends `failed` with the reason and the ticket flagged. Without a
//! channel the message is `no_channel` and nothing is retried.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MessageBuilder};
use uuid::Uuid;

use super::Channels;
use super::email::smtp::{self, SendError};
use super::email::{self, OpenChannel};
use super::inbox;
use crate::jobs::{ClaimedJob, JobKind};
use crate::messages::{DeliveryState, Message, Sender};
use crate::worker::{Done, Handler, JobError};
use crate::{Db, Tenant, customers, messages, tickets};

/// Runs `deliver` jobs.
pub struct DeliveryHandler {
    db: Db,
    channels: Channels,
}

impl DeliveryHandler {
    pub fn new(db: Db, channels: Channels) -> Self {
        Self { db, channels }
    }
}

impl Handler for DeliveryHandler {
    fn kinds(&self) -> &'static [JobKind] {
        &[JobKind::Deliver]
    }

    async fn handle(&self, job: &ClaimedJob) -> Result<Done, JobError> {
        let (Some(ticket_id), Some(message_id)) = (job.ticket_id, job.message_id) else {
            return Err(JobError::Permanent("a deliver job names a message".into()));
        };
        let tenant = job.tenant();
        let prepared = match self.prepare(&tenant, ticket_id, message_id).await? {
            Step::Send(p) => p,
            Step::Finished(done) => return Ok(done),
        };
        let outcome = smtp::send(&self.channels, &prepared.channel, prepared.mail).await;
        let last = job.attempts >= job.max_attempts;
        let (state, error, result) = match outcome {
            Ok(()) => (DeliveryState::Sent, None, Ok(Done::default())),
            Err(SendError::Temporary(e)) if !last => (
                DeliveryState::Queued,
                Some(e.clone()),
                Err(JobError::Transient(e)),
            ),
            Err(SendError::Temporary(e) | SendError::Permanent(e)) => (
                DeliveryState::Failed,
                Some(e.clone()),
                Err(JobError::Permanent(e)),
            ),
        };
        let mut tx = self.db.begin(&tenant).await.map_err(transient)?;
        messages::store::set_delivery(
            &mut tx,
            ticket_id,
            message_id,
            state,
            error.as_deref(),
            None,
        )
        .await
        .map_err(transient)?;
        if state == DeliveryState::Failed {
            tickets::store::flag_for_human(&mut tx, ticket_id)
                .await
                .map_err(transient)?;
        }
        tx.commit().await.map_err(transient)?;
        result
    }

    /// The last attempt's worker died: a reply left `sending` becomes `uncertain`, one still
    /// `queued` `failed`; the ticket is flagged either way.
    async fn abandoned(&self, job: &ClaimedJob) {
        let (Some(ticket_id), Some(message_id)) = (job.ticket_id, job.message_id) else {
            return;
        };
        if let Err(e) = self.give_up(&job.tenant(), ticket_id, message_id).await {
            tracing::error!(job = %job.id, error = %e, "recording an abandoned delivery failed");
        }
    }
}

impl DeliveryHandler {
    async fn give_up(
        &self,
        tenant: &Tenant,
        ticket_id: Uuid,
        message_id: Uuid,
    ) -> Result<(), crate::StoreError> {
        let mut tx = self.db.begin(tenant).await?;
        let m = messages::store::lock_for_delivery(&mut tx, ticket_id, message_id).await?;
        let (state, why) = match m.delivery_state {
            Some(DeliveryState::Sending) => (
                DeliveryState::Uncertain,
                "the worker stopped while sending: the customer may or may not have it",
            ),
            Some(DeliveryState::Queued) => (
                DeliveryState::Failed,
                "the last attempt's worker stopped before sending",
            ),
            _ => return Ok(()),
        };
        messages::store::set_delivery(&mut tx, ticket_id, message_id, state, Some(why), None)
            .await?;
        tickets::store::flag_for_human(&mut tx, ticket_id).await?;
        tx.commit().await
    }
}

enum Step {
    Send(Box<Prepared>),
    Finished(Done),
}

struct Prepared {
    channel: OpenChannel,
    mail: lettre::Message,
}

fn transient(e: impl std::fmt::Display) -> JobError {
    JobError::Transient(e.to_string())
}

impl DeliveryHandler {
    /// Decides what this attempt does and, when it sends, records `sending` with the
    /// Message-ID first.
    async fn prepare(
        &self,
        tenant: &Tenant,
        ticket_id: Uuid,
        message_id: Uuid,
    ) -> Result<Step, JobError> {
        let channel = email::open(&self.db, &self.channels, tenant)
            .await
            .map_err(transient)?;
        let mut tx = self.db.begin(tenant).await.map_err(transient)?;
        let message = match messages::store::lock_for_delivery(&mut tx, ticket_id, message_id).await
        {
            Ok(m) => m,
            Err(crate::StoreError::NotFound(_)) => {
                return Ok(Step::Finished(Done::with_note("the message is gone")));
            }
            Err(e) => return Err(transient(e)),
        };
        let finish = |note: &str| Ok(Step::Finished(Done::with_note(note)));
        match message.delivery_state {
            Some(DeliveryState::Queued) => {}
            Some(DeliveryState::Sending) => {
                // A worker died mid-send: the customer may have the mail. Never resend it.
                messages::store::set_delivery(
                    &mut tx,
                    ticket_id,
                    message_id,
                    DeliveryState::Uncertain,
                    Some("the worker stopped while sending: the customer may or may not have it"),
                    None,
                )
                .await
                .map_err(transient)?;
                tickets::store::flag_for_human(&mut tx, ticket_id)
                    .await
                    .map_err(transient)?;
                tx.commit().await.map_err(transient)?;
                return finish("uncertain: interrupted while sending; not resent");
            }
            Some(state) => return finish(&format!("already {}", state.as_str())),
            None => return finish("not an outgoing message"),
        }
        let Some(channel) = channel else {
            messages::store::set_delivery(
                &mut tx,
                ticket_id,
                message_id,
                DeliveryState::NoChannel,
                Some("this desk has no email channel"),
                None,
            )
            .await
            .map_err(transient)?;
            tx.commit().await.map_err(transient)?;
            return finish("no_channel");
        };
        let ticket = tickets::store::get(&mut tx, ticket_id)
            .await
            .map_err(transient)?;
        let customer = customers::store::get(&mut tx, ticket.customer_id)
            .await
            .map_err(transient)?;
        let mut thread = messages::store::thread_message_ids(&mut tx, ticket_id, message_id)
            .await
            .map_err(transient)?;
        // A ticket a mail opened: that mail is where the conversation starts.
        if let Some(first) = inbox::store::opening_message_id(&mut tx, ticket_id)
            .await
            .map_err(transient)?
            && !thread.iter().any(|(_, id)| *id == first)
        {
            thread.insert(0, (Sender::Customer, first));
        }
        let mid = message
            .email_message_id
            .clone()
            .unwrap_or_else(|| new_message_id(message.id, &channel.address));
        let subject = format!("Re: {} [#{}]", ticket.subject, ticket.number);
        let built = build(
            &channel,
            &customer.name,
            &customer.email,
            &subject,
            &mid,
            &thread,
            &message,
        );
        let mail = match built {
            Ok(m) => m,
            Err(e) => {
                messages::store::set_delivery(
                    &mut tx,
                    ticket_id,
                    message_id,
                    DeliveryState::Failed,
                    Some(&e),
                    None,
                )
                .await
                .map_err(transient)?;
                tickets::store::flag_for_human(&mut tx, ticket_id)
                    .await
                    .map_err(transient)?;
                tx.commit().await.map_err(transient)?;
                return Err(JobError::Permanent(e));
            }
        };
        messages::store::set_delivery(
            &mut tx,
            ticket_id,
            message_id,
            DeliveryState::Sending,
            None,
            Some(&mid),
        )
        .await
        .map_err(transient)?;
        tx.commit().await.map_err(transient)?;
        Ok(Step::Send(Box::new(Prepared { channel, mail })))
    }
}

/// `<message uuid@domain of the channel's address>`: unique, and the same on a person's resend,
/// so that a receiver that has the first copy can tell the second is the same mail.
fn new_message_id(id: Uuid, address: &str) -> String {
    let domain = address.rsplit_once('@').map_or("support-agent", |(_, d)| d);
    format!("<{}@{domain}>", id.simple())
}

/// The mail: from the channel to the customer, with the ticket's tag in the subject and, when the
/// customer's last message came with a Message-ID, `In-Reply-To` it and `References` the thread.
fn build(
    channel: &OpenChannel,
    customer_name: &str,
    customer_email: &str,
    subject: &str,
    message_id: &str,
    thread: &[(Sender, String)],
    message: &Message,
) -> Result<lettre::Message, String> {
    let from: Mailbox = channel
        .address
        .parse()
        .map_err(|e| format!("the channel's address cannot be used: {e}"))?;
    let to = Mailbox::new(
        Some(customer_name.to_owned()),
        customer_email
            .parse()
            .map_err(|e| format!("the customer's address {customer_email} is invalid: {e}"))?,
    );
    let mut b: MessageBuilder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(message_id.to_owned()));
    let last_customer = thread.iter().rev().find(|(s, _)| *s == Sender::Customer);
    if let Some((_, reply_to)) = last_customer {
        b = b.in_reply_to(reply_to.clone());
        let refs: Vec<&str> = thread.iter().map(|(_, id)| id.as_str()).collect();
        b = b.references(refs.join(" "));
    }
    b.header(ContentType::TEXT_PLAIN)
        .body(message.content.clone())
        .map_err(|e| format!("the mail cannot be built: {e}"))
}
