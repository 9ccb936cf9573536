//! Helpers: a deterministic bag-of-words embedder for database tests (the real model is loaded
//! only where its behaviour is what a test is about), and file fixtures.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use support_agent::knowledge::embed::{DIMS, EmbedFuture, Embedder};
use support_agent::knowledge::{IngestOptions, IngestReport, SharedEmbedder};
use support_agent::{Db, Tenant};

/// Hashes each word into one of 384 buckets: texts sharing words are close. Fast and exact,
/// so database tests need neither the model's weights nor its inference time.
pub struct WordHashEmbedder;

impl Embedder for WordHashEmbedder {
    fn model(&self) -> &str {
        "test-word-hash"
    }
    fn dims(&self) -> usize {
        DIMS
    }
    fn max_tokens(&self) -> usize {
        256
    }
    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move { Ok(texts.iter().map(|t| word_hash(t)).collect()) })
    }
}

pub fn word_hash(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIMS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let h = Sha256::digest(word.to_lowercase().as_bytes());
        v[usize::from(u16::from_le_bytes([h[0], h[1]])) % DIMS] += 1.0;
    }
    support_agent::knowledge::embed::normalize(&mut v);
    v
}

pub fn hash_embedder() -> SharedEmbedder {
    Arc::new(WordHashEmbedder)
}

/// Path of the real model (fetched by scripts/fetch-model.sh, which scripts/test.sh runs).
pub fn real_model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2")
}

/// Ingests `paths` for `tenant` with the word-hash embedder.
pub async fn ingest(db: &Db, tenant: &Tenant, paths: &[&Path], prune: bool) -> IngestReport {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    support_agent::knowledge::ingest(
        db,
        &WordHashEmbedder,
        tenant,
        &paths,
        &IngestOptions {
            prune,
            ..IngestOptions::default()
        },
        &indicatif::ProgressBar::hidden(),
    )
    .await
    .expect("ingest")
}

/// A folder of `files` (name, content) ingested for `tenant`; kept while the returned handle
/// lives, so that a test can change it and ingest it again.
pub async fn folder(db: &Db, tenant: &Tenant, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    for (name, content) in files {
        write(dir.path(), name, content);
    }
    ingest(db, tenant, &[dir.path()], false).await;
    dir
}

pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, content).expect("write fixture");
    path
}

/// A one-page PDF whose page shows `text` (Helvetica), with a correct cross-reference table.
pub fn pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
