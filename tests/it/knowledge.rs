//! The knowledge base: embedders, ingestion, hybrid search, isolation, the tool and the CLI.

mod atomic;
mod cli;
mod embedder;
mod ingest;
mod isolation;
mod openai;
mod scale;
mod search;
pub mod support;
