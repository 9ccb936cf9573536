//! The one place that reads and writes `tickets`.

use uuid::Uuid;

/// The columns of [`Ticket`], in order; never `*`, which would also fetch the embedding.
macro_rules! columns {
    () => {
        "user_id, id, number, customer_id, subject, description, status, priority, category, sentiment, \
         language, confidence, needs_human, triaged_at, created_at, updated_at"
    };
}

use super::{NewTicket, Page, Priority, Status, Ticket, TicketFilter, TicketThread};
use crate::db::{Cursor, constraint_violation};
use crate::validate::{self, MAX_BODY, MAX_SUBJECT};
use crate::{StoreError, TenantTx, customers, jobs, messages};

pub async fn create(tx: &mut TenantTx, new: &NewTicket<'_>) -> Result<Ticket, StoreError> {
    let subject = validate::text("subject", new.subject, MAX_SUBJECT)?;
    let description = validate::bounded(
        "description",
        new.description.unwrap_or("").trim(),
        MAX_BODY,
    )?;
    let user_id = tx.user_id();
    let ticket = sqlx::query_as::<_, Ticket>(
        // language=PostgreSQL
        concat!(
            "INSERT INTO tickets (user_id, id, customer_id, subject, description, priority) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            columns!()
        ),
    )
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(new.customer_id)
    .bind(subject)
    .bind(description)
    .bind(new.priority.unwrap_or(Priority::Medium))
    .fetch_one(tx.conn())
    .await
    .map_err(|e| {
        // The composite key (user_id, customer_id) makes another tenant's customer look absent.
        constraint_violation(
            e,
            &[("tickets_user_id_customer_id_fkey", || {
                StoreError::NotFound("customer")
            })],
        )
    })?;
    // Triage is queued in the same transaction (Q3): no ticket without its job, nor the reverse.
    jobs::store::enqueue_triage(tx, ticket.id, None).await?;
    Ok(ticket)
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Ticket, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, Ticket>(
        // language=PostgreSQL
        concat!(
            "SELECT ",
            columns!(),
            " FROM tickets WHERE user_id = $1 AND id = $2"
        ),
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("ticket"))
}

/// The tenant's ticket with this number (`[#number]` in a mail's subject), if any.
pub async fn find_by_number(tx: &mut TenantTx, number: i64) -> Result<Option<Ticket>, StoreError> {
    let user_id = tx.user_id();
    let t = sqlx::query_as::<_, Ticket>(
        // language=PostgreSQL
        concat!(
            "SELECT ",
            columns!(),
            " FROM tickets WHERE user_id = $1 AND number = $2"
        ),
    )
    .bind(user_id)
    .bind(number)
    .fetch_optional(tx.conn())
    .await?;
    Ok(t)
}

/// The ticket, its customer and its messages.
pub async fn get_thread(tx: &mut TenantTx, id: Uuid) -> Result<TicketThread, StoreError> {
    let ticket = get(tx, id).await?;
    let customer = customers::store::get(tx, ticket.customer_id).await?;
    let messages = messages::store::list_by_ticket(tx, id).await?;
    Ok(TicketThread {
        ticket,
        customer,
        messages,
    })
}

/// The ticket, its customer and its latest `limit` messages before `before` (oldest first), with
/// the cursor of older messages when there are more.
pub async fn get_thread_page(
    tx: &mut TenantTx,
    id: Uuid,
    limit: i64,
    before: Option<Cursor>,
) -> Result<(TicketThread, Option<Cursor>), StoreError> {
    let ticket = get(tx, id).await?;
    let customer = customers::store::get(tx, ticket.customer_id).await?;
    let (messages, older) = messages::store::list_latest(tx, id, limit, before).await?;
    let thread = TicketThread {
        ticket,
        customer,
        messages,
    };
    Ok((thread, older))
}

/// Newest first, filtered, one page at a time. The cursor is the position of the last row
/// returned, so rows inserted while a client pages never shift what it has yet to see.
pub async fn list(
    tx: &mut TenantTx,
    filter: &TicketFilter,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<Ticket>, StoreError> {
    let after = cursor
        .map(Cursor::decode)
        .transpose()
        .map_err(|e| StoreError::invalid("cursor", e.to_string()))?;
    let limit = limit.clamp(1, 100);
    // Only the filters that are set, each a condition of its own, rather than one statement with
    // `($2::text IS NULL OR status = $2) AND …` for all of them: PostgreSQL planned that one anew
    // on every call (its best index depends on which filters are set, so its generic plan never
    // won), 9 % of the machine under `list_tickets` load (BENCHMARKS-mcp.md, 2026-12-08). Each
    // combination is a prepared statement of its own that settles on a generic plan. Only fixed
    // fragments are pushed; every value is bound.
    let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(concat!(
        "SELECT ",
        columns!(),
        " FROM tickets WHERE user_id = "
    ));
    query.push_bind(tx.user_id());
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(priority) = filter.priority {
        query.push(" AND priority = ").push_bind(priority.as_str());
    }
    if let Some(customer_id) = filter.customer_id {
        query.push(" AND customer_id = ").push_bind(customer_id);
    }
    if let Some(after) = &after {
        query
            .push(" AND (created_at, id) < (")
            .push_bind(after.created_at)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    if let Some(needs_human) = filter.needs_human {
        query.push(" AND needs_human = ").push_bind(needs_human);
    }
    if let Some(category) = filter.category.as_deref() {
        query.push(" AND category = ").push_bind(category);
    }
    query
        .push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(limit + 1);
    let mut rows = query
        .build_query_as::<Ticket>()
        .fetch_all(tx.conn())
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|t| {
            Cursor {
                created_at: t.created_at,
                id: t.id,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(Page {
        items: rows,
        next_cursor,
    })
}

/// Sets status and/or priority; setting a value a ticket already has changes nothing else.
pub async fn update(
    tx: &mut TenantTx,
    id: Uuid,
    status: Option<Status>,
    priority: Option<Priority>,
) -> Result<Ticket, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, Ticket>(
        // language=PostgreSQL
        concat!(
            "UPDATE tickets SET status = COALESCE($3, status), priority = COALESCE($4, priority) \
         WHERE user_id = $1 AND id = $2 RETURNING ",
            columns!()
        ),
    )
    .bind(user_id)
    .bind(id)
    .bind(status)
    .bind(priority)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("ticket"))
}

/// Deletes a ticket with its messages and jobs.
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "DELETE FROM tickets WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("ticket"));
    }
    Ok(())
}

/// Sets status and/or priority only if the ticket is as the caller last saw it (`seen`, its
/// `updated_at`): someone else's change in between is a conflict (`412` over HTTP).
pub async fn update_if_unchanged(
    tx: &mut TenantTx,
    id: Uuid,
    seen: Option<chrono::DateTime<chrono::Utc>>,
    status: Option<Status>,
    priority: Option<Priority>,
) -> Result<Ticket, StoreError> {
    let current = get(tx, id).await?;
    if let Some(seen) = seen
        && seen.timestamp_micros() != current.updated_at.timestamp_micros()
    {
        return Err(StoreError::Conflict(
            "the ticket changed since it was read: read it again and retry".into(),
        ));
    }
    update(tx, id, status, priority).await
}

/// All tickets of a customer, oldest first (a data-access export).
pub async fn of_customer(tx: &mut TenantTx, customer_id: Uuid) -> Result<Vec<Ticket>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_as::<_, Ticket>(
        // language=PostgreSQL
        concat!(
            "SELECT ",
            columns!(),
            " FROM tickets WHERE user_id = $1 AND customer_id = $2 ORDER BY created_at, id"
        ),
    )
    .bind(user_id)
    .bind(customer_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// Triage's decision about a ticket.
#[derive(Debug, Clone)]
pub struct TriageFields<'a> {
    pub category: &'a str,
    pub priority: Priority,
    pub sentiment: &'a str,
    pub language: Option<&'a str>,
    pub confidence: f32,
    pub needs_human: bool,
}

/// Records triage's decision. A person's category stands, and the priority is raised, never
/// lowered, so that a person's choice is never undone by a model.
pub async fn set_triage(
    tx: &mut TenantTx,
    id: Uuid,
    fields: &TriageFields<'_>,
) -> Result<Ticket, StoreError> {
    let user_id = tx.user_id();
    sqlx::query_as::<_, Ticket>(
        // language=PostgreSQL
        concat!("UPDATE tickets SET sentiment = $4, language = $5, confidence = $6, \
                category = CASE WHEN category_source = 'human' THEN category ELSE $3 END, \
                category_source = CASE WHEN category_source = 'human' THEN 'human' ELSE 'model' END, \
                needs_human = $7, triaged_at = now(), \
                priority = CASE WHEN array_position(ARRAY['low','medium','high','urgent'], $8) \
                                   > array_position(ARRAY['low','medium','high','urgent'], priority) \
                                THEN $8 ELSE priority END \
         WHERE user_id = $1 AND id = $2 RETURNING ", columns!()),
    )
    .bind(user_id)
    .bind(id)
    .bind(fields.category)
    .bind(fields.sentiment)
    .bind(fields.language)
    .bind(fields.confidence)
    .bind(fields.needs_human)
    .bind(fields.priority.as_str())
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("ticket"))
}

/// The categories this tenant's tickets already carry, most used first.
pub async fn categories(tx: &mut TenantTx, limit: i64) -> Result<Vec<String>, StoreError> {
    let user_id = tx.user_id();
    let rows = sqlx::query_scalar(
        // language=PostgreSQL
        "SELECT category FROM tickets WHERE user_id = $1 AND category IS NOT NULL \
         GROUP BY category ORDER BY count(*) DESC, category LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows)
}

/// Flags a ticket for a person (`needs_human`): a reply that could not be delivered, or whose
/// delivery is uncertain.
pub async fn flag_for_human(tx: &mut TenantTx, id: Uuid) -> Result<(), StoreError> {
    let user_id = tx.user_id();
    let r = sqlx::query(
        // language=PostgreSQL
        "UPDATE tickets SET needs_human = true WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("ticket"));
    }
    Ok(())
}
