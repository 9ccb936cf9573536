//! `/api/v1/stats`: the tenant's own figures.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Tenant;
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::http::query::ApiQuery;
use crate::stats::tenant;

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
