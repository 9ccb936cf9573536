//! `/api/v1/auth/*`: register, login, refresh, logout.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::accounts::Principal;
use crate::config::Secret;
use crate::http::AppState;
use crate::http::edge::client_ip;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    name: String,
    email: String,
    password: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refresh {
    refresh_token: Secret,
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// Counts the attempt against the per-IP and per-email throttles.
fn throttle(
    app: &AppState,
    peer: Option<&ConnectInfo<SocketAddr>>,
    headers: &HeaderMap,
    email: &str,
) -> Result<(), Problem> {
    let ip = client_ip(&app.edge, peer, headers);
    app.accounts
        .throttle(ip, email)
        .map_err(|r| Problem::too_many(&r))
}

pub async fn register(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Register>,
) -> Result<Response, Problem> {
    throttle(&app, peer.as_ref().map(|p| &p.0), &headers, &body.email)?;
    let tokens = app
        .accounts
        .register(
            &body.name,
            &body.email,
            &body.password,
            user_agent(&headers),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(tokens)).into_response())
}

pub async fn login(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Login>,
) -> Result<Response, Problem> {
    throttle(&app, peer.as_ref().map(|p| &p.0), &headers, &body.email)?;
    let tokens = app
        .accounts
        .login(&body.email, &body.password, user_agent(&headers))
        .await?;
    Ok(axum::Json(tokens).into_response())
}

pub async fn refresh(
    State(app): State<AppState>,
    ApiJson(body): ApiJson<Refresh>,
) -> Result<Response, Problem> {
    let tokens = app.accounts.refresh(body.refresh_token.expose()).await?;
    Ok(axum::Json(tokens).into_response())
}

pub async fn logout(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<StatusCode, Problem> {
    app.accounts.logout(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}
