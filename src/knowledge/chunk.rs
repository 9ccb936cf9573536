//! Cutting a document into chunks that fit the embedding model's window, along its structure
//! (headings, paragraphs, sentences) with text-splitter, each with the breadcrumb of headings
//! above it.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

use super::embed::Embedder;

/// Tokens kept for the title and headings that precede each chunk's text when it is embedded.
const BREADCRUMB_TOKENS: usize = 40;

/// How large chunks are cut and how much of one is repeated at the start of the next. The
/// default is the one measured best (BENCHMARKS-knowledge.md, "Chunk size and overlap");
/// benchmarks set others through [`super::IngestOptions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Most tokens of text in a chunk; `None`: as many as the embedder's window holds beside
    /// the breadcrumb. Never more than that, whatever is asked. Chunks are cut between half of
    /// this and this, along the text's structure.
    pub max_tokens: Option<usize>,
    /// Share of a chunk, in percent (0–50), repeated at the start of the next one.
    pub overlap_percent: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Self {
            max_tokens: None,
            overlap_percent: 15,
        }
    }
}

impl Sizes {
    /// The largest chunk, in tokens, for `embedder`: what is asked, within the window.
    fn max_for(&self, embedder: &dyn Embedder) -> usize {
        let window = embedder
            .max_tokens()
            .saturating_sub(2 + BREADCRUMB_TOKENS)
            .max(16);
        self.max_tokens.map_or(window, |m| m.clamp(16, window))
    }
}

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

/// Splits `body` (Markdown when `markdown`, else plain text) into chunks of at most
/// `sizes`' largest (never more than the embedder's window, less room for the breadcrumb),
/// with `sizes`' overlap.
pub fn split(embedder: &dyn Embedder, body: &str, markdown: bool, sizes: Sizes) -> Vec<Chunk> {
    let max = sizes.max_for(embedder);
    let overlap = max * sizes.overlap_percent.min(50) / 100;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::embed::EmbedFuture;

    /// One token a word, a window of 256 like the built-in model's.
    struct Words;

    impl Embedder for Words {
        fn model(&self) -> &str {
            "words"
        }
        fn dims(&self) -> usize {
            3
        }
        fn max_tokens(&self) -> usize {
            256
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }
        fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
            Box::pin(async move { Ok(texts.iter().map(|_| vec![1.0, 0.0, 0.0]).collect()) })
        }
    }

    fn body() -> String {
        (0..600)
            .map(|i| format!("Sentence number {i} says one thing."))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn smaller_chunks_are_cut_within_the_size_asked_and_never_beyond_the_window() {
        let body = body();
        let default = split(&Words, &body, false, Sizes::default());
        let small = Sizes {
            max_tokens: Some(100),
            overlap_percent: 15,
        };
        let smaller = split(&Words, &body, false, small);
        let window = 256 - 2 - BREADCRUMB_TOKENS;
        assert!(
            default
                .iter()
                .all(|c| Words.count_tokens(&c.text) <= window)
        );
        assert!(smaller.iter().all(|c| Words.count_tokens(&c.text) <= 100));
        assert!(
            smaller.len() > default.len() * 3 / 2,
            "{} chunks of at most 100 words against {} of at most {window}",
            smaller.len(),
            default.len()
        );
        // Asking for more than the window gets the window.
        let huge = Sizes {
            max_tokens: Some(10_000),
            overlap_percent: 15,
        };
        assert_eq!(split(&Words, &body, false, huge), default);
    }

    #[test]
    fn without_overlap_no_text_is_repeated() {
        let body = body();
        let none = Sizes {
            max_tokens: Some(100),
            overlap_percent: 0,
        };
        let some = Sizes {
            max_tokens: Some(100),
            overlap_percent: 30,
        };
        let words = |chunks: &[Chunk]| -> usize {
            chunks.iter().map(|c| Words.count_tokens(&c.text)).sum()
        };
        let plain = split(&Words, &body, false, none);
        assert_eq!(words(&plain), Words.count_tokens(&body));
        assert!(words(&split(&Words, &body, false, some)) > words(&plain));
    }
}
