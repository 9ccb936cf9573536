//! Intake and delivery benchmark: requests/s with p50/p99 of `POST /api/v1/intake/tickets` by
//! API key and by signature, at several concurrencies, then sends/s of the delivery worker to a
//! loopback SMTP server (aiosmtpd, as in the tests). Not a test.
//!
//! It serves the REST API in-process on loopback against `--database-url` (a service-role URL of
//! a migrated database it may fill; settings and SECRETS_KEY from the environment or .env), and
//! talks to nothing else.
//!
//! ```sh
//! cargo run --release --example intake_bench -- --database-url postgres://…/sa_bench
//! ```

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};
use support_agent::auth::JwtAuth;
use support_agent::channels::delivery::DeliveryHandler;
use support_agent::channels::signature::header_value;
use support_agent::channels::{Channels, EmailSettings};
use support_agent::config::{JwtSettings, Secret, load_dotenv};
use support_agent::http::{HttpConfig, HttpServer};
use support_agent::limits::LimitSettings;
use support_agent::stripe::Vault;
use support_agent::tools::Ctx;
use support_agent::worker::{Worker, WorkerOptions};
use support_agent::{Db, db};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Parser)]
struct Args {
    /// Service-role URL of a migrated database the benchmark may write to.
    #[arg(long)]
    database_url: String,
    /// Seconds each (path, concurrency) run lasts, after half a second of warm-up.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Replies delivered in the send run.
    #[arg(long, default_value_t = 200)]
    sends: usize,
    /// Jobs the delivery worker runs at once.
    #[arg(long, default_value_t = 8)]
    worker_concurrency: usize,
    #[command(flatten)]
    jwt: JwtSettings,
}

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    load_dotenv()?;
    let args = Args::parse();
    let pool = db::connect(
        "DATABASE_URL",
        &Secret::new(args.database_url.clone()),
        40,
        None,
    )
    .await?;
    let db = Db::new(pool);
    let key = std::env::var("SECRETS_KEY").map(Secret::new).ok();
    let vault = Arc::new(Vault::new(key.as_ref(), None)?);
    let email = EmailSettings {
        email_allow_private_hosts: true,
        ..EmailSettings::default()
    };
    let channels = Channels::new(Some(vault), email)?;
    let limits = LimitSettings {
        tenant_requests_per_minute: 100_000_000,
        ..LimitSettings::default()
    };
    let ctx = Ctx::new(db.clone())
        .with_limits(limits)
        .with_channels(channels.clone());
    let server = HttpServer::bind(
        "127.0.0.1:0".parse()?,
        HttpConfig::default(),
        ctx,
        JwtAuth::from_settings(&args.jwt)?,
    )
    .await?;
    let base = format!("http://{}/api/v1", server.local_addr()?);
    tokio::spawn(server.run(std::future::pending()));
    support_agent::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let email = format!("bench-{}@acme.test", uuid::Uuid::new_v4().simple());
    let reg: Value = client
        .post(format!("{base}/auth/register"))
        .json(&json!({"name": "Bench", "email": email, "password": "correct horse battery staple"}))
        .send()
        .await?
        .json()
        .await?;
    let token = reg["access_token"].as_str().unwrap_or_default().to_owned();
    let key: Value = client
        .post(format!("{base}/api-keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "bench", "scope": "intake"}))
        .send()
        .await?
        .json()
        .await?;
    let api_key = key["key"].as_str().unwrap_or_default().to_owned();
    let secret: Value = client
        .post(format!("{base}/channels/webhook/secret"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let key_id = secret["key_id"].as_str().unwrap_or_default().to_owned();
    let secret = secret["secret"].as_str().unwrap_or_default().to_owned();

    println!("path       clients  requests  req/s    p50 ms  p99 ms");
    for signed in [false, true] {
        for &c in &args.concurrency {
            let run = Load {
                client: client.clone(),
                url: format!("{base}/intake/tickets"),
                api_key: api_key.clone(),
                key_id: key_id.clone(),
                secret: secret.clone(),
                signed,
            };
            let (n, secs, p50, p99) = run.run(c, Duration::from_secs(args.seconds)).await;
            let label = if signed { "signature" } else { "api key" };
            println!(
                "{label:<10} {c:>7}  {n:>8}  {:>7.0}  {p50:>6.2}  {p99:>6.2}",
                n as f64 / secs
            );
        }
    }

    // Sends: a loopback SMTP server, the channel, replies queued, the worker timed.
    let python = std::process::Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/aiosmtpd-venv.sh"))
        .output()?;
    let python = String::from_utf8_lossy(&python.stdout).trim().to_owned();
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut sink = tokio::process::Command::new(python)
        .arg(Path::new(ROOT).join("tests/smtp_sink/sink.py"))
        .args([
            &port.to_string(),
            &dir.path().display().to_string(),
            "u",
            "p",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut line = String::new();
    BufReader::new(
        sink.stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("stdout"))?,
    )
    .read_line(&mut line)
    .await?;
    client
        .put(format!("{base}/channels/email"))
        .bearer_auth(&token)
        .json(
            &json!({"address": "support@acme.test", "smtp_url": format!("smtp://127.0.0.1:{port}"),
                      "username": "u", "password": "p"}),
        )
        .send()
        .await?
        .error_for_status()?;
    let t: Value = client
        .post(format!("{base}/intake/tickets"))
        .bearer_auth(&api_key)
        .json(&json!({"from": {"email": "ann@example.com"}, "subject": "Sends", "text": "x"}))
        .send()
        .await?
        .json()
        .await?;
    let ticket = t["ticket"]["id"].as_str().unwrap_or_default().to_owned();
    for i in 0..args.sends {
        client
            .post(format!("{base}/tickets/{ticket}/messages"))
            .bearer_auth(&token)
            .json(&json!({"sender_type": "agent", "content": format!("Reply {i}"), "send": true}))
            .send()
            .await?
            .error_for_status()?;
    }
    let worker = Worker::new(
        db.clone(),
        DeliveryHandler::new(db.clone(), channels),
        WorkerOptions {
            concurrency: args.worker_concurrency,
            max_running_per_tenant: u32::try_from(args.worker_concurrency).unwrap_or(8),
            ..WorkerOptions::default()
        },
    );
    let start = Instant::now();
    let summary = worker.run_until_empty().await?;
    let secs = start.elapsed().as_secs_f64();
    let received = std::fs::read_dir(dir.path())?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
        })
        .count();
    println!(
        "sends: {} delivered ({received} received) in {secs:.2} s = {:.0} sends/s (worker concurrency {})",
        summary.done,
        summary.done as f64 / secs,
        args.worker_concurrency
    );
    Ok(())
}

#[derive(Clone)]
struct Load {
    client: reqwest::Client,
    url: String,
    api_key: String,
    key_id: String,
    secret: String,
    signed: bool,
}

impl Load {
    async fn one(&self, i: u64) -> Duration {
        let body = format!(
            r#"{{"from":{{"email":"c{}@example.com"}},"subject":"Bench {i}","text":"Where is my order?"}}"#,
            i % 500
        );
        let mut req = self
            .client
            .post(&self.url)
            .header("content-type", "application/json");
        req = if self.signed {
            let t = chrono::Utc::now().timestamp();
            req.header(
                "x-support-signature",
                header_value(&self.key_id, &self.secret, t, body.as_bytes()),
            )
        } else {
            req.bearer_auth(&self.api_key)
        };
        let start = Instant::now();
        let res = req.body(body).send().await;
        let took = start.elapsed();
        match res {
            Ok(r) if r.status() == 201 => took,
            Ok(r) => panic!("status {}", r.status()),
            Err(e) => panic!("{e}"),
        }
    }

    /// (requests, seconds, p50 ms, p99 ms) with `clients` at once for `length`.
    async fn run(&self, clients: usize, length: Duration) -> (usize, f64, f64, f64) {
        let warm = Instant::now() + Duration::from_millis(500);
        let end = warm + length;
        let mut set = tokio::task::JoinSet::new();
        for c in 0..clients {
            let me = self.clone();
            set.spawn(async move {
                let mut lat = Vec::new();
                let mut i = (c as u64) << 32;
                while Instant::now() < end {
                    let d = me.one(i).await;
                    i += 1;
                    if Instant::now() > warm {
                        lat.push(d);
                    }
                }
                lat
            });
        }
        let mut all: Vec<Duration> = set.join_all().await.into_iter().flatten().collect();
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        (all.len(), length.as_secs_f64(), pct(0.5), pct(0.99))
    }
}
