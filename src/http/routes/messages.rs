//! `/api/v1/tickets/{id}/messages` and `/api/v1/tickets/{id}/drafts/{message_id}`.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{Items, by};
use crate::accounts::Principal;
use crate::db::Cursor;
use crate::desk::{self, Author};
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::path::{IdPath, IdsPath};
use crate::http::problem::Problem;
use crate::http::query::ApiQuery;
use crate::messages::{self, Decision};
use crate::tickets;
use crate::tools::MessageView;
use crate::{Tenant, http};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// For older messages: the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50): the latest messages, oldest first.
    pub limit: Option<i64>,
}

/// A message a person adds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessageBody {
    /// `agent` (a reply to the customer), `customer` (their words, entered for them) or `note`
    /// (internal: never delivered, never triaged).
    pub sender_type: Author,
    pub content: String,
    /// Send an agent's reply to the customer by email now (default false).
    #[serde(default)]
    pub send: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftEdit {
    pub content: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// A last edit, applied before approving.
    pub content: Option<String>,
}

/// An empty body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

pub async fn list(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(ticket): IdPath,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Problem::invalid("limit", "use 1 to 100"));
    }
    let before = q
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()
        .map_err(|e| Problem::invalid("cursor", e.to_string()))?;
    let mut tx = app.ctx.db().begin(&tenant).await?;
    tickets::store::get(&mut tx, ticket).await?;
    let (rows, older) = messages::store::list_latest(&mut tx, ticket, limit, before).await?;
    tx.commit().await?;
    let page = Items {
        items: rows.into_iter().map(MessageView::from).collect(),
        next_cursor: older.map(|c| c.encode()),
    };
    Ok(axum::Json(page).into_response())
}

pub async fn create(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(ticket): IdPath,
    ApiJson(body): ApiJson<NewMessageBody>,
) -> Result<Response, Problem> {
    let m = desk::add_message(
        app.ctx.db(),
        &tenant,
        ticket,
        body.sender_type,
        &body.content,
        body.send,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(MessageView::from(m))).into_response())
}

/// Edits a draft; the model's own text is kept as `original_content`.
pub async fn edit_draft(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    IdsPath(ticket, message): IdsPath,
    ApiJson(body): ApiJson<DraftEdit>,
) -> Result<Response, Problem> {
    let m = desk::edit_draft(
        app.ctx.db(),
        &principal.tenant,
        ticket,
        message,
        &body.content,
        &by(&principal),
    )
    .await?;
    Ok(axum::Json(MessageView::from(m)).into_response())
}

pub async fn approve(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    IdsPath(ticket, message): IdsPath,
    body: http::json::OptionalJson<ApproveBody>,
) -> Result<Response, Problem> {
    let content = body.0.and_then(|b| b.content);
    decide(app, principal, ticket, message, Decision::Approve, content).await
}

pub async fn discard(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    IdsPath(ticket, message): IdsPath,
    _body: http::json::OptionalJson<Empty>,
) -> Result<Response, Problem> {
    decide(app, principal, ticket, message, Decision::Discard, None).await
}

async fn decide(
    app: AppState,
    principal: Principal,
    ticket: uuid::Uuid,
    message: uuid::Uuid,
    decision: Decision,
    content: Option<String>,
) -> Result<Response, Problem> {
    let m = desk::decide_draft(
        app.ctx.db(),
        &principal.tenant,
        ticket,
        message,
        decision,
        content.as_deref(),
        &by(&principal),
    )
    .await?;
    Ok(axum::Json(MessageView::from(m)).into_response())
}

/// Sends a reply again after a failed, uncertain or no_channel delivery.
pub async fn resend(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdsPath(ticket, message): IdsPath,
) -> Result<Response, Problem> {
    let m = desk::resend(app.ctx.db(), &tenant, ticket, message).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(MessageView::from(m))).into_response())
}
