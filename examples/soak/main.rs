//! Soak: the whole system for `--minutes` (10 by default) — MCP `list_tickets`,
//! `lookup_customer` and `search_knowledge` at a fixed offered rate over 1,000 tenants, REST
//! writes creating tickets and customer messages, the worker triaging them offline, and one
//! knowledge ingestion uploading documents — reporting per minute each operation's p50/p99 and
//! errors, the children's logged warnings and errors, the queue, the resident memory of
//! `support-agent serve` and `support-agent worker`, and the load average. Not a test: see
//! BENCHMARKS-soak.md for how it is run and what it found.
//!
//! It runs the built binary as two child processes against a scratch database, `--database`
//! (a name starting with `soak_`), which it drops if there, creates, migrates and seeds, and
//! drops at the end unless `--keep`. It talks to nothing but loopback and the PostgreSQL of
//! `.env`; no LLM setting reaches the children (triage is offline).
//!
//! ```sh
//! cargo build --locked --bin support-agent --example soak     # or both with --release
//! target/debug/examples/soak --minutes 10 --rate 15 --writes 0.4 --uploads-per-minute 6 --json
//! ```

#[path = "../support/bench_db.rs"]
#[allow(dead_code)]
mod bench_db;
mod load;
mod procs;
mod record;
mod report;
mod seed;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use support_agent::auth::JwtAuth;
use support_agent::config::{JwtSettings, load_dotenv};
use support_agent::knowledge::EmbedSettings;

use load::{Driver, Op};
use procs::{Launch, wait_ready};
use record::{Recorder, Sample};

#[derive(Debug, Parser)]
struct Args {
    /// How long the load runs, in minutes.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// MCP calls offered per second, split evenly over list_tickets, lookup_customer and
    /// search_knowledge (the default is what 2 shared cores sustained: BENCHMARKS-soak.md).
    #[arg(long, default_value_t = 15.0)]
    rate: f64,
    /// REST writes offered per second, split evenly over new tickets and customer messages
    /// (each queues a triage job).
    #[arg(long, default_value_t = 0.4)]
    writes: f64,
    /// Documents the one ingestion uploads per minute at most (one at a time).
    #[arg(long, default_value_t = 6.0)]
    uploads_per_minute: f64,
    #[arg(long, default_value_t = 1000)]
    tenants: u32,
    /// Customers per tenant (c1..cN@example.com).
    #[arg(long, default_value_t = 50)]
    customers: u32,
    /// Tickets seeded per tenant.
    #[arg(long, default_value_t = 100)]
    tickets: u32,
    /// The scratch database: its name must start with `soak_`; it is dropped first.
    #[arg(long, default_value = "soak_run")]
    database: String,
    /// Keep the database afterwards.
    #[arg(long)]
    keep: bool,
    /// Use the database as it is when it holds `--tenants` tenants (a kept one) instead of
    /// seeding anew: for short runs while developing.
    #[arg(long)]
    reuse: bool,
    /// Jobs the worker runs at once.
    #[arg(long, default_value_t = 2)]
    worker_concurrency: u16,
    /// The `support-agent` binary (default: the one beside this example).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Where the children's logs and summary.json go.
    #[arg(long, default_value = "target/soak")]
    out: PathBuf,
    /// Print the summary as one JSON object (the table then goes to stderr).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    jwt: JwtSettings,
    #[command(flatten)]
    embed: EmbedSettings,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> anyhow::Result<()> {
    load_dotenv()?;
    support_agent::tls::install_crypto_provider();
    let args = Args::parse();
    anyhow::ensure!(args.minutes >= 1, "--minutes must be at least 1");
    let binary = procs::binary(args.binary.as_deref())?;
    std::fs::create_dir_all(&args.out)?;

    let shape = seed::Shape {
        tenants: args.tenants,
        customers: args.customers,
        tickets: args.tickets,
    };
    let seeded = seed::seed(&args.database, &shape, args.embed.build()?, args.reuse).await?;
    let auth = JwtAuth::from_settings(&args.jwt)?;
    let ttl = Duration::from_secs(args.minutes * 60 + 3600);
    let tokens = seeded
        .tenants
        .iter()
        .map(|t| Ok(auth.issue(t.id(), ttl, None)?.token))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let minutes = usize::try_from(args.minutes)?;
    let recorder = Arc::new(Recorder::new(minutes));
    let launch = Launch {
        binary,
        database_url: bench_db::with_db(&std::env::var("DATABASE_URL")?, &args.database)?,
        owner_url: bench_db::with_db(&std::env::var("DATABASE_OWNER_URL")?, &args.database)?,
        logs: args.out.clone(),
        recorder: recorder.clone(),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()?;
    let addr = format!("127.0.0.1:{port}");
    let serve = launch.spawn("serve", &["serve", "--http", &addr])?;
    wait_ready(&http, &format!("{base}/healthz"), Duration::from_secs(120)).await?;
    let concurrency = args.worker_concurrency.to_string();
    let worker = launch.spawn("worker", &["worker", "--concurrency", &concurrency])?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let start = recorder.begin();
    let (serve_pid, worker_pid) = (serve.pid, worker.pid);
    recorder.sample(sample(&seeded.owner, serve_pid, worker_pid).await?);
    let until = start + Duration::from_secs(args.minutes * 60);
    eprintln!(
        "soak: {} tenants, {} MCP calls/s, {} writes/s, {} uploads/min, {} min; serve pid {}, worker pid {}",
        tokens.len(),
        args.rate,
        args.writes,
        args.uploads_per_minute,
        args.minutes,
        serve.pid,
        worker.pid
    );
    let driver = Arc::new(Driver::new(
        http,
        base,
        tokens,
        args.customers,
        recorder.clone(),
    ));
    for op in [Op::ListTickets, Op::LookupCustomer, Op::SearchKnowledge] {
        driver.offer(op, args.rate / 3.0, until);
    }
    for op in [Op::CreateTicket, Op::AddMessage] {
        driver.offer(op, args.writes / 2.0, until);
    }
    driver.ingest(articles()?, args.uploads_per_minute, until);

    let mut printed = 0;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(5)).await;
        recorder.sample(sample(&seeded.owner, serve_pid, worker_pid).await?);
        // Each minute's line once its calls have had 10 s to answer.
        let done = (start.elapsed().as_secs().saturating_sub(10) / 60) as usize;
        if done > printed {
            for row in &recorder.rows()[printed..done.min(minutes)] {
                eprintln!("{}", report::progress_line(row));
            }
            printed = done;
        }
    }
    // Let the last calls answer (the HTTP timeout bounds them), then see the queue drain.
    let _ = tokio::time::timeout(
        Duration::from_secs(40),
        driver.in_flight.acquire_many(load::MAX_IN_FLIGHT as u32),
    )
    .await;
    let drained = drain(&seeded.owner, Duration::from_secs(120)).await?;
    let end = sample(&seeded.owner, serve_pid, worker_pid).await?;
    serve.stop(Duration::from_secs(20)).await;
    worker.stop(Duration::from_secs(20)).await;
    if !args.keep {
        seed::drop_database(&args.database).await?;
    }

    let rows = recorder.rows();
    let setup = report::Setup {
        tenants: args.tenants,
        customers: args.customers,
        tickets: args.tickets,
        minutes: args.minutes,
        mcp_calls_per_second: args.rate,
        writes_per_second: args.writes,
        uploads_per_minute: args.uploads_per_minute,
        worker_concurrency: args.worker_concurrency,
        binary: launch.binary.display().to_string(),
    };
    let summary = report::summary(setup, rows, end, drained);
    std::fs::write(
        args.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    let table = report::table(&summary);
    if args.json {
        eprintln!("{table}");
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{table}");
    }
    Ok(())
}

/// The demo's help-centre articles: (file name, text).
fn articles() -> anyhow::Result<Vec<(String, String)>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/knowledge");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "md") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, std::fs::read_to_string(&path)?));
        }
    }
    out.sort();
    Ok(out)
}

/// Memory, queue and load now.
async fn sample(owner: &sqlx::PgPool, serve: u32, worker: u32) -> anyhow::Result<Sample> {
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM jobs GROUP BY status")
            .fetch_all(owner)
            .await?;
    let n = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    Ok(Sample {
        serve_kib: procs::rss_kib(serve).unwrap_or(0),
        worker_kib: procs::rss_kib(worker).unwrap_or(0),
        serve_cpu_s: procs::cpu_seconds(serve).unwrap_or(0.0),
        worker_cpu_s: procs::cpu_seconds(worker).unwrap_or(0.0),
        queued: n("queued"),
        running: n("running"),
        done: n("done"),
        dead: n("dead"),
        load: procs::load(),
    })
}

/// Seconds until no job is queued or running, at most `limit` (then `None`).
async fn drain(owner: &sqlx::PgPool, limit: Duration) -> anyhow::Result<Option<f64>> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let (left,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND run_at <= now()",
        )
        .fetch_one(owner)
        .await?;
        if left == 0 {
            return Ok(Some(started.elapsed().as_secs_f64()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(None)
}
