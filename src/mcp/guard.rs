//! What stands in front of `/mcp` (SECURITY.md M1): the request's bearer credential — an access
//! token or an `sa_` API key — checked on every request, answered in OAuth's terms: 401 pointing
//! at the RFC 9728 metadata, 403 `insufficient_scope` for an intake key, and 429 past the
//! tenant's requests per minute. The `Host` and `Origin` rules are the HTTP server's edge.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::accounts::{Accounts, Refusal};
use crate::db::HeldTx;
use crate::http::problem::Problem;
use crate::tools::Ctx;

/// Shared by the middleware and the metadata route.
pub struct Guard {
    pub accounts: Arc<Accounts>,
    pub ctx: Ctx,
    /// This server's resource identifier, e.g. `https://support.example.com/mcp`.
    pub resource: String,
    /// Where the protected-resource metadata is published.
    pub resource_metadata_url: String,
    /// The authorization servers that issue tokens for this resource.
    pub authorization_servers: Vec<String>,
}

/// Authenticates `Authorization: Bearer …` and puts the [`crate::Tenant`] into the request's
/// extensions, where the MCP handler finds it. The credential itself goes no further.
pub async fn require_bearer(
    State(guard): State<Arc<Guard>>,
    mut req: Request,
    next: Next,
) -> Response {
    let token = match crate::http::bearer(req.headers()) {
        Ok(Some(t)) => t.to_owned(),
        Ok(None) => return unauthorized(&guard, None),
        Err(why) => return unauthorized(&guard, Some(why)),
    };
    let (principal, tx) = match guard.accounts.authenticate_in_tx(&token).await {
        Ok(p) => p,
        Err(Refusal::Auth(e)) => {
            tracing::info!(reason = %e, "refused a bearer credential");
            return unauthorized(&guard, Some(&e.to_string()));
        }
        Err(Refusal::Store(e)) => return Problem::from(e).into_response(),
    };
    if !principal.has_full_scope() {
        return insufficient_scope(&guard);
    }
    if let Err(refused) = guard.ctx.limits().requests.check(principal.tenant.id()) {
        tracing::info!(tenant = %principal.tenant, "refused a request over TENANT_REQUESTS_PER_MINUTE");
        return Problem::too_many(&refused).into_response();
    }
    req.extensions_mut().insert(principal.tenant);
    req.extensions_mut().insert(principal);
    let Some(tx) = tx else {
        return next.run(req).await;
    };
    // The tool call's transaction is the one the token was just checked in (one BEGIN and one
    // COMMIT per call, not two); if nothing took it over, it ends with the request.
    let held = HeldTx::new(tx);
    req.extensions_mut().insert(held.clone());
    let response = next.run(req).await;
    if let Err(e) = held.finish().await {
        tracing::warn!(error = %e, "ending a credential check's transaction failed");
    }
    response
}

fn challenge(guard: &Guard, error: Option<(&str, &str)>) -> Option<HeaderValue> {
    let mut c = format!(
        "Bearer resource_metadata=\"{}\"",
        guard.resource_metadata_url
    );
    if let Some((code, description)) = error {
        let description = description.replace(['"', '\\'], "'");
        c.push_str(&format!(
            ", error=\"{code}\", error_description=\"{description}\""
        ));
    }
    HeaderValue::from_str(&c).ok()
}

/// 401 with `WWW-Authenticate: Bearer resource_metadata="…"` (RFC 9728 §5.1), plus
/// `error="invalid_token"` when a credential was presented (RFC 6750 §3.1).
fn unauthorized(guard: &Guard, problem: Option<&str>) -> Response {
    let body = match problem {
        Some(description) => {
            json!({"error": "invalid_token", "error_description": description.replace(['"', '\\'], "'")})
        }
        None => json!({"error": "unauthorized", "error_description": "a Bearer token is required"}),
    };
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    if let Some(value) = challenge(guard, problem.map(|p| ("invalid_token", p))) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// 403 `insufficient_scope` (RFC 6750 §3.1): an intake key may not use MCP.
fn insufficient_scope(guard: &Guard) -> Response {
    let description = "this API key has the intake scope: it may only create tickets and messages";
    let body = json!({"error": "insufficient_scope", "error_description": description});
    let mut response = (StatusCode::FORBIDDEN, Json(body)).into_response();
    if let Some(value) = challenge(guard, Some(("insufficient_scope", description))) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The OAuth 2.0 Protected Resource Metadata (RFC 9728 §2).
pub async fn resource_metadata(State(guard): State<Arc<Guard>>) -> Response {
    Json(json!({
        "resource": guard.resource,
        "authorization_servers": guard.authorization_servers,
        "bearer_methods_supported": ["header"],
        "resource_name": "support-agent",
    }))
    .into_response()
}
