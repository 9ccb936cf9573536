//! `/api/v1/knowledge`: documents, uploads, and the search a draft cites.

use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{Items, staff};
use crate::Tenant;
use crate::http::AppState;
use crate::http::path::IdPath;
use crate::http::problem::Problem;
use crate::http::query::ApiQuery;
use crate::knowledge::{self, Document, store};
use crate::tools::{self, SearchKnowledgeArgs};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// What to look for, in natural language.
    pub q: String,
    /// How many passages, 1 to 20 (default 5).
    pub limit: Option<i64>,
}

pub async fn list(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
) -> Result<Response, Problem> {
    let mut tx = app.ctx.db().begin(&tenant).await?;
    let docs = store::list(&mut tx).await?;
    tx.commit().await?;
    let page: Items<Document> = Items {
        items: docs,
        next_cursor: None,
    };
    Ok(axum::Json(page).into_response())
}

/// Uploads one document (`file`, multipart): `201` with the document; `422` when it cannot be
/// read (the reason says why).
pub async fn upload(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, Problem> {
    let mut form = form.map_err(|e| {
        Problem::bad_request(format!(
            "send the document as multipart/form-data with a `file` field: {}",
            e.body_text()
        ))
    })?;
    let knowledge = app.ctx.knowledge().ok_or_else(|| {
        Problem::unavailable("the knowledge base is unavailable on this server: no embedding model")
    })?;
    let mut file = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| Problem::bad_request(format!("the upload is not valid multipart: {e}")))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_owned();
            let bytes = field.bytes().await.map_err(|e| {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    "Payload too large",
                    format!("the upload could not be read (at most KB_MAX_FILE_BYTES): {e}"),
                )
            })?;
            file = Some((name, bytes));
        }
    }
    let (name, bytes) = file.ok_or_else(|| Problem::invalid("file", "a file field is required"))?;
    let report = knowledge::ingest_upload(
        app.ctx.db(),
        knowledge.embedder.as_ref(),
        &tenant,
        &name,
        &bytes,
        &app.ingest,
    )
    .await
    .map_err(|e| match e {
        knowledge::KnowledgeError::Store(e) => Problem::from(e),
        knowledge::KnowledgeError::Invalid { field, reason } => Problem::invalid(field, reason),
        knowledge::KnowledgeError::Embed(e) => {
            tracing::error!(error = %e, "embedding an upload failed");
            Problem::unavailable("the embedding model failed; try again later")
        }
    })?;
    if let Some(f) = report.failures.first() {
        return Err(Problem::invalid("file", f.reason.clone()));
    }
    let source = format!("upload:{}", name.rsplit(['/', '\\']).next().unwrap_or(""));
    let mut tx = app.ctx.db().begin(&tenant).await?;
    let doc = store::list(&mut tx)
        .await?
        .into_iter()
        .find(|d| d.source == source)
        .ok_or_else(|| Problem::not_found("document"))?;
    tx.commit().await?;
    let status = if report.documents.unchanged > 0 {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(doc)).into_response())
}

pub async fn delete(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    IdPath(id): IdPath,
) -> Result<StatusCode, Problem> {
    let mut tx = app.ctx.db().begin(&tenant).await?;
    store::delete(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What `search_knowledge` answers for `q`.
pub async fn search(
    State(app): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Response, Problem> {
    let args = SearchKnowledgeArgs {
        query: q.q,
        limit: q.limit,
    };
    let out = tools::search_knowledge(&app.ctx, &staff(tenant), args).await?;
    Ok(axum::Json(out).into_response())
}
