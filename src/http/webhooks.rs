//! `POST /webhooks/stripe/{endpoint_id}` (a tenant's own endpoint) and `POST /webhooks/stripe`
//! (the platform's Connect endpoint): Stripe's events, verified, stored and queued by
//! [`crate::stripe::webhooks`]; `200 {"received": true, …}` as soon as the event is stored, `400`
//! for a signature or a body that does not hold (Stripe retries neither forever).
//!
//! No bearer token: the signature is the credential. Logged without the body or the header.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::AppState;
use super::json::body_rejection;
use super::problem::Problem;
use crate::stripe::webhooks::{self, SignatureError, WebhookError};

/// The two routes, to be merged at the root.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhooks/stripe", post(connect))
        .route("/webhooks/stripe/{endpoint_id}", post(endpoint))
        .with_state(state)
}

fn signature_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(webhooks::signature::HEADER)
        .and_then(|v| v.to_str().ok())
}

async fn endpoint(
    State(app): State<AppState>,
    Path(endpoint_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = body.map_err(body_rejection)?;
    let stripe = app
        .ctx
        .stripe()
        .map_err(|_| problem(WebhookError::NotConfigured))?;
    let now = chrono::Utc::now().timestamp();
    let receipt = webhooks::receive_for_endpoint(
        app.ctx.db(),
        stripe,
        &endpoint_id,
        signature_header(&headers),
        &body,
        now,
    )
    .await
    .map_err(problem)?;
    Ok(axum::Json(receipt).into_response())
}

async fn connect(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = body.map_err(body_rejection)?;
    let stripe = app
        .ctx
        .stripe()
        .map_err(|_| problem(WebhookError::NotConfigured))?;
    let now = chrono::Utc::now().timestamp();
    let receipt =
        webhooks::receive_connect(app.ctx.db(), stripe, signature_header(&headers), &body, now)
            .await
            .map_err(problem)?;
    Ok(axum::Json(receipt).into_response())
}

fn problem(e: WebhookError) -> Problem {
    match e {
        WebhookError::Signature(SignatureError::Mismatch) => {
            tracing::warn!("a Stripe webhook's signature does not match");
            Problem::bad_request(e.to_string())
        }
        WebhookError::Signature(_) | WebhookError::Malformed(_) => {
            Problem::bad_request(e.to_string())
        }
        WebhookError::NoConnectSecrets | WebhookError::NotConfigured => {
            tracing::error!(error = %e, "a Stripe webhook arrived that this server cannot check");
            Problem::unavailable(e.to_string())
        }
        WebhookError::Vault(v) => {
            tracing::error!(error = %v, "a webhook secret cannot be opened");
            Problem::internal()
        }
        WebhookError::Store(s) => Problem::from(s),
    }
}
