//! Errors as RFC 9457 problem documents (`application/problem+json`): a stable `type`, a `title`,
//! a `detail`, the `status`, and for `422` the fields at fault in `errors`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::StoreError;
use crate::accounts::AccountError;
use crate::limits::Refused;
use crate::tools::ToolError;

/// Where the problem types are named; each `type` is this plus a slug listed in the README.
pub const TYPE_BASE: &str = "https://support-agent.dev/problems/";

/// One field that failed validation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// A problem document, ready to send (boxed: it travels in every handler's `Err`).
#[derive(Debug, Clone)]
pub struct Problem(Box<Document>);

/// What a problem document says.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Document {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The setting of a limit that was reached (an extension member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<&'static str>,
    #[serde(skip)]
    retry_after: Option<u64>,
    #[serde(skip)]
    challenge: Option<String>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        slug: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(Document {
            kind: format!("{TYPE_BASE}{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            limit: None,
            retry_after: None,
            challenge: None,
        }))
    }

    /// What the document says.
    pub fn document(&self) -> &Document {
        &self.0
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    /// `422` naming the field at fault.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let (field, reason) = (field.into(), reason.into());
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
            format!("invalid {field}: {reason}"),
        );
        p.0.errors.push(FieldError { field, reason });
        p
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        );
        p.0.challenge = Some("Bearer".into());
        p
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// `404`, the same for another tenant's id as for one that never existed.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{what} not found"),
        )
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    pub fn too_many(refused: &Refused) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            refused.to_string(),
        );
        p.0.retry_after = Some(refused.retry_after_secs());
        p.0.limit = Some(refused.setting);
        p
    }

    /// `500` without detail: the cause is logged, never shown.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server could not complete the request; it has been logged",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Unavailable",
            detail,
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let doc = *self.0;
        let status = StatusCode::from_u16(doc.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (retry, challenge) = (doc.retry_after, doc.challenge.clone());
        let mut response = (status, Json(doc)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, c);
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Invalid { field, reason } => Self::invalid(field, reason),
            StoreError::Conflict(msg) => Self::conflict(msg),
            StoreError::Timeout { setting } => Self::unavailable(format!(
                "the request took longer than {setting} allows; try again later"
            )),
            e @ StoreError::Database(_) => {
                tracing::error!(error = %e, "a request failed in the database");
                Self::internal()
            }
        }
    }
}

impl From<AccountError> for Problem {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::InvalidCredentials | AccountError::InvalidRefreshToken => {
                Self::unauthorized(e.to_string())
            }
            AccountError::WrongPassword => Self::forbidden(e.to_string()),
            AccountError::EmailTaken => Self::conflict(e.to_string()),
            AccountError::Invalid { field, reason } => Self::invalid(field, reason),
            AccountError::NotFound(what) => Self::not_found(what),
            AccountError::Store(e) => Self::from(e),
            AccountError::Setting(e) => {
                tracing::error!(error = %e, "a setting stopped an account operation");
                Self::internal()
            }
        }
    }
}

impl From<crate::actions::ActionError> for Problem {
    fn from(e: crate::actions::ActionError) -> Self {
        use crate::actions::ActionError;
        match e {
            ActionError::Store(e) => e.into(),
            ActionError::Unavailable(msg) | ActionError::Upstream(msg) => Self::unavailable(msg),
        }
    }
}

impl From<ToolError> for Problem {
    fn from(e: ToolError) -> Self {
        match e {
            ToolError::NotFound(what) => Self::not_found(what),
            ToolError::InvalidArgument { field, reason } => Self::invalid(field, reason),
            ToolError::Conflict(msg) => Self::conflict(msg),
            ToolError::Unavailable(msg) | ToolError::Upstream(msg) => Self::unavailable(msg),
            ToolError::UnknownTool(name) => Self::not_found(&format!("tool {name}")),
            ToolError::Infrastructure(e) => {
                tracing::error!(error = %e, "a request failed");
                Self::internal()
            }
        }
    }
}
