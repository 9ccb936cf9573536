//! `/knowledge`: the documents (title, source, chunks, updated), upload, delete, and a search
//! box that shows what `search_knowledge` returns for a question — why a draft said what it said.

use axum::Extension;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use maud::html;
use serde::Deserialize;

use super::layout::{Section, csrf_field, page, when};
use super::{Csrf, PageError, PageQuery, PageResult, Pages, parse_id, see_other};
use crate::accounts::Principal;
use crate::knowledge::{self, KnowledgeError};
use crate::tools::{self, SearchKnowledgeArgs};

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Extension(csrf): Extension<Csrf>,
    PageQuery(search): PageQuery<Search>,
) -> PageResult {
    let ctx = &pages.app.ctx;
    let mut tx = ctx.db().begin(&principal.tenant).await?;
    let docs = knowledge::store::list(&mut tx).await?;
    tx.commit().await?;
    let query = search.q.trim();
    let results = if query.is_empty() {
        None
    } else {
        let args = SearchKnowledgeArgs {
            query: query.to_owned(),
            limit: Some(5),
        };
        Some(
            tools::search_knowledge(ctx, &pages.caller(&principal), args)
                .await
                .map_err(|e| e.to_string()),
        )
    };
    let notice = match search.done.as_str() {
        "uploaded" => Some("Document uploaded and ingested."),
        "deleted" => Some("Document deleted."),
        _ => None,
    };
    let body = html! {
        h1 { "Knowledge" }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        section aria-labelledby="search-h" {
            h2 id="search-h" { "What would the agent find?" }
            form.filters method="get" action="/knowledge" role="search" {
                label for="q" { "Question" }
                input id="q" name="q" type="search" value=(query) placeholder="how long do refunds take";
                button type="submit" { "Search" }
            }
            @match &results {
                None => {}
                Some(Err(e)) => { p.error role="alert" { (e) } }
                Some(Ok(out)) => {
                    @if out.results.is_empty() { p.muted { "Nothing found." } }
                    @for r in &out.results {
                        blockquote.passage {
                            p.title { strong { (r.hit.title) } " " span.muted { "score " (format!("{:.3}", r.hit.score)) } }
                            @if !r.hit.heading_path.is_empty() { p.crumbs { (r.hit.heading_path.join(" › ")) } }
                            p.pre { (r.hit.text) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="docs-h" {
            h2 id="docs-h" { "Documents" }
            form.filters method="post" enctype="multipart/form-data" action={ "/knowledge/upload?csrf=" (csrf.0) } {
                label for="file" { "Upload Markdown, text, HTML or PDF" }
                input id="file" name="file" type="file" required accept=".md,.markdown,.txt,.html,.htm,.pdf";
                button type="submit" { "Upload" }
            }
            @if docs.is_empty() { p.muted { "No documents yet." } } @else {
                table.docs {
                    thead { tr { th scope="col" { "Title" } th scope="col" { "Source" } th scope="col" { "Chunks" } th scope="col" { "Updated" } th scope="col" { span.sr-only { "Actions" } } } }
                    tbody {
                        @for d in &docs {
                            tr {
                                td data-label="Title" { (d.title) }
                                td data-label="Source" { code { (d.source) } }
                                td data-label="Chunks" { (d.chunk_count) }
                                td data-label="Updated" { (when(d.updated_at)) }
                                td {
                                    form.inline method="post" action={ "/knowledge/" (d.id) "/delete" } {
                                        (csrf_field(&csrf))
                                        button.danger type="submit" data-confirm="Delete this document and its passages?" aria-label={ "Delete " (d.title) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Knowledge", Section::Knowledge, &csrf, body))
}

/// One upload (`file`), ingested as `POST /api/v1/knowledge/documents` does.
pub async fn upload(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let bad = |m: String| PageError::new(StatusCode::BAD_REQUEST, m);
    let mut form =
        form.map_err(|e| bad(format!("Send the document as a file: {}.", e.body_text())))?;
    let ctx = &pages.app.ctx;
    let knowledge = ctx.knowledge().ok_or_else(|| {
        PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The knowledge base is unavailable on this server: it has no embedding model.",
        )
    })?;
    let mut file = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("The upload could not be read: {e}.")))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_owned();
            let bytes = field.bytes().await.map_err(|e| {
                PageError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("The upload could not be read (at most KB_MAX_FILE_BYTES): {e}."),
                )
            })?;
            file = Some((name, bytes));
        }
    }
    let (name, bytes) = file.ok_or_else(|| bad("Choose a file to upload.".into()))?;
    let report = knowledge::ingest_upload(
        ctx.db(),
        knowledge.embedder.as_ref(),
        &principal.tenant,
        &name,
        &bytes,
        &pages.app.ingest,
    )
    .await
    .map_err(|e| match e {
        KnowledgeError::Store(e) => PageError::from(e),
        KnowledgeError::Invalid { reason, .. } => {
            PageError::new(StatusCode::UNPROCESSABLE_ENTITY, reason)
        }
        KnowledgeError::Embed(e) => {
            tracing::error!(error = %e, "embedding an upload failed");
            PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The embedding model failed; try again later.",
            )
        }
    })?;
    if let Some(f) = report.failures.first() {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            f.reason.clone(),
        ));
    }
    Ok(see_other("/knowledge?done=uploaded"))
}

pub async fn delete(
    State(pages): State<Pages>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id(&id)?;
    let mut tx = pages.app.ctx.db().begin(&principal.tenant).await?;
    knowledge::store::delete(&mut tx, id).await?;
    tx.commit().await?;
    Ok(see_other("/knowledge?done=deleted"))
}
