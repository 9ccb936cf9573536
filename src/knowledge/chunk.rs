//! Cutting a document into chunks that fit the embedding model's window, along its structure
//! (headings, paragraphs, sentences) with text-splitter, each with the breadcrumb of headings
//! above it.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

use super::embed::Embedder;

/// Tokens kept for the title and headings that precede each chunk's text when it is embedded.
const BREADCRUMB_TOKENS: usize = 40;
/// Share of a chunk repeated at the start of the next one.
const OVERLAP_PERCENT: usize = 15;

/// A piece of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Headings above the chunk, outermost first.
    pub heading_path: Vec<String>,
    pub text: String,
}

impl Chunk {
    /// What the model reads for this chunk: the document's title and headings, then the text.
    pub fn embedding_input(&self, title: &str) -> String {
        let mut crumbs = vec![title];
        crumbs.extend(
            self.heading_path
                .iter()
                .map(String::as_str)
                .filter(|h| *h != title),
        );
        format!("{}\n{}", crumbs.join(" > "), self.text)
    }
}

/// Sizes chunks in the embedder's tokens.
struct Tokens<'a>(&'a dyn Embedder);

impl ChunkSizer for Tokens<'_> {
    fn size(&self, chunk: &str) -> usize {
        self.0.count_tokens(chunk)
    }
}

/// Splits `body` (Markdown when `markdown`, else plain text) into chunks of at most the
/// embedder's window, less room for the breadcrumb, with some overlap.
pub fn split(embedder: &dyn Embedder, body: &str, markdown: bool) -> Vec<Chunk> {
    let max = embedder
        .max_tokens()
        .saturating_sub(2 + BREADCRUMB_TOKENS)
        .max(16);
    let overlap = max * OVERLAP_PERCENT / 100;
    let config = ChunkConfig::new(max / 2..max)
        .with_sizer(Tokens(embedder))
        .with_overlap(overlap);
    // Overlap is always below the capacity here, so the fallback is never taken.
    let Ok(config) = config else {
        return Vec::new();
    };
    let pieces: Vec<(usize, &str)> = if markdown {
        MarkdownSplitter::new(config).chunk_indices(body).collect()
    } else {
        TextSplitter::new(config).chunk_indices(body).collect()
    };
    let headings = if markdown { headings(body) } else { Vec::new() };
    pieces
        .into_iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(offset, text)| Chunk {
            heading_path: path_at(&headings, offset),
            text: text.chars().take(20_000).collect(),
        })
        .collect()
}

/// Every heading of a Markdown text: byte offset, level (1–6) and text.
fn headings(body: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize, String)> = None;
    for (event, range) in Parser::new(body).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                current = Some((range.start, level_number(level), String::new()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, _, text)) = current.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((start, level, text)) = current.take() {
                    let text = text.trim().chars().take(200).collect::<String>();
                    if !text.is_empty() {
                        out.push((start, level, text));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn level_number(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// The headings in force at byte `offset`: the last heading of each level above it, nested.
fn path_at(headings: &[(usize, usize, String)], offset: usize) -> Vec<String> {
    let mut stack: Vec<(usize, &str)> = Vec::new();
    for (start, level, text) in headings.iter().take_while(|(s, _, _)| *s <= offset) {
        let _ = start;
        while stack.last().is_some_and(|(l, _)| l >= level) {
            stack.pop();
        }
        stack.push((*level, text));
    }
    stack.into_iter().map(|(_, t)| t.to_owned()).collect()
}
