//! Who a request is: `Authorization: Bearer <access token | sa_ API key>`, checked against the
//! database on every request ([`crate::accounts::Accounts::authenticate`]), then the tenant's
//! request budget. Cookies never authenticate these routes.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::problem::Problem;
use crate::accounts::{Principal, Refusal};
use crate::channels::signature::{self, SignatureError};

/// The bearer credential of a request, if it has one in the right form.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| "the token is malformed")?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err("expected a Bearer token"),
    }
}

/// Authenticates the request and puts its [`Principal`] (and tenant) into its extensions; `401`
/// problem documents otherwise, `429` past the tenant's requests per minute.
pub async fn authenticate(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = match bearer(req.headers()) {
        Ok(Some(t)) => t.to_owned(),
        Ok(None) => return Problem::unauthorized("a Bearer token is required").into_response(),
        Err(why) => return Problem::unauthorized(why).into_response(),
    };
    let principal = match app.accounts.authenticate(&token).await {
        Ok(p) => p,
        Err(Refusal::Auth(e)) => {
            tracing::info!(reason = %e, "refused a bearer credential");
            return Problem::unauthorized(e.to_string()).into_response();
        }
        Err(Refusal::Store(e)) => return Problem::from(e).into_response(),
    };
    if let Err(refused) = app.ctx.limits().requests.check(principal.tenant.id()) {
        return Problem::too_many(&refused).into_response();
    }
    req.extensions_mut().insert(principal);
    req.extensions_mut().insert(principal.tenant);
    next.run(req).await
}

/// Refuses `intake` API keys, which may only create tickets and messages.
pub async fn require_full_scope(req: Request, next: Next) -> Response {
    let full = req
        .extensions()
        .get::<Principal>()
        .is_some_and(Principal::has_full_scope);
    if !full {
        return Problem::forbidden(
            "this API key has the intake scope: it may only create tickets and messages",
        )
        .into_response();
    }
    next.run(req).await
}

/// The intake routes: a request signed with `X-Support-Signature` (checked over the exact body,
/// which is then handed on unchanged), or else any bearer credential, as [`authenticate`].
pub async fn authenticate_intake(
    State(app): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let Some(header) = req.headers().get(signature::HEADER) else {
        return authenticate(State(app), req, next).await;
    };
    let Ok(header) = header.to_str().map(str::to_owned) else {
        return Problem::unauthorized(SignatureError::Malformed.to_string()).into_response();
    };
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, app.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return super::json::too_large().into_response(),
    };
    let vault = match app.ctx.channels().vault() {
        Ok(v) => v,
        Err(e) => return Problem::unavailable(e.to_string()).into_response(),
    };
    let now = chrono::Utc::now().timestamp();
    let tenant = match signature::verify(app.ctx.db(), vault, &header, &bytes, now).await {
        Ok(t) => t,
        Err(SignatureError::Store(e)) => return Problem::from(e).into_response(),
        Err(SignatureError::Vault(e)) => {
            tracing::error!(error = %e, "an intake signing secret does not open");
            return Problem::internal().into_response();
        }
        Err(e) => {
            tracing::info!(reason = %e, "refused an intake signature");
            return Problem::unauthorized(e.to_string()).into_response();
        }
    };
    if let Err(refused) = app.ctx.limits().requests.check(tenant.id()) {
        return Problem::too_many(&refused).into_response();
    }
    parts.extensions.insert(tenant);
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}
