//! Stripe webhook benchmark (issue 18): events/s with p50/p99 of `POST /webhooks/stripe/{id}`
//! (verify the signature, store the event once, queue its job) at several concurrencies, then
//! the delay from an `invoice.payment_failed` event's POST to its ticket, with a worker running.
//! Not a test.
//!
//! It serves the HTTP server in-process on loopback against a scratch database `--db` on the
//! server of `.env` (created and migrated if needed; settings and SECRETS_KEY from the
//! environment or .env), and talks to nothing else: these events need no call to Stripe.
//!
//! ```sh
//! cargo run --release --example webhook_bench -- --db sa_bench_webhooks
//! ```

#[path = "support/bench_db.rs"]
mod bench_db;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use support_agent::auth::JwtAuth;
use support_agent::config::{JwtSettings, Secret, load_dotenv};
use support_agent::customers::{self, NewCustomer};
use support_agent::http::{HttpConfig, HttpServer};
use support_agent::stripe::webhooks::{self, handle::StripeEventHandler, signature};
use support_agent::stripe::{CustomerId, Stripe, StripeSettings};
use support_agent::tools::Ctx;
use support_agent::users::{self, NewUser};
use support_agent::worker::{Worker, WorkerOptions};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
struct Args {
    /// Scratch database on the server of DATABASE_OWNER_URL (created and migrated if needed).
    #[arg(long, default_value = "sa_bench_webhooks")]
    db: String,
    /// Seconds each concurrency runs, after half a second of warm-up.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Events sent one at a time for the event-to-ticket delay.
    #[arg(long, default_value_t = 50)]
    tickets: usize,
    #[command(flatten)]
    jwt: JwtSettings,
}

const SECRET: &str = "whsec_benchSecret0123456789abcdef";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    load_dotenv()?;
    let args = Args::parse();
    // Created and migrated by bench_db; then the service role with the default pool size
    // (DATABASE_MAX_CONNECTIONS, 10), as `serve` has.
    bench_db::bench_db(&args.db).await?;
    let app_url = std::env::var("DATABASE_URL")?;
    let (server_url, _) = app_url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL without a database"))?;
    let pool = support_agent::db::connect(
        "DATABASE_URL",
        &Secret::new(format!("{server_url}/{}", args.db)),
        10,
        None,
    )
    .await?;
    let db = support_agent::Db::new(pool);
    let key = std::env::var("SECRETS_KEY").map(Secret::new).ok();
    let key =
        key.ok_or_else(|| anyhow::anyhow!("SECRETS_KEY is not set (run scripts/setup.sh)"))?;
    let stripe = Arc::new(Stripe::from_settings(&StripeSettings::for_base(
        "http://127.0.0.1:9/",
        key,
    ))?);
    let ctx = Ctx::new(db.clone()).with_stripe(stripe.clone());
    let server = HttpServer::bind(
        "127.0.0.1:0".parse()?,
        HttpConfig::default(),
        ctx.clone(),
        JwtAuth::from_settings(&args.jwt)?,
    )
    .await?;
    let base = format!("http://{}", server.local_addr()?);
    tokio::spawn(server.run(std::future::pending()));

    let email = format!("bench-{}@acme.test", uuid::Uuid::new_v4().simple());
    let (tenant, _) = users::store::create(
        &db,
        &NewUser {
            name: "Webhook bench",
            email: &email,
            password: None,
        },
    )
    .await?;
    let set = webhooks::set_secret(&db, &stripe, &tenant, &Secret::new(SECRET), &base).await?;
    let url = set.endpoint_url;
    support_agent::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let run_id = uuid::Uuid::new_v4().simple().to_string();

    println!(
        "intake (verify + store + queue), {} s per row",
        args.seconds
    );
    println!("clients  events  events/s  p50 ms  p99 ms");
    for &clients in &args.concurrency {
        let deadline =
            Instant::now() + Duration::from_millis(500) + Duration::from_secs(args.seconds);
        let warm = Instant::now() + Duration::from_millis(500);
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (client, url, run_id) = (client.clone(), url.clone(), run_id.clone());
            tasks.push(tokio::spawn(async move {
                let mut ms = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let id = format!("evt_{run_id}_{clients}_{c}_{n}");
                    let body = serde_json::to_vec(&json!({
                        "id": id, "object": "event", "type": "customer.updated",
                        "created": chrono::Utc::now().timestamp(), "livemode": false,
                        "data": {"object": {"id": "cus_bench", "object": "customer"}},
                    }))
                    .unwrap_or_default();
                    let sig =
                        signature::header_value(&[SECRET], chrono::Utc::now().timestamp(), &body);
                    let started = Instant::now();
                    let ok = client
                        .post(&url)
                        .header("Stripe-Signature", sig)
                        .body(body)
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false);
                    if ok && started >= warm {
                        ms.push(started.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                ms
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await?);
        }
        all.sort_by(f64::total_cmp);
        println!(
            "{clients:>7}  {:>6}  {:>8.0}  {:>6.1}  {:>6.1}",
            all.len(),
            all.len() as f64 / args.seconds as f64,
            bench_db::percentile(&all, 50.0),
            bench_db::percentile(&all, 99.0)
        );
    }
    // The intake runs left their jobs queued: mark them done so that the delay run measures
    // fresh events only (they carry an unknown type, which the handler only acknowledges).
    let handler = StripeEventHandler::new(ctx.clone());
    let drain = Worker::new(
        db.clone(),
        handler,
        WorkerOptions {
            concurrency: 8,
            max_running_per_tenant: 8,
            worker_id: "bench-drain".into(),
            ..WorkerOptions::default()
        },
    );
    let started = Instant::now();
    let drained = drain.run_until_empty().await?;
    println!(
        "\nqueue drained: {} stripe_event jobs in {:.1} s ({:.0} jobs/s)",
        drained.done,
        started.elapsed().as_secs_f64(),
        drained.done as f64 / started.elapsed().as_secs_f64()
    );

    // Event to ticket: one customer per event, so that each opens a ticket.
    let mut customers = Vec::new();
    for n in 0..args.tickets {
        let mut tx = db.begin(&tenant).await?;
        let stripe_id = format!("cus_bench{run_id}{n}");
        let c = customers::store::create(
            &mut tx,
            &NewCustomer {
                name: "Bench Customer",
                email: &format!("c{n}-{run_id}@example.com"),
                phone: None,
                stripe_customer_id: Some(CustomerId::parse(&stripe_id)?),
            },
        )
        .await?;
        tx.commit().await?;
        customers.push((c.id, stripe_id));
    }
    let stop = CancellationToken::new();
    let worker = Worker::new(
        db.clone(),
        StripeEventHandler::new(ctx.clone()),
        WorkerOptions {
            worker_id: "bench-worker".into(),
            ..WorkerOptions::default()
        },
    );
    let running = {
        let stop = stop.clone();
        tokio::spawn(async move { worker.run(stop.cancelled_owned()).await })
    };
    let mut delays = Vec::new();
    for (n, (customer, stripe_id)) in customers.iter().enumerate() {
        let id = format!("evt_{run_id}_fail_{n}");
        let body = serde_json::to_vec(&json!({
            "id": id, "object": "event", "type": "invoice.payment_failed",
            "created": chrono::Utc::now().timestamp(), "livemode": false,
            "data": {"object": {"id": format!("in_bench{n}"), "object": "invoice",
                "customer": stripe_id, "number": format!("BENCH-{n:04}"), "currency": "usd",
                "amount_due": 2000, "attempt_count": 1, "next_payment_attempt": null}},
        }))?;
        let sig = signature::header_value(&[SECRET], chrono::Utc::now().timestamp(), &body);
        let started = Instant::now();
        let res = client
            .post(&url)
            .header("Stripe-Signature", sig)
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "event refused: {}", res.status());
        loop {
            let mut tx = db.begin(&tenant).await?;
            let filter = support_agent::tickets::TicketFilter {
                customer_id: Some(*customer),
                ..Default::default()
            };
            let found = support_agent::tickets::store::list(&mut tx, &filter, 1, None).await?;
            tx.commit().await?;
            if !found.items.is_empty() {
                delays.push(started.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "no ticket in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    stop.cancel();
    let _ = running.await;
    delays.sort_by(f64::total_cmp);
    println!(
        "\nevent to ticket (POST to the ticket's row, worker woken by NOTIFY), {} events: \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        delays.len(),
        bench_db::percentile(&delays, 50.0),
        bench_db::percentile(&delays, 99.0),
        delays.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
