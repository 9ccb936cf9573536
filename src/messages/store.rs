//! The one place that reads and writes `messages`.

use uuid::Uuid;

use super::{DeliveryState, DraftState, Message, Sender};
use crate::db::{Cursor, constraint_violation};
use crate::validate::{self, MAX_BODY};
use crate::{StoreError, TenantTx, jobs};

/// Adds a message to a ticket of the calling tenant. An `ai` message starts as a `draft`: sending
/// it is a person's step.
pub async fn add(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    sender: Sender,
    content: &str,
) -> Result<Message, StoreError> {
    let content = validate::text("content", content, MAX_BODY)?;
    let draft_state = (sender == Sender::Ai).then_some(DraftState::Draft);
    let user_id = tx.user_id();
    let message = sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "INSERT INTO messages (user_id, id, ticket_id, sender_type, content, draft_state) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(ticket_id)
    .bind(sender)
    .bind(content)
    .bind(draft_state)
    .fetch_one(tx.conn())
    .await
    .map_err(ticket_not_found)?;
    // A customer's message asks for an answer: triage is queued in the same transaction (Q3).
    if sender == Sender::Customer {
        jobs::store::enqueue_triage(tx, ticket_id, Some(message.id)).await?;
    }
    Ok(message)
}

/// Stores the ai draft that answers `reply_to` (a customer message, or the ticket itself) with the
/// sources it cites. At most one draft per trigger: when one exists, `Ok(None)` and nothing is
/// written, so a retried job is harmless (Q2).
pub async fn add_draft(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    reply_to: Uuid,
    content: &str,
    citations: &serde_json::Value,
) -> Result<Option<Message>, StoreError> {
    let content = validate::text("content", content, MAX_BODY)?;
    if !citations.is_array() {
        return Err(StoreError::invalid("citations", "must be a JSON array"));
    }
    let user_id = tx.user_id();
    sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "INSERT INTO messages \
            (user_id, id, ticket_id, sender_type, content, draft_state, reply_to, citations) \
         VALUES ($1, $2, $3, 'ai', $4, 'draft', $5, $6) \
         ON CONFLICT ON CONSTRAINT messages_user_id_reply_to_key DO NOTHING RETURNING *",
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(ticket_id)
    .bind(content)
    .bind(reply_to)
    .bind(citations)
    .fetch_optional(tx.conn())
    .await
    .map_err(ticket_not_found)
}

/// Refuses a new draft when `max_open` drafts already wait for review on the ticket
/// (`MAX_DRAFTS_PER_TICKET`). The ticket's row is locked for the rest of the transaction, so two
/// drafts written at once cannot both take the last place.
pub async fn check_open_drafts(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    max_open: u32,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let open: Option<i64> = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT (SELECT count(*) FROM messages m \
                  WHERE m.user_id = $1 AND m.ticket_id = t.id AND m.draft_state = 'draft') \
         FROM tickets t WHERE t.user_id = $1 AND t.id = $2 FOR UPDATE OF t",
    )
    .bind(user_id)
    .bind(ticket_id)
    .fetch_optional(tx.conn())
    .await?;
    let open = open.ok_or(StoreError::NotFound("ticket"))?;
    if open >= i64::from(max_open) {
        return Err(StoreError::Conflict(format!(
            "MAX_DRAFTS_PER_TICKET ({max_open}) reached: {open} drafts wait for review on this \
             ticket; a person must approve or discard one before another can be written"
        )));
    }
    Ok(())
}

/// The composite key (user_id, ticket_id) makes another tenant's ticket look absent.
fn ticket_not_found(e: sqlx::Error) -> StoreError {
    constraint_violation(
        e,
        &[("messages_user_id_ticket_id_fkey", || {
            StoreError::NotFound("ticket")
        })],
    )
}

/// The latest `limit` messages of a ticket written before `before` (all of them when `None`),
/// oldest first, and the cursor of the older ones when there are more.
pub async fn list_latest(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    limit: i64,
    before: Option<Cursor>,
) -> Result<(Vec<Message>, Option<Cursor>), StoreError> {
    let limit = limit.clamp(1, 1000);
    let user_id = tx.user_id();
    let mut rows = sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "SELECT * FROM messages WHERE user_id = $1 AND ticket_id = $2 \
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
         ORDER BY created_at DESC, id DESC LIMIT $5",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(before.map(|c| c.created_at))
    .bind(before.map(|c| c.id))
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    let older = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|m| Cursor {
            created_at: m.created_at,
            id: m.id,
        })
    } else {
        None
    };
    rows.reverse();
    Ok((rows, older))
}

/// A ticket's messages, oldest first.
pub async fn list_by_ticket(
    tx: &mut TenantTx,
    ticket_id: Uuid,
) -> Result<Vec<Message>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "SELECT * FROM messages WHERE user_id = $1 AND ticket_id = $2 ORDER BY created_at, id",
    )
    .bind(user_id)
    .bind(ticket_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// A ticket's messages, oldest first; an unknown ticket (or another tenant's) is "not found"
/// rather than an empty thread.
pub async fn list_for_ticket(
    tx: &mut TenantTx,
    ticket_id: Uuid,
) -> Result<Vec<Message>, StoreError> {
    let user_id = tx.user_id();
    let exists: bool = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT EXISTS (SELECT 1 FROM tickets WHERE user_id = $1 AND id = $2)",
    )
    .bind(user_id)
    .bind(ticket_id)
    .fetch_one(tx.conn())
    .await?;
    if !exists {
        return Err(StoreError::NotFound("ticket"));
    }
    list_by_ticket(tx, ticket_id).await
}

/// The ai draft that answers `reply_to` (a customer message, or the ticket itself), whatever
/// its state: at most one exists (`messages_user_id_reply_to_key`).
pub async fn draft_answering(
    tx: &mut TenantTx,
    reply_to: Uuid,
) -> Result<Option<Message>, StoreError> {
    let user_id = tx.user_id();
    let m = sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "SELECT * FROM messages WHERE user_id = $1 AND reply_to = $2 AND sender_type = 'ai' \
         FOR UPDATE",
    )
    .bind(user_id)
    .bind(reply_to)
    .fetch_optional(tx.conn())
    .await?;
    Ok(m)
}

/// Which of the tickets `ticket_ids` have an ai draft waiting for a person.
pub async fn tickets_with_open_drafts(
    tx: &mut TenantTx,
    ticket_ids: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_scalar::<_, Uuid>(
        // language=PostgreSQL
        "SELECT DISTINCT ticket_id FROM messages \
         WHERE user_id = $1 AND ticket_id = ANY($2) AND draft_state = 'draft'",
    )
    .bind(user_id)
    .bind(ticket_ids)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// One message of a ticket.
pub async fn get(tx: &mut TenantTx, ticket_id: Uuid, id: Uuid) -> Result<Message, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "SELECT * FROM messages WHERE user_id = $1 AND ticket_id = $2 AND id = $3",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("message"))
}

/// Locks a draft of the ticket for a change, or says why it cannot change.
async fn open_draft(tx: &mut TenantTx, ticket_id: Uuid, id: Uuid) -> Result<Message, StoreError> {
    let user_id = tx.user_id();
    let m = sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "SELECT * FROM messages WHERE user_id = $1 AND ticket_id = $2 AND id = $3 FOR UPDATE",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("draft"))?;
    match m.draft_state {
        Some(DraftState::Draft) => Ok(m),
        Some(state) => Err(StoreError::Conflict(format!(
            "the draft is {} already: only a draft in state draft can change",
            state_name(state)
        ))),
        None => Err(StoreError::NotFound("draft")),
    }
}

fn state_name(s: DraftState) -> &'static str {
    match s {
        DraftState::Draft => "draft",
        DraftState::Approved => "approved",
        DraftState::Sent => "sent",
        DraftState::Discarded => "discarded",
    }
}

/// Replaces a draft's text, keeping the model's own text the first time (`original_content`).
pub async fn edit_draft(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    id: Uuid,
    content: &str,
    by: &str,
) -> Result<Message, StoreError> {
    let content = validate::text("content", content, MAX_BODY)?;
    open_draft(tx, ticket_id, id).await?;
    let user_id = tx.user_id();
    let m = sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "UPDATE messages SET original_content = COALESCE(original_content, content), \
                content = $4, edited_at = now(), edited_by = $5 \
         WHERE user_id = $1 AND ticket_id = $2 AND id = $3 RETURNING *",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .bind(content)
    .bind(by)
    .fetch_one(tx.conn())
    .await?;
    Ok(m)
}

/// Approves or discards a draft (`draft → approved`, `draft → discarded`); anything else is a
/// conflict. Who decided and when is recorded.
pub async fn decide_draft(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    id: Uuid,
    decision: super::Decision,
    by: &str,
) -> Result<Message, StoreError> {
    open_draft(tx, ticket_id, id).await?;
    let state = match decision {
        super::Decision::Approve => DraftState::Approved,
        super::Decision::Discard => DraftState::Discarded,
    };
    let user_id = tx.user_id();
    let m = sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "UPDATE messages SET draft_state = $4, decided_at = now(), decided_by = $5 \
         WHERE user_id = $1 AND ticket_id = $2 AND id = $3 RETURNING *",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .bind(state)
    .bind(by)
    .fetch_one(tx.conn())
    .await?;
    Ok(m)
}

/// The ticket's latest ai message, if any.
pub async fn latest_draft(
    tx: &mut TenantTx,
    ticket_id: Uuid,
) -> Result<Option<Message>, StoreError> {
    let user_id = tx.user_id();
    let m = sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "SELECT * FROM messages WHERE user_id = $1 AND ticket_id = $2 AND sender_type = 'ai' \
         ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE",
    )
    .bind(user_id)
    .bind(ticket_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(m)
}

/// The ticket's latest customer message, if any.
pub async fn latest_from_customer(
    tx: &mut TenantTx,
    ticket_id: Uuid,
) -> Result<Option<Message>, StoreError> {
    let user_id = tx.user_id();
    let m = sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "SELECT * FROM messages WHERE user_id = $1 AND ticket_id = $2 \
           AND sender_type = 'customer' ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(ticket_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(m)
}

/// Deletes a draft still in state `draft` (re-running triage replaces it).
pub async fn delete_open_draft(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    id: Uuid,
) -> Result<(), StoreError> {
    open_draft(tx, ticket_id, id).await?;
    let user_id = tx.user_id();
    sqlx::query(
        // language=PostgreSQL
        "DELETE FROM messages WHERE user_id = $1 AND ticket_id = $2 AND id = $3",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A message of the calling tenant by its id alone.
pub async fn find(tx: &mut TenantTx, id: Uuid) -> Result<Message, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "SELECT * FROM messages WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("message"))
}

/// Marks an outgoing message `queued` for delivery, clearing an earlier error (a first send, or
/// a person's resend). Only agent replies and approved drafts go out.
pub async fn queue_delivery(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    id: Uuid,
) -> Result<Message, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "UPDATE messages SET delivery_state = 'queued', delivery_error = NULL \
         WHERE user_id = $1 AND ticket_id = $2 AND id = $3 \
           AND (sender_type = 'agent' OR (sender_type = 'ai' AND draft_state = 'approved')) \
         RETURNING *",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("message to send"))
}

/// Locks a message for the delivery worker's next step.
pub async fn lock_for_delivery(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    id: Uuid,
) -> Result<Message, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "SELECT * FROM messages WHERE user_id = $1 AND ticket_id = $2 AND id = $3 FOR UPDATE",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("message"))
}

/// Moves a message to `state` with the reason (or none); `sending` also records the
/// Message-ID it is about to go out with, before anything is sent.
pub async fn set_delivery(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    id: Uuid,
    state: DeliveryState,
    error: Option<&str>,
    email_message_id: Option<&str>,
) -> Result<Message, StoreError> {
    let user_id = tx.user_id();
    let error: Option<String> = error.map(|e| e.chars().take(2000).collect());
    sqlx::query_as::<_, Message>(
        // language=PostgreSQL
        "UPDATE messages SET delivery_state = $4, delivery_error = $5, \
                email_message_id = COALESCE($6, email_message_id), \
                delivered_at = CASE WHEN $4 = 'sent' THEN now() ELSE delivered_at END, \
                draft_state = CASE WHEN $4 = 'sent' AND draft_state = 'approved' THEN 'sent' \
                                   ELSE draft_state END \
         WHERE user_id = $1 AND ticket_id = $2 AND id = $3 RETURNING *",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .bind(state.as_str())
    .bind(error)
    .bind(email_message_id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("message"))
}

/// Records the Message-ID a customer's mail came with (the inbox of issue G2; tests).
pub async fn set_email_message_id(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    id: Uuid,
    email_message_id: &str,
) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE messages SET email_message_id = $4 WHERE user_id = $1 AND ticket_id = $2 AND id = $3",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .bind(email_message_id)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("message"));
    }
    Ok(())
}

/// The Message-IDs of a ticket's messages written before `before`, oldest first, with who wrote
/// each: what a reply's `References` and `In-Reply-To` are made of.
pub async fn thread_message_ids(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    before: Uuid,
) -> Result<Vec<(Sender, String)>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as::<_, (Sender, String)>(
        // language=PostgreSQL
        "SELECT m.sender_type, m.email_message_id FROM messages m \
         WHERE m.user_id = $1 AND m.ticket_id = $2 AND m.email_message_id IS NOT NULL \
           AND (m.created_at, m.id) < (SELECT b.created_at, b.id FROM messages b \
                                        WHERE b.user_id = $1 AND b.id = $3) \
         ORDER BY m.created_at, m.id",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(before)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// Keeps the names, types and sizes of a customer mail's attachments on its message.
pub async fn set_attachments(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    id: Uuid,
    attachments: &serde_json::Value,
) -> Result<(), StoreError> {
    if !attachments.is_array() {
        return Err(StoreError::invalid("attachments", "must be a JSON array"));
    }
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE messages SET attachments = $4 WHERE user_id = $1 AND ticket_id = $2 AND id = $3",
    )
    .bind(user_id)
    .bind(ticket_id)
    .bind(id)
    .bind(attachments)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("message"));
    }
    Ok(())
}

/// The ticket of the newest message sent or received with one of these Message-IDs: what a
/// mail's `In-Reply-To` and `References` answer.
pub async fn ticket_of_email_message_ids(
    tx: &mut TenantTx,
    ids: &[String],
) -> Result<Option<Uuid>, StoreError> {
    if ids.is_empty() {
        return Ok(None);
    }
    let user_id = tx.user_id();
    let t = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT ticket_id FROM messages WHERE user_id = $1 AND email_message_id = ANY($2) \
         ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(ids)
    .fetch_optional(tx.conn())
    .await?;
    Ok(t)
}

/// Whether `id` is the Message-ID of a mail this desk sent (an agent's reply or a draft): a
/// mail carrying it is our own come back.
pub async fn is_outgoing_email_message_id(tx: &mut TenantTx, id: &str) -> Result<bool, StoreError> {
    let user_id = tx.user_id();
    let ours: bool = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT EXISTS (SELECT 1 FROM messages WHERE user_id = $1 AND email_message_id = $2 \
                          AND sender_type IN ('agent', 'ai'))",
    )
    .bind(user_id)
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    Ok(ours)
}
