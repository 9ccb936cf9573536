//! `/api/v1/intake/tickets` and `/api/v1/intake/tickets/{id}/messages`: tickets and messages from
//! the tenant's own site, by API key (any scope) or signature; `Idempotency-Key` makes retries
//! safe.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::Tenant;
use crate::channels::idempotency::Idempotency;
use crate::channels::intake::{self, NewIntakeMessage, NewIntakeTicket};
use crate::http::AppState;
use crate::http::json::{body_rejection, parse, require_json};
use crate::http::path::IdPath;
use crate::http::problem::Problem;

fn idempotency(
    headers: &HeaderMap,
    route: &str,
    body: &[u8],
) -> Result<Option<Idempotency>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Problem::invalid("Idempotency-Key", "use visible ASCII characters"))?;
    Ok(Some(Idempotency::new(value, route, body)?))
}

fn answer((status, body): intake::Answer) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
    (status, axum::Json(body)).into_response()
}

pub async fn create_ticket(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    require_json(&headers)?;
    let body = body.map_err(body_rejection)?;
    let new: NewIntakeTicket = parse(&body)?;
    let idem = idempotency(&headers, "intake/tickets", &body)?;
    let a = intake::open_ticket(app.ctx.db(), &tenant, &new, idem.as_ref()).await?;
    Ok(answer(a))
}

pub async fn add_message(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(ticket): IdPath,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    require_json(&headers)?;
    let body = body.map_err(body_rejection)?;
    let new: NewIntakeMessage = parse(&body)?;
    let route = format!("intake/tickets/{ticket}/messages");
    let idem = idempotency(&headers, &route, &body)?;
    let a = intake::add_message(app.ctx.db(), &tenant, ticket, &new, idem.as_ref()).await?;
    Ok(answer(a))
}
