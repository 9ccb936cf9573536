//! Ingesting files and folders: hash, skip the unchanged, extract, chunk, embed, and write each
//! document with all its chunks in one transaction.

mod files;

use std::path::PathBuf;
use std::time::Instant;

use indicatif::ProgressBar;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::KnowledgeError;
use super::chunk::{self, Chunk};
use super::embed::Embedder;
use super::extract::{self, Extracted, Kind};
use super::sandbox::PdfSandbox;
use super::store::{self, NewChunk, NewDocument, Written};
use crate::{Db, Tenant};

/// Chunks embedded together: several small documents share one call, whose chunks the embedder
/// sorts by length into batches (StackFAQ: 5 % of the positions computed are padding in calls of
/// 256 chunks, 11.5 % in calls of 64; `examples/embed_speed --chunks --passes 0`).
const EMBED_GROUP: usize = 256;

/// Largest file read, by default (`KB_MAX_FILE_BYTES`): 20 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// The limits of ingestion, read from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestSettings {
    /// Largest file the knowledge base reads (folders and uploads alike), in bytes.
    #[arg(long, env = "KB_MAX_FILE_BYTES", global = true, default_value_t = DEFAULT_MAX_FILE_BYTES)]
    pub kb_max_file_bytes: u64,
    /// Wall-clock time allowed to extract one PDF (in a child process).
    #[arg(long, env = "KB_PDF_TIMEOUT", global = true, default_value = "30s",
          value_parser = crate::config::parse_duration)]
    pub kb_pdf_timeout: std::time::Duration,
    /// Memory (address space) allowed to the process that extracts one PDF, in bytes.
    #[arg(long, env = "KB_PDF_MAX_MEMORY", global = true, default_value_t = 1024 * 1024 * 1024)]
    pub kb_pdf_max_memory: u64,
}

impl IngestSettings {
    /// Options for a run, with PDFs extracted by `program` (this binary) in a sandbox.
    pub fn options(&self, prune: bool, program: PathBuf) -> IngestOptions {
        IngestOptions {
            prune,
            max_file_bytes: self.kb_max_file_bytes,
            pdf_sandbox: Some(PdfSandbox {
                program,
                timeout: self.kb_pdf_timeout,
                max_memory_bytes: self.kb_pdf_max_memory,
            }),
            chunking: chunk::Sizes::default(),
        }
    }
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Remove documents under the given paths whose files are gone.
    pub prune: bool,
    /// Files larger than this are skipped with a reason.
    pub max_file_bytes: u64,
    /// Where PDFs are parsed: in a child process under limits, or (`None`, for trusted files
    /// such as benchmarks) in this process.
    pub pdf_sandbox: Option<PdfSandbox>,
    /// How documents are cut into chunks.
    pub chunking: chunk::Sizes,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            prune: false,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            pdf_sandbox: None,
            chunking: chunk::Sizes::default(),
        }
    }
}

/// Counts of documents by outcome.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DocumentCounts {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
    pub pruned: u64,
}

/// A file that was reported and skipped.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub path: String,
    pub reason: String,
}

/// What an ingestion did (`support-agent ingest --json` prints it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    pub documents: DocumentCounts,
    /// Chunks written.
    pub chunks: u64,
    pub seconds: f64,
    /// Of which computing embeddings.
    pub embed_seconds: f64,
    /// Of which writing to the database.
    pub db_seconds: f64,
    pub failures: Vec<Failure>,
}

/// A document extracted and chunked, waiting for its vectors.
struct Pending {
    source: String,
    sha256: Vec<u8>,
    doc: Extracted,
    chunks: Vec<Chunk>,
}

/// Ingests `paths` (files, or folders read recursively) into `tenant`'s knowledge base.
/// Unreadable and unsupported files are reported in the result and skipped; a failure of the
/// database or the embedder stops the run, leaving every document either fully written or not.
pub async fn ingest(
    db: &Db,
    embedder: &dyn Embedder,
    tenant: &Tenant,
    paths: &[PathBuf],
    options: &IngestOptions,
    progress: &ProgressBar,
) -> Result<IngestReport, KnowledgeError> {
    let started = Instant::now();
    let mut report = IngestReport::default();
    let walk = files::walk(paths, options.max_file_bytes);
    for (path, reason) in &walk.errors {
        report.fail(path, reason);
    }
    let mut tx = db.begin(tenant).await?;
    let known = store::hashes(&mut tx).await?;
    tx.commit().await?;
    progress.set_length(walk.files.len() as u64);
    let mut pending: Vec<Pending> = Vec::new();
    for path in &walk.files {
        progress.inc(1);
        let source = path.to_string_lossy().into_owned();
        let bytes = match files::read_bounded(path, options.max_file_bytes) {
            Ok(b) => b,
            Err(reason) => {
                report.fail(path, &reason);
                continue;
            }
        };
        let sha256 = Sha256::digest(&bytes).to_vec();
        if known.get(&source) == Some(&sha256) {
            report.documents.unchanged += 1;
            continue;
        }
        let extracted = match (Kind::of(path), &options.pdf_sandbox) {
            (Some(Kind::Pdf), Some(sandbox)) => match sandbox.extract(path).await {
                Ok(text) => extract::finish(path, Kind::Pdf, &text),
                Err(e) => Err(e),
            },
            _ => extract::extract(path, &bytes),
        };
        let doc = match extracted {
            Ok(doc) => doc,
            Err(e) => {
                report.fail(path, &e.to_string());
                continue;
            }
        };
        let chunks = chunk::split(
            embedder,
            &doc.body,
            doc.kind.is_markdown(),
            options.chunking,
        );
        if chunks.is_empty() {
            report.fail(path, "no text found");
            continue;
        }
        pending.push(Pending {
            source,
            sha256,
            doc,
            chunks,
        });
        if pending.iter().map(|p| p.chunks.len()).sum::<usize>() >= EMBED_GROUP {
            flush(db, embedder, tenant, &mut pending, &mut report).await?;
        }
    }
    flush(db, embedder, tenant, &mut pending, &mut report).await?;
    if options.prune {
        let db_started = Instant::now();
        let gone = files::gone(&walk.roots, known.keys());
        if !gone.is_empty() {
            let mut tx = db.begin(tenant).await?;
            report.documents.pruned = store::delete_sources(&mut tx, &gone).await?;
            tx.commit().await?;
        }
        report.db_seconds += db_started.elapsed().as_secs_f64();
    }
    progress.finish_and_clear();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Ingests one uploaded file, named `name` (its extension says its kind), stored as the
/// document `upload:<name>`: uploading the same name again replaces it, unchanged bytes are
/// skipped. The same limits, extraction and chunking as [`ingest`]; a refused file is reported
/// in the result.
pub async fn ingest_upload(
    db: &Db,
    embedder: &dyn Embedder,
    tenant: &Tenant,
    name: &str,
    bytes: &[u8],
    options: &IngestOptions,
) -> Result<IngestReport, KnowledgeError> {
    let started = Instant::now();
    let mut report = IngestReport::default();
    let name: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let path = std::path::Path::new(&name);
    if name.is_empty() || Kind::of(path).is_none() {
        report.fail(
            path,
            "unsupported file type: name the file with .md, .txt, .html or .pdf",
        );
        return Ok(report);
    }
    if bytes.len() as u64 > options.max_file_bytes {
        report.fail(
            path,
            &format!(
                "skipped: {} bytes is larger than KB_MAX_FILE_BYTES ({} bytes)",
                bytes.len(),
                options.max_file_bytes
            ),
        );
        return Ok(report);
    }
    let source = format!("upload:{name}");
    let sha256 = Sha256::digest(bytes).to_vec();
    let mut tx = db.begin(tenant).await?;
    let known = store::hashes(&mut tx).await?;
    tx.commit().await?;
    if known.get(&source) == Some(&sha256) {
        report.documents.unchanged += 1;
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    let extracted = match (Kind::of(path), &options.pdf_sandbox) {
        (Some(Kind::Pdf), Some(sandbox)) => {
            let dir = tempfile::tempdir().map_err(|e| KnowledgeError::Invalid {
                field: "file",
                reason: format!("cannot stage the upload: {e}"),
            })?;
            let staged = dir.path().join("upload.pdf");
            match std::fs::write(&staged, bytes) {
                Ok(()) => sandbox
                    .extract(&staged)
                    .await
                    .and_then(|text| extract::finish(path, Kind::Pdf, &text)),
                Err(e) => Err(extract::ExtractError::Pdf(format!(
                    "cannot stage the upload: {e}"
                ))),
            }
        }
        _ => extract::extract(path, bytes),
    };
    match extracted {
        Ok(doc) => {
            let chunks = chunk::split(
                embedder,
                &doc.body,
                doc.kind.is_markdown(),
                options.chunking,
            );
            if chunks.is_empty() {
                report.fail(path, "no text found");
            } else {
                let mut pending = vec![Pending {
                    source,
                    sha256,
                    doc,
                    chunks,
                }];
                flush(db, embedder, tenant, &mut pending, &mut report).await?;
            }
        }
        Err(e) => report.fail(path, &e.to_string()),
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Embeds the pending documents' chunks together, then writes each document in its own
/// transaction.
async fn flush(
    db: &Db,
    embedder: &dyn Embedder,
    tenant: &Tenant,
    pending: &mut Vec<Pending>,
    report: &mut IngestReport,
) -> Result<(), KnowledgeError> {
    if pending.is_empty() {
        return Ok(());
    }
    let inputs: Vec<String> = pending
        .iter()
        .flat_map(|p| p.chunks.iter().map(|c| c.embedding_input(&p.doc.title)))
        .collect();
    let embed_started = Instant::now();
    let mut vectors = embedder.embed(&inputs).await?.into_iter();
    report.embed_seconds += embed_started.elapsed().as_secs_f64();
    let db_started = Instant::now();
    let dims = i32::try_from(embedder.dims()).unwrap_or(i32::MAX);
    for p in pending.drain(..) {
        let chunks: Vec<NewChunk> = p
            .chunks
            .into_iter()
            .map(|c| NewChunk {
                heading_path: c.heading_path,
                text: c.text,
                embedding: vectors.next().unwrap_or_default(),
            })
            .collect();
        let mut tx = db.begin(tenant).await?;
        let written = store::put_document(
            &mut tx,
            &NewDocument {
                source: &p.source,
                title: &p.doc.title,
                kind: p.doc.kind.as_str(),
                content_sha256: &p.sha256,
                chunks: &chunks,
                embed_model: embedder.model(),
                embed_dims: dims,
            },
        )
        .await?;
        tx.commit().await?;
        report.chunks += chunks.len() as u64;
        match written {
            Written::Added => report.documents.added += 1,
            Written::Updated => report.documents.updated += 1,
        }
    }
    report.db_seconds += db_started.elapsed().as_secs_f64();
    Ok(())
}

impl IngestReport {
    fn fail(&mut self, path: &std::path::Path, reason: &str) {
        tracing::warn!(path = %path.display(), reason, "skipped");
        self.documents.failed += 1;
        self.failures.push(Failure {
            path: path.display().to_string(),
            reason: reason.to_owned(),
        });
    }
}
