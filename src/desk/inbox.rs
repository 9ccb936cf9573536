//! What the inbox pages show beyond one tool's answer: the queue with each ticket's customer and
//! whether a draft waits, and the passages a draft cites. Read-only; every write of the pages
//! goes through the same [`crate::desk`] functions as the REST API.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::customers;
use crate::knowledge::SearchHit;
use crate::messages;
use crate::tools::{
    self, Caller, Ctx, CustomerView, ListTicketsArgs, TicketSummaryView, ToolError,
};

/// One line of the queue.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub ticket: TicketSummaryView,
    /// Absent only if the customer was deleted while the page was read.
    pub customer: Option<CustomerView>,
    /// An ai draft waits for a person.
    pub draft_waiting: bool,
}

/// One page of the queue, newest first, and the cursor of the next.
#[derive(Debug, Clone)]
pub struct Queue {
    pub rows: Vec<QueueRow>,
    pub next_cursor: Option<String>,
}

/// The page of tickets `args` selects (as `list_tickets`), with their customers and drafts.
pub async fn queue(ctx: &Ctx, caller: &Caller, args: ListTicketsArgs) -> Result<Queue, ToolError> {
    let page = tools::list_tickets(ctx, caller, args).await?;
    let ticket_ids: Vec<Uuid> = page.tickets.iter().map(|t| t.id).collect();
    let customer_ids: Vec<Uuid> = page
        .tickets
        .iter()
        .map(|t| t.customer_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut tx = ctx.begin(caller).await?;
    let customers: HashMap<Uuid, CustomerView> = customers::store::get_many(&mut tx, &customer_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, CustomerView::new(c, None)))
        .collect();
    let waiting: HashSet<Uuid> = messages::store::tickets_with_open_drafts(&mut tx, &ticket_ids)
        .await?
        .into_iter()
        .collect();
    tx.commit().await?;
    let rows = page
        .tickets
        .into_iter()
        .map(|ticket| QueueRow {
            customer: customers.get(&ticket.customer_id).cloned(),
            draft_waiting: waiting.contains(&ticket.id),
            ticket,
        })
        .collect();
    Ok(Queue {
        rows,
        next_cursor: page.next_cursor,
    })
}

/// The knowledge passages among a draft's citations (`{"kind": "chunk", "id": …}`), in the
/// order cited; a passage deleted since is left out.
pub async fn cited_passages(
    ctx: &Ctx,
    caller: &Caller,
    citations: Option<&serde_json::Value>,
) -> Result<Vec<SearchHit>, ToolError> {
    let ids = cited(citations, "chunk")
        .iter()
        .filter_map(|id| Uuid::parse_str(id).ok())
        .collect::<Vec<_>>();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = ctx.begin(caller).await?;
    let mut hits = crate::knowledge::store::passages(&mut tx, &ids).await?;
    tx.commit().await?;
    hits.sort_by_key(|h| ids.iter().position(|id| *id == h.chunk_id));
    Ok(hits)
}

/// The ids of one kind (`chunk`, `charge`) among a draft's citations.
pub fn cited(citations: Option<&serde_json::Value>, kind: &str) -> Vec<String> {
    citations
        .and_then(|c| c.as_array())
        .map(|items| {
            items
                .iter()
                .filter(|c| c.get("kind").and_then(|k| k.as_str()) == Some(kind))
                .filter_map(|c| c.get("id").and_then(|i| i.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The triage categories the tenant's tickets have, for the queue's filter.
pub async fn categories(ctx: &Ctx, caller: &Caller) -> Result<Vec<String>, ToolError> {
    let mut tx = ctx.begin(caller).await?;
    let c = crate::tickets::store::categories(&mut tx, 100).await?;
    tx.commit().await?;
    Ok(c)
}
