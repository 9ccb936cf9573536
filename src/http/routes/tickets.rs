//! `/api/v1/tickets`: the queue, one ticket with its thread, and triage again.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{Items, staff};
use crate::Tenant;
use crate::customers::CustomerRef;
use crate::desk;
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::path::IdPath;
use crate::http::problem::Problem;
use crate::http::query::ApiQuery;
use crate::tickets::{Priority, Status};
use crate::tools::{self, GetTicketArgs, ListTicketsArgs, TicketSummaryView, TicketView};

/// Filters (combined with AND) and paging.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub customer_id: Option<Uuid>,
    pub needs_human: Option<bool>,
    /// A triage category, e.g. `refund_request`.
    pub category: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A ticket: for a customer named by id or by email (exactly one of them).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketBody {
    pub customer_id: Option<Uuid>,
    pub customer_email: Option<String>,
    pub subject: String,
    pub description: Option<String>,
    pub priority: Option<Priority>,
}

/// Give `status`, `priority` or both.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowQuery {
    /// For older messages: the `messages_next_cursor` of a previous answer.
    pub messages_cursor: Option<String>,
}

/// A triage run queued.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Queued {
    /// Always `queued`: the worker drafts again.
    pub status: &'static str,
    pub ticket_id: Uuid,
}

/// `ETag` of a ticket as it is now: its last change.
fn etag(updated_at: DateTime<Utc>) -> String {
    format!("\"t{}\"", updated_at.timestamp_micros())
}

/// The moment an `If-Match` names, when it names one of ours.
fn if_match(headers: &HeaderMap) -> Result<Option<DateTime<Utc>>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = value.to_str().unwrap_or("").trim();
    let raw = raw.strip_prefix("W/").unwrap_or(raw);
    raw.trim_matches('"')
        .strip_prefix('t')
        .and_then(|m| m.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_micros)
        .map(Some)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition failed",
                "If-Match names no version of this ticket: read it again for its ETag",
            )
        })
}

pub async fn list(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let args = ListTicketsArgs {
        status: q.status,
        priority: q.priority,
        customer_id: q.customer_id,
        needs_human: q.needs_human,
        category: q.category,
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = tools::list_tickets(&app.ctx, &staff(tenant), args).await?;
    let items: Items<TicketSummaryView> = Items {
        items: page.tickets,
        next_cursor: page.next_cursor,
    };
    Ok(axum::Json(items).into_response())
}

pub async fn create(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiJson(body): ApiJson<NewTicketBody>,
) -> Result<Response, Problem> {
    let customer = match (body.customer_id, body.customer_email.as_deref()) {
        (Some(id), None) => CustomerRef::Id(id),
        (None, Some(email)) => CustomerRef::parse("customer_email", email)?,
        _ => {
            return Err(Problem::invalid(
                "customer_id, customer_email",
                "give exactly one of customer_id or customer_email",
            ));
        }
    };
    let (ticket, _) = desk::create_ticket(
        app.ctx.db(),
        &tenant,
        &customer,
        &body.subject,
        body.description.as_deref(),
        body.priority,
    )
    .await?;
    let tag = etag(ticket.updated_at);
    let mut response = (StatusCode::CREATED, axum::Json(TicketView::from(ticket))).into_response();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

/// The ticket, its customer and its latest messages, with its `ETag`.
pub async fn show(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<ShowQuery>,
) -> Result<Response, Problem> {
    let args = GetTicketArgs {
        ticket_id: id,
        messages_cursor: q.messages_cursor,
    };
    let thread = tools::get_ticket(&app.ctx, &staff(tenant), args).await?;
    let tag = etag(thread.ticket.summary.updated_at);
    let mut response = axum::Json(thread).into_response();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

/// Changes status and/or priority; with `If-Match`, only if nobody changed the ticket since.
pub async fn update(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TicketPatch>,
) -> Result<Response, Problem> {
    let seen = if_match(&headers)?;
    let ticket = desk::update_ticket(app.ctx.db(), &tenant, id, seen, body.status, body.priority)
        .await
        .map_err(|e| match e {
            crate::StoreError::Conflict(msg) => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition failed",
                msg,
            ),
            e => Problem::from(e),
        })?;
    let tag = etag(ticket.updated_at);
    let mut response = axum::Json(TicketView::from(ticket)).into_response();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

pub async fn delete(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
) -> Result<StatusCode, Problem> {
    desk::delete_ticket(app.ctx.db(), &tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs triage again: `202`; `409` when its draft has been approved, sent or discarded.
pub async fn retriage(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
) -> Result<Response, Problem> {
    desk::retriage(app.ctx.db(), &tenant, id).await?;
    let queued = Queued {
        status: "queued",
        ticket_id: id,
    };
    Ok((StatusCode::ACCEPTED, axum::Json(queued)).into_response())
}
