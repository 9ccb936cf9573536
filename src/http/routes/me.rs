//! `/api/v1/me`: the account itself.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::Tenant;
use crate::accounts::Principal;
use crate::config::Secret;
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    current: Secret,
    new: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delete {
    password: Secret,
}

pub async fn show(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
) -> Result<Response, Problem> {
    Ok(axum::Json(app.accounts.me(&tenant).await?).into_response())
}

pub async fn rename(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiJson(body): ApiJson<Rename>,
) -> Result<Response, Problem> {
    Ok(axum::Json(app.accounts.rename(&tenant, &body.name).await?).into_response())
}

/// Changes the password and ends the account's other sessions.
pub async fn change_password(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, Problem> {
    app.accounts
        .change_password(&principal, &body.current, &body.new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the account and everything it owns.
pub async fn delete(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiJson(body): ApiJson<Delete>,
) -> Result<StatusCode, Problem> {
    app.accounts.delete(&tenant, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
