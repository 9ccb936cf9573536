//! `/api/v1/api-keys`: keys for a tenant's own back end and for MCP clients.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::Tenant;
use crate::accounts::KeyScope;
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::path::IdPath;
use crate::http::problem::Problem;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
    scope: KeyScope,
}

/// `201` with the key, shown this once.
pub async fn create(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiJson(body): ApiJson<NewKey>,
) -> Result<Response, Problem> {
    let key = app
        .accounts
        .create_api_key(&tenant, &body.name, body.scope)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(key)).into_response())
}

/// Every key, without the keys themselves.
pub async fn list(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
) -> Result<Response, Problem> {
    let keys = app.accounts.list_api_keys(&tenant).await?;
    Ok(axum::Json(json!({"items": keys, "next_cursor": null})).into_response())
}

/// Deletes a key: refused from the next request on.
pub async fn delete(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
) -> Result<StatusCode, Problem> {
    app.accounts.delete_api_key(&tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
