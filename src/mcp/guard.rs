//! What stands in front of `/mcp`: the `Origin` allow-list (403) and bearer-token verification on
//! every request (401 pointing at the RFC 9728 metadata), per SECURITY.md M1.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::JwtAuth;
use crate::limits::Refused;
use crate::tools::Ctx;

/// Shared by the middleware and the metadata route.
pub struct Guard {
    pub auth: JwtAuth,
    /// Allowed `Origin` values, normalised (lower case, no trailing slash). A request without
    /// `Origin` (not from a browser) passes; any other origin is refused.
    pub allowed_origins: Vec<String>,
    /// This server's resource identifier, e.g. `https://support.example.com/mcp`.
    pub resource: String,
    /// Where the protected-resource metadata is published.
    pub resource_metadata_url: String,
    /// The authorization servers that issue tokens for this resource.
    pub authorization_servers: Vec<String>,
}

/// Lower case, without a trailing slash: how origins are compared.
pub fn normalise_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Refuses a request whose `Origin` is not on the allow-list, before anything else runs.
pub async fn check_origin(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let allowed = origin
            .to_str()
            .is_ok_and(|o| guard.allowed_origins.contains(&normalise_origin(o)));
        if !allowed {
            tracing::warn!(origin = ?origin, "refused a request from a disallowed Origin");
            let body = json!({"error": "forbidden", "error_description": "Origin is not allowed"});
            return (StatusCode::FORBIDDEN, Json(body)).into_response();
        }
    }
    next.run(req).await
}

/// Verifies `Authorization: Bearer …` and puts the token's [`crate::Tenant`] into the request's
/// extensions, where the MCP handler finds it. The token itself goes no further.
pub async fn require_bearer(
    State(guard): State<Arc<Guard>>,
    mut req: Request,
    next: Next,
) -> Response {
    let header = req.headers().get(header::AUTHORIZATION).map(|h| h.to_str());
    let token = match header {
        None => return unauthorized(&guard, None),
        Some(Ok(value)) => match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return unauthorized(&guard, Some("expected a Bearer token")),
        },
        Some(Err(_)) => return unauthorized(&guard, Some("the token is malformed")),
    };
    match guard.auth.verify(token) {
        Ok(tenant) => {
            req.extensions_mut().insert(tenant);
            next.run(req).await
        }
        Err(e) => {
            tracing::info!(reason = %e, "refused a bearer token");
            unauthorized(&guard, Some(&e.to_string()))
        }
    }
}

/// Refuses a tenant's request past `TENANT_REQUESTS_PER_MINUTE` with `429` and `Retry-After`;
/// runs after [`require_bearer`], which put the tenant in the request.
pub async fn limit_requests(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let Some(tenant) = req.extensions().get::<crate::Tenant>().copied() else {
        return next.run(req).await;
    };
    match ctx.limits().requests.check(&tenant) {
        Ok(()) => next.run(req).await,
        Err(refused) => {
            tracing::info!(%tenant, "refused a request over TENANT_REQUESTS_PER_MINUTE");
            too_many_requests(&refused)
        }
    }
}

/// `429` with `Retry-After` and a problem document naming the limit.
pub fn too_many_requests(refused: &Refused) -> Response {
    let body = json!({
        "type": "https://support-agent.dev/problems/rate-limited",
        "title": "Too many requests",
        "status": 429,
        "detail": refused.to_string(),
        "limit": refused.setting,
        "retry_after": refused.retry_after_secs(),
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from(refused.retry_after_secs()),
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// 401 with `WWW-Authenticate: Bearer resource_metadata="…"` (RFC 9728 §5.1), plus
/// `error="invalid_token"` when a token was presented (RFC 6750 §3.1).
fn unauthorized(guard: &Guard, problem: Option<&str>) -> Response {
    let mut challenge = format!(
        "Bearer resource_metadata=\"{}\"",
        guard.resource_metadata_url
    );
    let body = match problem {
        Some(description) => {
            let description = description.replace(['"', '\\'], "'");
            challenge.push_str(&format!(
                ", error=\"invalid_token\", error_description=\"{description}\""
            ));
            json!({"error": "invalid_token", "error_description": description})
        }
        None => json!({"error": "unauthorized", "error_description": "a Bearer token is required"}),
    };
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
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
