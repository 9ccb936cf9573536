//! Load generator for the HTTP server: calls/s and p50/p99 latency of MCP's `lookup_customer`
//! and `list_tickets`, and of the REST API's `rest:list_tickets` (`GET /api/v1/tickets`) and
//! `rest:add_message` (`POST /api/v1/tickets/{id}/messages`), with 1, 8 and 64 concurrent
//! clients, each call for a random tenant with that tenant's own token. Not a test: see
//! BENCHMARKS-mcp.md and BENCHMARKS-api.md for how it is run.
//!
//! Needs the tenants written by `scripts/bench-seed.sh` and the JWT settings the server uses
//! (from the environment or .env). Bounded in time and count, and it only talks to `--url`
//! (loopback by default).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::{Rng, SeedableRng};
use serde_json::json;
use support_agent::auth::JwtAuth;
use support_agent::config::{JwtSettings, load_dotenv};
use uuid::Uuid;

#[derive(Debug, Parser)]
struct Args {
    /// The server's MCP endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8080/mcp")]
    url: String,
    /// One tenant id per line (scripts/bench-seed.sh writes it).
    #[arg(long, default_value = "target/bench-tenants.txt")]
    tenants: String,
    /// Customers per tenant in the seed (their emails are c1..cN@example.com).
    #[arg(long, default_value_t = 50)]
    customers: u32,
    /// Seconds each (tool, concurrency) run lasts, after one second of warm-up.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    concurrency: Vec<usize>,
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "lookup_customer,list_tickets"
    )]
    tools: Vec<String>,
    /// Offer this many calls/s in total, spread evenly over the clients, each sending on a fixed
    /// schedule with latency measured from the scheduled send time (so a slow reply is not
    /// hidden), instead of each client calling again as soon as its reply arrives.
    #[arg(long)]
    rate: Option<f64>,
    /// The protocol revision the MCP calls speak: `2025-11-25` (the `MCP-Protocol-Version`
    /// header only) or `2026-07-28` (also the `_meta` protocol version and capabilities, and the
    /// `Mcp-Method` / `Mcp-Name` headers).
    #[arg(long, default_value = "2025-11-25")]
    protocol: String,
    /// search_knowledge: draw each query from this many fixed ones (0: every query new).
    #[arg(long, default_value_t = 0)]
    query_pool: u64,
    #[command(flatten)]
    jwt: JwtSettings,
}

/// `--query-pool`, for `arguments`.
static QUERY_POOL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

fn arguments(tool: &str, customers: u32, rng: &mut impl Rng) -> serde_json::Value {
    match tool {
        // A question with three of kb_scale's synthetic words (w0..w1999), so that the
        // full-text ranking has matches to rank on its database.
        "search_knowledge" => {
            // With --query-pool N, one of N fixed questions (repeated queries); else a new one.
            let mut pick = match QUERY_POOL.get().copied().unwrap_or(0) {
                0 => rand::rngs::StdRng::from_rng(rng),
                n => rand::rngs::StdRng::seed_from_u64(rng.random_range(0..n)),
            };
            let mut w = || pick.random_range(0..2000);
            let query = format!("where is w{} w{} w{}", w(), w(), w());
            json!({"query": query, "limit": 5})
        }
        "lookup_customer" => {
            json!({"email": format!("c{}@example.com", rng.random_range(1..=customers))})
        }
        _ => {
            let status = ["open", "pending", "solved", "closed"][rng.random_range(0..4)];
            json!({"status": status, "limit": 20})
        }
    }
}

/// One client's schedule: when its runs starts and ends, and (open loop) its interval.
#[derive(Clone, Copy)]
struct Plan {
    warm_until: Instant,
    until: Instant,
    interval: Option<Duration>,
}

/// Every tenant's token and one of its tickets, by index.
struct Tenants {
    tokens: Vec<String>,
    tickets: Vec<Option<Uuid>>,
}

/// The server's base URL: `--url` without its `/mcp`.
fn base(url: &str) -> &str {
    url.trim_end_matches('/').trim_end_matches("/mcp")
}

/// One REST call; true when it succeeded.
async fn rest(
    http: &reqwest::Client,
    url: &str,
    tool: &str,
    token: &str,
    ticket: Option<Uuid>,
    rng_status: &str,
) -> bool {
    let res = match tool {
        "rest:list_tickets" => {
            http.get(format!(
                "{}/api/v1/tickets?status={rng_status}&limit=20",
                base(url)
            ))
            .bearer_auth(token)
            .send()
            .await
        }
        "rest:add_message" => {
            let Some(ticket) = ticket else { return false };
            http.post(format!("{}/api/v1/tickets/{ticket}/messages", base(url)))
                .bearer_auth(token)
                .json(&json!({"sender_type": "agent", "content": "We are looking into it."}))
                .send()
                .await
        }
        _ => return false,
    };
    match res {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        _ => false,
    }
}

/// One client: calls `tool` until `until`, returning its latencies in microseconds.
async fn client(
    http: reqwest::Client,
    url: Arc<str>,
    tenants: Arc<Tenants>,
    tool: Arc<str>,
    customers: u32,
    plan: Plan,
    protocol: Arc<str>,
) -> (Vec<u32>, u64) {
    let Plan {
        warm_until,
        until,
        interval,
    } = plan;
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut id = 0u64;
    let mut next = Instant::now() + interval.map_or(Duration::ZERO, |i| i.mul_f64(rand::random()));
    while Instant::now() < until {
        if interval.is_some() {
            tokio::time::sleep_until(next.into()).await;
        }
        let (token, ticket, status, body) = {
            let mut rng = rand::rng();
            let i = rng.random_range(0..tenants.tokens.len());
            id += 1;
            let mut params =
                json!({"name": &*tool, "arguments": arguments(&tool, customers, &mut rng)});
            if &*protocol >= "2026-07-28" {
                params["_meta"] = json!({
                    "io.modelcontextprotocol/protocolVersion": &*protocol,
                    "io.modelcontextprotocol/clientInfo": {"name": "mcp_bench", "version": "1"},
                    "io.modelcontextprotocol/clientCapabilities": {},
                });
            }
            let status = ["open", "pending", "solved", "closed"][rng.random_range(0..4)];
            (
                tenants.tokens[i].clone(),
                tenants.tickets[i],
                status,
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}),
            )
        };
        let started = if interval.is_some() {
            next
        } else {
            Instant::now()
        };
        if let Some(interval) = interval {
            next += interval;
        }
        let ok = if tool.starts_with("rest:") {
            rest(&http, &url, &tool, &token, ticket, status).await
        } else {
            let mut req = http
                .post(&*url)
                .bearer_auth(token)
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", &*protocol);
            if &*protocol >= "2026-07-28" {
                req = req
                    .header("Mcp-Method", "tools/call")
                    .header("Mcp-Name", &*tool);
            }
            let res = req.json(&body).send().await;
            match res {
                Ok(r) if r.status().is_success() => r
                    .json::<serde_json::Value>()
                    .await
                    .is_ok_and(|v| v["result"]["isError"] == json!(false)),
                _ => false,
            }
        };
        if started >= warm_until {
            if ok {
                latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
            } else {
                errors += 1;
            }
        }
    }
    (latencies, errors)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> anyhow::Result<()> {
    load_dotenv()?;
    // reqwest needs a rustls provider for any client, plain HTTP included.
    support_agent::tls::install_crypto_provider();
    let args = Args::parse();
    let _ = QUERY_POOL.set(args.query_pool);
    let auth = JwtAuth::from_settings(&args.jwt)?;
    let ids = std::fs::read_to_string(&args.tenants)?;
    let tokens: Vec<String> = ids
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            Ok(auth
                .issue(Uuid::parse_str(l.trim())?, Duration::from_secs(3600), None)?
                .token)
        })
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!tokens.is_empty(), "no tenants in {}", args.tenants);
    let mut tickets = Vec::with_capacity(tokens.len());
    if args.tools.iter().any(|t| t == "rest:add_message") {
        // One ticket of each tenant to write messages on.
        let http = reqwest::Client::new();
        for token in &tokens {
            let page: serde_json::Value = http
                .get(format!("{}/api/v1/tickets?limit=1", base(&args.url)))
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            tickets.push(
                page["items"][0]["id"]
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok()),
            );
        }
    } else {
        tickets.resize(tokens.len(), None);
    }
    let tenants = Arc::new(Tenants { tokens, tickets });
    let url: Arc<str> = args.url.clone().into();
    let protocol: Arc<str> = args.protocol.clone().into();
    let load = args
        .rate
        .map_or("closed loop".to_owned(), |r| format!("{r} calls/s offered"));
    println!(
        "{} tenants, {} s per run, {load}, {}",
        tenants.tokens.len(),
        args.seconds,
        args.url
    );
    println!("| tool | clients | calls/s | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for tool in &args.tools {
        for &n in &args.concurrency {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(n)
                .build()?;
            let warm_until = Instant::now() + Duration::from_secs(1);
            let until = warm_until + Duration::from_secs(args.seconds);
            let tool: Arc<str> = tool.as_str().into();
            let interval = args.rate.map(|r| Duration::from_secs_f64(n as f64 / r));
            let plan = Plan {
                warm_until,
                until,
                interval,
            };
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let c = client(
                        http.clone(),
                        url.clone(),
                        tenants.clone(),
                        tool.clone(),
                        args.customers,
                        plan,
                        protocol.clone(),
                    );
                    tokio::spawn(c)
                })
                .collect();
            let (mut all, mut errors) = (Vec::new(), 0);
            for t in tasks {
                let (lat, err) = t.await?;
                all.extend(lat);
                errors += err;
            }
            all.sort_unstable();
            let rate = all.len() as f64 / args.seconds as f64;
            println!(
                "| {tool} | {n} | {rate:.0} | {:.2} | {:.2} | {errors} |",
                percentile(&all, 0.50),
                percentile(&all, 0.99)
            );
        }
    }
    Ok(())
}
