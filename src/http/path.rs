//! Ids in paths: a segment that is not a UUID is a problem document, not axum's plain text.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use uuid::Uuid;

use super::problem::Problem;

/// The route's one `{id}`-like path parameter, as a UUID.
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?;
        Uuid::parse_str(&raw).map(IdPath).map_err(|_| {
            Problem::invalid(
                "id",
                format!(
                    "'{}' is not a UUID",
                    raw.chars().take(60).collect::<String>()
                ),
            )
        })
    }
}
