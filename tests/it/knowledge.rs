//! The knowledge base: embedders, ingestion, hybrid search, isolation, the tool and the CLI.

mod cli;
mod embedder;
mod ingest;
mod openai;
mod search;
mod support;
