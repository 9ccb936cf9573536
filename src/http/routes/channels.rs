//! `/api/v1/channels/email` and `/api/v1/channels/webhook/secret`: the tenant's email channel
//! and the intake webhook's signing secrets. Passwords and secrets are sealed and never shown
//! again (a new secret once, at creation).

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Tenant;
use crate::channels::email::{self, ChannelError, NewChannel};
use crate::channels::settings::SetupError;
use crate::channels::signature::{self, SignatureError};
use crate::config::Secret;
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;

/// The email channel.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChannelBody {
    /// The address replies come from, e.g. `support@acme.test`.
    pub address: String,
    /// `smtps://host:port` (TLS) or `smtp://host:port` (STARTTLS).
    pub smtp_url: String,
    /// `imaps://host:port` or `imap://host:port`, for the inbox.
    pub imap_url: Option<String>,
    pub username: String,
    /// Stored sealed; never shown again.
    pub password: Secret,
}

impl From<ChannelError> for Problem {
    fn from(e: ChannelError) -> Self {
        match e {
            ChannelError::Invalid { field, reason } => Self::invalid(field, reason),
            ChannelError::NotConfigured => Self::not_found("email channel"),
            ChannelError::Setup(e @ SetupError::NoVault) => Self::unavailable(e.to_string()),
            ChannelError::Store(e) => Self::from(e),
            e => {
                tracing::error!(error = %e, "an email channel operation failed");
                Self::internal()
            }
        }
    }
}

pub async fn put_email(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiJson(body): ApiJson<EmailChannelBody>,
) -> Result<Response, Problem> {
    let new = NewChannel {
        address: body.address,
        smtp_url: body.smtp_url,
        imap_url: body.imap_url,
        username: body.username,
        password: body.password,
    };
    let view = email::set(app.ctx.db(), app.ctx.channels(), &tenant, &new).await?;
    Ok(axum::Json(view).into_response())
}

pub async fn get_email(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
) -> Result<Response, Problem> {
    match email::status(app.ctx.db(), &tenant).await? {
        Some(view) => Ok(axum::Json(view).into_response()),
        None => Err(Problem::not_found("email channel")),
    }
}

pub async fn delete_email(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
) -> Result<Response, Problem> {
    if email::remove(app.ctx.db(), &tenant).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Problem::not_found("email channel"))
    }
}

pub async fn create_secret(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
) -> Result<Response, Problem> {
    let vault = app
        .ctx
        .channels()
        .vault()
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    let new = signature::create_secret(app.ctx.db(), vault, &tenant)
        .await
        .map_err(|e| match e {
            SignatureError::Store(e) => Problem::from(e),
            e => {
                tracing::error!(error = %e, "creating an intake secret failed");
                Problem::internal()
            }
        })?;
    Ok((StatusCode::CREATED, axum::Json(new)).into_response())
}
