//! `/api/v1/stats` and `/api/v1/outcomes`: the tenant's own figures.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Tenant;
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::http::query::ApiQuery;
use crate::stats::{outcomes, tenant};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// The window in days, 1 to 3650 (default 30).
    pub days: Option<u32>,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(t): Extension<Tenant>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Response, Problem> {
    let mut tx = app.ctx.db().begin(&t).await?;
    let stats = tenant::compute(&mut tx, q.days.unwrap_or(30)).await?;
    tx.commit().await?;
    Ok(axum::Json(stats).into_response())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomesQuery {
    /// The period in days, 1 to 3650 (default 30): drafts written since then.
    pub days: Option<u32>,
}

/// What became of the agent's drafts: the same figures as the inbox's Outcomes page.
pub async fn outcomes(
    State(app): State<AppState>,
    Extension(t): Extension<Tenant>,
    ApiQuery(q): ApiQuery<OutcomesQuery>,
) -> Result<Response, Problem> {
    let mut tx = app.ctx.db().begin(&t).await?;
    let figures = outcomes::compute(&mut tx, q.days.unwrap_or(30)).await?;
    tx.commit().await?;
    Ok(axum::Json(figures).into_response())
}
