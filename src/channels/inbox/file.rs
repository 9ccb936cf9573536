//! Filing one mail, in one transaction: the mailbox position is locked and checked, the mail's
//! key looked up, the mail threaded (or turned away, with the reason), recorded, and the
//! position advanced past it. A worker that dies before the commit leaves nothing behind, and
//! the next one reads the same mail again; a mail read twice finds its key and adds nothing.

use uuid::Uuid;

use super::parse::{self, Automatic, ParsedMail};
use super::{Outcome, store};
use crate::messages::{self, Sender};
use crate::tickets::{self, NewTicket};
use crate::validate::Email;
use crate::{Db, StoreError, Tenant, TenantTx, customers};

/// A mail as fetched.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub uidvalidity: u32,
    pub uid: u32,
    /// Its size on the server (`RFC822.SIZE`).
    pub size: u64,
    /// The whole mail, or only its headers when it is larger than the limit.
    pub raw: &'a [u8],
    pub whole: bool,
}

/// What filing a mail did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filed {
    /// Recorded with this outcome (and the ticket it is on, if any).
    Stored {
        outcome: Outcome,
        ticket_id: Option<Uuid>,
    },
    /// Its key was recorded before: nothing new.
    Duplicate,
    /// The position moved past it meanwhile (another worker), or the mailbox was renumbered.
    Skipped,
}

/// What the mailbox is: the channel's own address, and the size limit.
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub address: String,
    pub max_mail_bytes: u64,
}

/// Files `mail` for the tenant.
pub async fn file(
    db: &Db,
    tenant: &Tenant,
    mailbox: &Mailbox,
    mail: &Incoming<'_>,
) -> Result<Filed, StoreError> {
    let parsed = if mail.whole {
        parse::parse(mail.raw)
    } else {
        parse::parse_headers(mail.raw)
    };
    let mut tx = db.begin(tenant).await?;
    let (uidvalidity, last_uid) = store::lock_position(&mut tx).await?;
    if uidvalidity != Some(mail.uidvalidity) || mail.uid <= last_uid {
        tx.rollback().await?;
        return Ok(Filed::Skipped);
    }
    if store::seen(&mut tx, &parsed.key).await? {
        store::advance(&mut tx, mail.uid, true).await?;
        tx.commit().await?;
        return Ok(Filed::Duplicate);
    }
    let (outcome, reason, ticket_id, message_id) =
        match turned_away(&mut tx, mailbox, &parsed, mail).await? {
            Some((outcome, reason)) => (outcome, Some(reason), None, None),
            None => {
                let (outcome, ticket, message) = thread(&mut tx, &parsed).await?;
                let notes = (!parsed.notes.is_empty()).then(|| parsed.notes.join("; "));
                (outcome, notes, Some(ticket), message)
            }
        };
    let attachments = serde_json::to_value(&parsed.attachments)
        .map_err(|e| StoreError::invalid("attachments", e.to_string()))?;
    store::record(
        &mut tx,
        &store::Record {
            key: &parsed.key,
            uidvalidity: mail.uidvalidity,
            uid: mail.uid,
            outcome,
            reason: reason.as_deref(),
            from_address: parsed.from.as_ref().map(|f| f.address.as_str()),
            subject: Some(parsed.subject.as_str()).filter(|s| !s.is_empty()),
            size: mail.size,
            attachments: &attachments,
            ticket_id,
            message_id,
        },
    )
    .await?;
    store::advance(&mut tx, mail.uid, false).await?;
    tx.commit().await?;
    Ok(Filed::Stored { outcome, ticket_id })
}

/// Why the mail becomes no ticket, if it does not.
async fn turned_away(
    tx: &mut TenantTx,
    mailbox: &Mailbox,
    parsed: &ParsedMail,
    mail: &Incoming<'_>,
) -> Result<Option<(Outcome, String)>, StoreError> {
    let rejected = |r: String| Ok(Some((Outcome::Rejected, r)));
    if let Some(why) = &parsed.unreadable {
        return rejected(why.clone());
    }
    if !mail.whole {
        return rejected(format!(
            "the mail has {} bytes, more than EMAIL_MAX_MAIL_BYTES ({}): not read",
            mail.size, mailbox.max_mail_bytes
        ));
    }
    let Some(from) = &parsed.from else {
        return rejected("the mail has no From address".into());
    };
    if Email::parse("from", &from.address).is_err() {
        return rejected(format!(
            "the From address {:?} is not a valid address",
            from.address.chars().take(100).collect::<String>()
        ));
    }
    if from.address.eq_ignore_ascii_case(&mailbox.address) {
        return Ok(Some((
            Outcome::Loop,
            "sent from the channel's own address".into(),
        )));
    }
    if let Some(id) = &parsed.message_id
        && messages::store::is_outgoing_email_message_id(tx, id).await?
    {
        return Ok(Some((
            Outcome::Loop,
            format!("carries our own Message-ID {id}"),
        )));
    }
    Ok(match &parsed.automatic {
        Some(Automatic::AutoReply(why)) => Some((Outcome::AutoReply, why.clone())),
        Some(Automatic::Bounce(why)) => Some((Outcome::Bounce, why.clone())),
        None => None,
    })
}

/// Adds the mail to the ticket it answers, or opens a new one: (outcome, ticket, message).
async fn thread(
    tx: &mut TenantTx,
    parsed: &ParsedMail,
) -> Result<(Outcome, Uuid, Option<Uuid>), StoreError> {
    let from = parsed
        .from
        .as_ref()
        .ok_or_else(|| StoreError::invalid("from", "missing"))?;
    if let Some(ticket_id) = answered_ticket(tx, parsed, &from.address).await? {
        let message = messages::store::add(tx, ticket_id, Sender::Customer, &parsed.text).await?;
        if let Some(id) = &parsed.message_id {
            messages::store::set_email_message_id(tx, ticket_id, message.id, id).await?;
        }
        if !parsed.attachments.is_empty() {
            let list = serde_json::to_value(&parsed.attachments)
                .map_err(|e| StoreError::invalid("attachments", e.to_string()))?;
            messages::store::set_attachments(tx, ticket_id, message.id, &list).await?;
        }
        return Ok((Outcome::Message, ticket_id, Some(message.id)));
    }
    let default_name = from.address.split('@').next().unwrap_or("customer");
    let name = from.name.as_deref().unwrap_or(default_name);
    let customer = customers::store::find_or_create_by_email(tx, &from.address, name).await?;
    let subject = if parsed.subject.trim().is_empty() {
        "(no subject)"
    } else {
        parsed.subject.as_str()
    };
    let ticket = tickets::store::create(
        tx,
        &NewTicket {
            customer_id: customer.id,
            subject,
            description: Some(&parsed.text),
            priority: None,
        },
    )
    .await?;
    Ok((Outcome::Ticket, ticket.id, None))
}

/// The ticket this mail answers: one named by `In-Reply-To`/`References` (our reply, or a
/// customer's earlier mail) or by a `[#number]` in the subject — and in every case only a
/// ticket of the sender's own: a mail quoting someone else's ticket opens a new one.
async fn answered_ticket(
    tx: &mut TenantTx,
    parsed: &ParsedMail,
    from: &str,
) -> Result<Option<Uuid>, StoreError> {
    let mut candidates = Vec::new();
    if let Some(t) = messages::store::ticket_of_email_message_ids(tx, &parsed.refs).await? {
        candidates.push(t);
    }
    if let Some(t) = store::ticket_of_keys(tx, &parsed.refs).await? {
        candidates.push(t);
    }
    for number in ticket_tags(&parsed.subject) {
        if let Some(t) = tickets::store::find_by_number(tx, number).await? {
            candidates.push(t.id);
        }
    }
    for ticket_id in candidates {
        let ticket = tickets::store::get(tx, ticket_id).await?;
        let customer = customers::store::get(tx, ticket.customer_id).await?;
        if customer.email.eq_ignore_ascii_case(from) {
            return Ok(Some(ticket_id));
        }
    }
    Ok(None)
}

/// The numbers of `[#123]` tags in a subject, in order.
pub fn ticket_tags(subject: &str) -> Vec<i64> {
    subject
        .split("[#")
        .skip(1)
        .filter_map(|rest| {
            let (n, _) = rest.split_once(']')?;
            n.trim().parse::<i64>().ok().filter(|n| *n > 0)
        })
        .take(5)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ticket_tags;

    #[test]
    fn ticket_tags_are_read_from_the_subject() {
        assert_eq!(ticket_tags("Re: Refund for order 42 [#7]"), vec![7]);
        assert_eq!(ticket_tags("Fwd: [#3] and [#12]"), vec![3, 12]);
        assert!(ticket_tags("[#] [#x] [#-1] #4 [4]").is_empty());
    }
}
