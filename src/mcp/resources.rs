//! Resources: `ticket://{id}` (a ticket's thread as Markdown) and `customer://{id}` (a customer
//! and their recent tickets), read for the request's tenant through the tool layer's functions.

use std::fmt::Write;

use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use uuid::Uuid;

use crate::tools::{
    self, Caller, Ctx, GetTicketArgs, GetTicketOutput, ListTicketsArgs, LookupCustomerArgs,
    ToolError,
};

const MARKDOWN: &str = "text/markdown";

/// The two resource templates.
pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("ticket://{id}", "ticket")
            .with_title("Ticket thread")
            .with_description("A ticket, its customer and its messages as Markdown")
            .with_mime_type(MARKDOWN),
        ResourceTemplate::new("customer://{id}", "customer")
            .with_title("Customer")
            .with_description("A customer's details and their 20 most recent tickets as Markdown")
            .with_mime_type(MARKDOWN),
    ]
}

/// The tenant's 20 newest tickets, as concrete resources.
pub async fn recent_tickets(ctx: &Ctx, caller: &Caller) -> Result<Vec<Resource>, McpError> {
    let page = tools::list_tickets(ctx, caller, ListTicketsArgs::default())
        .await
        .map_err(|e| to_mcp(e, "tickets"))?;
    Ok(page
        .tickets
        .into_iter()
        .map(|t| {
            Resource::new(format!("ticket://{}", t.id), format!("ticket {}", t.id))
                .with_title(t.subject)
                .with_mime_type(MARKDOWN)
        })
        .collect())
}

/// Reads `ticket://{id}` or `customer://{id}`.
pub async fn read(ctx: &Ctx, caller: &Caller, uri: &str) -> Result<ReadResourceResult, McpError> {
    let (kind, id) = uri.split_once("://").ok_or_else(|| {
        McpError::invalid_params("expected ticket://{id} or customer://{id}", None)
    })?;
    let id = Uuid::parse_str(id).map_err(|_| {
        McpError::invalid_params(format!("the id in {kind}:// is not a UUID"), None)
    })?;
    let text = match kind {
        "ticket" => {
            let thread = tools::get_ticket(ctx, caller, GetTicketArgs::new(id))
                .await
                .map_err(|e| to_mcp(e, uri))?;
            ticket_markdown(&thread)
        }
        "customer" => customer_markdown(ctx, caller, id)
            .await
            .map_err(|e| to_mcp(e, uri))?,
        _ => {
            return Err(McpError::invalid_params(
                "expected ticket://{id} or customer://{id}",
                None,
            ));
        }
    };
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(MARKDOWN),
    ]))
}

fn to_mcp(e: ToolError, what: &str) -> McpError {
    match e {
        ToolError::NotFound(_) => McpError::resource_not_found(format!("{what} not found"), None),
        ToolError::Infrastructure(e) => {
            tracing::error!(error = %e, "reading a resource failed");
            McpError::internal_error("internal error", None)
        }
        other => McpError::invalid_params(other.to_string(), None),
    }
}

/// Customer text is quoted line by line, so that it reads as a quotation rather than as part
/// of the document's own structure.
fn quote(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "> {line}");
    }
    out.push('\n');
}

/// A ticket thread as Markdown.
pub fn ticket_markdown(t: &GetTicketOutput) -> String {
    let s = &t.ticket.summary;
    let mut out = format!("# {}\n\n", s.subject.replace('\n', " "));
    let _ = writeln!(
        out,
        "- id: {}\n- status: {}\n- priority: {}",
        s.id, s.status, s.priority
    );
    let _ = writeln!(
        out,
        "- customer: {} <{}> (customer://{})\n- opened: {}\n",
        t.customer.name, t.customer.email, t.customer.id, s.created_at
    );
    out.push_str("## Description\n\n");
    quote(&mut out, &t.ticket.description);
    out.push_str("## Messages\n\n");
    for m in &t.messages {
        let state = m
            .draft_state
            .map(|d| format!(" ({d:?} draft)").to_lowercase());
        let sender = serde_json::to_value(m.sender_type).ok();
        let sender = sender.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        let _ = writeln!(
            out,
            "### {sender}{} — {}\n",
            state.unwrap_or_default(),
            m.created_at
        );
        quote(&mut out, &m.content);
    }
    out
}

async fn customer_markdown(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<String, ToolError> {
    let args = LookupCustomerArgs {
        customer_id: Some(id),
        ..Default::default()
    };
    let found = tools::lookup_customer(ctx, caller, args).await?;
    let c = found
        .customers
        .into_iter()
        .next()
        .ok_or(ToolError::NotFound("customer"))?;
    let tickets = ListTicketsArgs {
        customer_id: Some(id),
        ..Default::default()
    };
    let page = tools::list_tickets(ctx, caller, tickets).await?;
    let mut out = format!(
        "# {}\n\n- id: {}\n- email: {}\n",
        c.name.replace('\n', " "),
        c.id,
        c.email
    );
    for (label, value) in [
        ("phone", &c.phone),
        ("stripe customer", &c.stripe_customer_id),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "- {label}: {v}");
        }
    }
    let _ = writeln!(
        out,
        "- open tickets: {}\n\n## Recent tickets\n",
        c.open_tickets.unwrap_or(0)
    );
    for t in page.tickets {
        let _ = writeln!(
            out,
            "- [{}] {} ({}, {}) ticket://{}",
            t.created_at.date_naive(),
            t.subject.replace('\n', " "),
            t.status,
            t.priority,
            t.id
        );
    }
    Ok(out)
}
