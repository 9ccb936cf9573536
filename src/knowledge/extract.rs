//! Text out of files: Markdown and plain text as they are, HTML through html2text (which keeps
//! headings as Markdown `#` lines), PDF through pdf-extract.

use std::path::Path;

/// The kinds of file the knowledge base reads, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Markdown,
    Text,
    Html,
    Pdf,
}

impl Kind {
    /// The kind of `path` by its extension, or `None` for a file type the knowledge base skips.
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" | "mdx" => Some(Self::Markdown),
            "txt" | "text" => Some(Self::Text),
            "html" | "htm" | "xhtml" => Some(Self::Html),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// The name stored in `documents.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Markdown => "markdown",
            Self::Text => "text",
            Self::Html => "html",
            Self::Pdf => "pdf",
        }
    }

    /// Whether the extracted text is Markdown (split along its headings) or plain text.
    pub fn is_markdown(self) -> bool {
        matches!(self, Self::Markdown | Self::Html)
    }
}

/// Text extracted from a file.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub kind: Kind,
    /// The first heading, else the file's name without its extension.
    pub title: String,
    pub body: String,
}

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error("unsupported file type")]
    Unsupported,
    #[error("not text: the file is binary or not UTF-8")]
    Binary,
    #[error("not a readable PDF: {0}")]
    Pdf(String),
    #[error("not readable HTML: {0}")]
    Html(String),
    #[error("no text found")]
    Empty,
}

/// The text of an HTML document, headings kept as Markdown `#` lines: how the knowledge base
/// reads HTML pages, and the inbox reads HTML mail.
pub fn html_to_text(html: &str) -> Result<String, ExtractError> {
    html2text::from_read(html.as_bytes(), 100_000).map_err(|e| ExtractError::Html(e.to_string()))
}

/// Extracts the text of `bytes`, read from `path`. Runs PDF parsing on the calling thread.
pub fn extract(path: &Path, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let kind = Kind::of(path).ok_or(ExtractError::Unsupported)?;
    let body = match kind {
        Kind::Markdown | Kind::Text => utf8(bytes)?.to_owned(),
        Kind::Html => html_to_text(utf8(bytes)?)?,
        Kind::Pdf => pdf_text(bytes)?,
    };
    finish(path, kind, &body)
}

/// The document of text `body` extracted from `path` (by [`extract`], or by the PDF sandbox).
pub fn finish(path: &Path, kind: Kind, body: &str) -> Result<Extracted, ExtractError> {
    let body = body.replace("\r\n", "\n").replace('\0', "");
    if body.trim().is_empty() {
        return Err(ExtractError::Empty);
    }
    let title = first_heading(&body)
        .or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().replace(['_', '-'], " "))
        })
        .unwrap_or_else(|| "untitled".into());
    Ok(Extracted {
        kind,
        title: title.chars().take(500).collect(),
        body,
    })
}

fn utf8(bytes: &[u8]) -> Result<&str, ExtractError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ExtractError::Binary)?;
    if text.contains('\0') {
        return Err(ExtractError::Binary);
    }
    Ok(text)
}

/// pdf-extract panics on some malformed files instead of returning an error: a panic is caught
/// and reported like any other unreadable PDF.
pub fn pdf_text(bytes: &[u8]) -> Result<String, ExtractError> {
    if !bytes.starts_with(b"%PDF") {
        return Err(ExtractError::Pdf("no %PDF header".into()));
    }
    match std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes)) {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(e)) => Err(ExtractError::Pdf(e.to_string().chars().take(200).collect())),
        Err(_) => Err(ExtractError::Pdf("the parser failed on this file".into())),
    }
}

/// The text of the first ATX heading (`# Title`), if the document starts with one soon.
fn first_heading(body: &str) -> Option<String> {
    body.lines()
        .take(20)
        .find_map(|l| {
            let t = l.trim_start();
            let rest = t.trim_start_matches('#');
            (t.starts_with('#') && rest.starts_with(' ')).then(|| rest.trim().to_owned())
        })
        .filter(|t| !t.is_empty())
}
