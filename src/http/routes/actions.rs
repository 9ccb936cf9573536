//! `/api/v1/actions`: the Stripe actions the agent and MCP clients proposed, and a person's
//! approval or rejection. Approval carries the action out at once, exactly once (see
//! [`crate::actions`]).

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::common::{Items, by};
use crate::accounts::Principal;
use crate::actions::{self, Action, ActionFilter, ActionStatus};
use crate::http::AppState;
use crate::http::json::OptionalJson;
use crate::http::path::IdPath;
use crate::http::problem::Problem;
use crate::http::query::ApiQuery;

/// Filters (combined with AND) and paging.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only actions in this status, e.g. `pending`.
    pub status: Option<ActionStatus>,
    /// Only the actions of this ticket.
    pub ticket_id: Option<Uuid>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A rejection, with the reason if the person gives one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why (at most 2,000 characters); kept on the action.
    pub reason: Option<String>,
}

/// An empty body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

pub async fn list(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(Problem::invalid("limit", "use 1 to 100"));
    }
    let filter = ActionFilter {
        status: q.status,
        ticket_id: q.ticket_id,
    };
    let page = actions::list(
        &app.ctx,
        &principal.tenant,
        &filter,
        limit,
        q.cursor.as_deref(),
    )
    .await?;
    Ok(axum::Json(Items {
        items: page.items,
        next_cursor: page.next_cursor,
    })
    .into_response())
}

/// Approves and carries out a pending action: 200 with how it ended (`succeeded` or `failed`),
/// or 202 while Stripe has not answered (it is finished with the same idempotency key).
pub async fn approve(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    IdPath(id): IdPath,
    _body: OptionalJson<Empty>,
) -> Result<Response, Problem> {
    let action = actions::approve(&app.ctx, &principal.tenant, id, &by(&principal)).await?;
    Ok(answer(action))
}

pub async fn reject(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    IdPath(id): IdPath,
    body: OptionalJson<RejectBody>,
) -> Result<Response, Problem> {
    let reason = body.0.and_then(|b| b.reason);
    let action = actions::reject(
        &app.ctx,
        &principal.tenant,
        id,
        &by(&principal),
        reason.as_deref(),
    )
    .await?;
    Ok(answer(action))
}

fn answer(action: Action) -> Response {
    let status = match action.status {
        ActionStatus::Executing => StatusCode::ACCEPTED,
        _ => StatusCode::OK,
    };
    (status, axum::Json(action)).into_response()
}
