//! How fast the built-in embedder (all-MiniLM-L6-v2 on candle) embeds in the profile it was built
//! in — the figure that the dev profile's per-package optimisation levels must not make worse
//! (BENCHMARKS-build.md). It embeds StackFAQ's queries (short, like a search) and its documents
//! (long, like ingestion), each several times, on the calling thread, and prints texts/s.
//!
//!     bash scripts/fetch-model.sh
//!     cargo run --example embed_speed -- --data ../shared/data/stackfaq            # dev profile
//!     cargo run --release --example embed_speed -- --data ../shared/data/stackfaq  # release
//!
//! The first pass of each set warms up and is not counted.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use serde::Deserialize;
use support_agent::knowledge::embed::LocalEmbedder;

#[derive(Parser)]
struct Args {
    /// A BEIR-layout folder with queries.jsonl and corpus.jsonl.
    #[arg(long, default_value = "../shared/data/stackfaq")]
    data: PathBuf,
    /// The model folder that scripts/fetch-model.sh fills.
    #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
    model: PathBuf,
    /// How many queries and documents to embed per pass.
    #[arg(long, default_value_t = 256)]
    texts: usize,
    /// Counted passes per set.
    #[arg(long, default_value_t = 3)]
    passes: usize,
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    title: String,
    text: String,
}

fn read(path: &PathBuf, n: usize) -> anyhow::Result<Vec<String>> {
    let body = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    body.lines()
        .take(n)
        .map(|l| {
            let line: Line = serde_json::from_str(l)?;
            Ok(if line.title.is_empty() {
                line.text
            } else {
                format!("{}\n{}", line.title, line.text)
            })
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    let started = Instant::now();
    let embedder = LocalEmbedder::load(&args.model)?;
    println!(
        "{profile} load: {:.2} s (weights and tokenizer)",
        started.elapsed().as_secs_f64()
    );
    for (set, file) in [("queries", "queries.jsonl"), ("documents", "corpus.jsonl")] {
        let texts = read(&args.data.join(file), args.texts)?;
        embedder.embed_blocking(&texts)?;
        let mut rates = Vec::with_capacity(args.passes);
        for _ in 0..args.passes {
            let started = Instant::now();
            embedder.embed_blocking(&texts)?;
            rates.push(texts.len() as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{profile} {set}: {} texts x {} passes, median {:.1} texts/s (min {:.1}, max {:.1})",
            texts.len(),
            args.passes,
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1]
        );
    }
    Ok(())
}
