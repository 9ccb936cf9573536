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
//!
//! `--chunks` instead embeds the corpus cut into chunks exactly as ingestion cuts it, in calls of
//! `--group` chunks as ingestion makes them, alternating batch limits pass by pass (A/B/A/B, so
//! that the machine's other load falls on every configuration alike); `--limits 32x8192,32x2048`
//! names them (texts × token positions per forward pass; 32x8192 is the batching before token
//! limits: 32 texts of up to 256 tokens).
//!
//!     cargo run --example embed_speed -- --data ../shared/data/stackfaq --chunks --texts 200

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use serde::Deserialize;
use support_agent::knowledge::chunk;
use support_agent::knowledge::embed::{BatchLimits, LocalEmbedder};

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
    /// Embed each query on its own, as a search does, and print the latency's p50 and p99.
    #[arg(long)]
    one_by_one: bool,
    /// Embed the corpus's chunks (as ingestion cuts them) under each of `--limits`, alternated.
    #[arg(long)]
    chunks: bool,
    /// Chunks per call, as ingestion groups them.
    #[arg(long, default_value_t = 64)]
    group: usize,
    /// Batch limits compared with `--chunks`: `TEXTSxTOKENS`, comma-separated.
    #[arg(long, default_value = "32x8192,32x2048")]
    limits: String,
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
    if args.chunks {
        return chunks(&args, &embedder, profile);
    }
    if args.one_by_one {
        return one_by_one(&args, &embedder, profile);
    }
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

/// `--one-by-one`: each of the first `--texts` queries embedded in a call of its own, `--passes`
/// times (the first pass warms up and is not counted).
fn one_by_one(args: &Args, embedder: &LocalEmbedder, profile: &str) -> anyhow::Result<()> {
    let texts = read(&args.data.join("queries.jsonl"), args.texts)?;
    let mut ms = Vec::with_capacity(texts.len() * args.passes);
    for pass in 0..=args.passes {
        for t in &texts {
            let started = Instant::now();
            embedder.embed_blocking(std::slice::from_ref(t))?;
            if pass > 0 {
                ms.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((p / 100.0) * (ms.len() - 1) as f64).round() as usize];
    println!(
        "{profile} one query per call: {} calls, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms.len(),
        at(50.0),
        at(99.0),
        ms[ms.len() - 1]
    );
    Ok(())
}

/// The `--chunks` comparison: the first `--texts` chunks of the corpus, embedded in calls of
/// `--group`, once per configuration per pass, configurations alternated.
fn chunks(args: &Args, embedder: &LocalEmbedder, profile: &str) -> anyhow::Result<()> {
    let body = std::fs::read_to_string(args.data.join("corpus.jsonl"))?;
    let mut texts = Vec::new();
    for l in body.lines() {
        if texts.len() >= args.texts {
            break;
        }
        let line: Line = serde_json::from_str(l)?;
        let doc = format!("# {}\n\n{}\n", line.title, line.text);
        for c in chunk::split(embedder, &doc, true, chunk::Sizes::default()) {
            texts.push(c.embedding_input(&line.title));
        }
    }
    texts.truncate(args.texts);
    let limits: Vec<BatchLimits> = args
        .limits
        .split(',')
        .map(|l| {
            let (t, k) = l
                .split_once('x')
                .ok_or_else(|| anyhow::anyhow!("--limits: {l} is not TEXTSxTOKENS"))?;
            Ok(BatchLimits {
                texts: t.trim().parse()?,
                tokens: k.trim().parse()?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let tokens: usize = texts
        .iter()
        .map(|t| support_agent::knowledge::Embedder::count_tokens(embedder, t).min(254) + 2)
        .sum();
    println!(
        "{} chunks, {:.0} tokens each on average, in calls of {}",
        texts.len(),
        tokens as f64 / texts.len() as f64,
        args.group
    );
    // Token positions computed per forward pass, padding included: the batching before this
    // change (sorted by characters within a call, 32 texts, padded to the longest) and each limit.
    let lengths: Vec<usize> = texts
        .iter()
        .map(|t| support_agent::knowledge::Embedder::count_tokens(embedder, t).min(254) + 2)
        .collect();
    let mut before = 0;
    for (g, group) in lengths.chunks(args.group.max(1)).enumerate() {
        let mut order: Vec<usize> = (0..group.len()).collect();
        order.sort_by_key(|&i| texts[g * args.group.max(1) + i].len());
        for b in order.chunks(32) {
            before += b.len() * b.iter().map(|&i| group[i]).max().unwrap_or(0);
        }
    }
    println!(
        "positions: {tokens} real; before (32 texts sorted by characters) {before} ({:.1} % padding)",
        100.0 * (before - tokens) as f64 / before as f64
    );
    for &l in &limits {
        let padded: usize = lengths
            .chunks(args.group.max(1))
            .flat_map(|group| {
                support_agent::knowledge::embed::length_batches(group, l.texts, l.tokens)
                    .into_iter()
                    .map(|b| b.len() * b.iter().map(|&i| group[i]).max().unwrap_or(0))
                    .collect::<Vec<_>>()
            })
            .sum();
        println!(
            "positions with {}x{}: {padded} ({:.1} % padding)",
            l.texts,
            l.tokens,
            100.0 * (padded - tokens) as f64 / padded as f64
        );
    }
    if args.passes == 0 {
        return Ok(());
    }
    let run = |l: BatchLimits| -> anyhow::Result<f64> {
        let started = Instant::now();
        for group in texts.chunks(args.group.max(1)) {
            embedder.embed_blocking_with(group, l)?;
        }
        Ok(texts.len() as f64 / started.elapsed().as_secs_f64())
    };
    for &l in &limits {
        run(l)?;
    }
    let mut rates = vec![Vec::new(); limits.len()];
    for pass in 0..args.passes {
        for (i, &l) in limits.iter().enumerate() {
            let rate = run(l)?;
            println!("pass {pass}, {}x{}: {rate:.2} chunks/s", l.texts, l.tokens);
            rates[i].push(rate);
        }
    }
    for (l, mut r) in limits.iter().zip(rates) {
        r.sort_by(f64::total_cmp);
        println!(
            "{profile} chunks, {} texts x {} tokens per pass: median {:.2} chunks/s (min {:.2}, max {:.2})",
            l.texts,
            l.tokens,
            r[r.len() / 2],
            r[0],
            r[r.len() - 1]
        );
    }
    Ok(())
}
