//! Inbox benchmark: how long the pages take with a tenant of `--tickets` tickets, each with an
//! ai draft (a third approved unchanged, a third approved after an edit, the rest waiting), and
//! how long the outcome figures take to compute. Sequential requests through a signed-in page
//! session, p50/p99 over `--requests` each. Not a test.
//!
//! It serves the pages in-process on loopback against `--database-url` (a service-role URL of a
//! migrated database it may fill; JWT settings from the environment or .env).
//!
//! ```sh
//! cargo run --release --example inbox_pages_bench -- --database-url postgres://…/sa_bench
//! ```

use std::time::Instant;

use clap::Parser;
use support_agent::auth::JwtAuth;
use support_agent::config::{JwtSettings, Secret, load_dotenv};
use support_agent::customers::{self, NewCustomer};
use support_agent::http::{HttpConfig, HttpServer};
use support_agent::limits::LimitSettings;
use support_agent::messages::{self, Decision};
use support_agent::tickets::{self, NewTicket};
use support_agent::tools::Ctx;
use support_agent::users::{self, NewUser};
use support_agent::{Db, db, desk, stats};

#[derive(Debug, Parser)]
struct Args {
    /// Service-role URL of a migrated database the benchmark may write to.
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 5_000)]
    tickets: usize,
    /// Requests per page.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    #[command(flatten)]
    jwt: JwtSettings,
}

const PASSWORD: &str = "correct horse battery staple";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    load_dotenv()?;
    support_agent::tls::install_crypto_provider();
    let args = Args::parse();
    let pool = db::connect(
        "DATABASE_URL",
        &Secret::new(args.database_url.clone()),
        10,
        None,
    )
    .await?;
    let db = Db::new(pool);
    let email = format!("inbox-bench-{}@acme.test", uuid::Uuid::new_v4().simple());
    let password = Secret::new(PASSWORD);
    let (tenant, _) = users::store::create(
        &db,
        &NewUser {
            name: "Inbox bench",
            email: &email,
            password: Some(&password),
        },
    )
    .await?;
    let seeded = Instant::now();
    let mut first = None;
    for batch in 0..args.tickets.div_ceil(500) {
        let mut tx = db.begin(&tenant).await?;
        let c = customers::store::create(
            &mut tx,
            &NewCustomer {
                name: "Maya Lopez",
                email: &format!("maya{batch}@example.com"),
                ..Default::default()
            },
        )
        .await?;
        let mut made = Vec::new();
        for i in 0..500.min(args.tickets - batch * 500) {
            let t = tickets::store::create(
                &mut tx,
                &NewTicket {
                    customer_id: c.id,
                    subject: &format!("Charged twice, order {batch}-{i}"),
                    description: Some("Two charges for one order."),
                    priority: None,
                },
            )
            .await?;
            let d = messages::store::add_draft(
                &mut tx,
                t.id,
                t.id,
                "Hello Maya, we refunded the second charge: 5 to 10 business days.",
                &serde_json::json!([]),
            )
            .await?;
            if let Some(d) = d {
                made.push((t.id, d.id, i % 3));
            }
        }
        tx.commit().await?;
        for (ticket, draft, kind) in made {
            first.get_or_insert(ticket);
            let edit = (kind == 1).then_some("Hello Maya, we refunded it today.");
            if kind < 2 {
                desk::decide_draft(
                    &db,
                    &tenant,
                    ticket,
                    draft,
                    Decision::Approve,
                    edit,
                    "operator",
                )
                .await?;
            }
        }
    }
    println!(
        "seeded {} tickets with drafts in {:.1} s",
        args.tickets,
        seeded.elapsed().as_secs_f64()
    );

    let limits = LimitSettings {
        tenant_requests_per_minute: 100_000_000,
        ..LimitSettings::default()
    };
    let ctx = Ctx::new(db.clone()).with_limits(limits);
    let server = HttpServer::bind(
        "127.0.0.1:0".parse()?,
        HttpConfig::default(),
        ctx,
        JwtAuth::from_settings(&args.jwt)?,
    )
    .await?;
    let base = format!("http://{}", server.local_addr()?);
    tokio::spawn(server.run(std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = client.get(format!("{base}/login")).send().await?;
    let csrf = cookie(&login, "sa_csrf");
    let signed_in = client
        .post(format!("{base}/login"))
        .header("cookie", format!("sa_csrf={csrf}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("csrf", &csrf)
                .append_pair("email", &email)
                .append_pair("password", PASSWORD)
                .finish(),
        )
        .send()
        .await?;
    let session = cookie(&signed_in, "sa_session");
    let cookies = format!("sa_session={session}; sa_csrf={csrf}");
    let ticket = first.map(|t| t.to_string()).unwrap_or_default();

    println!("| page | p50 ms | p99 ms | bytes |");
    println!("|---|---|---|---|");
    for path in [
        "/tickets".to_owned(),
        "/tickets?needs_human=no&status=open".to_owned(),
        format!("/tickets/{ticket}"),
        "/outcomes?days=30".to_owned(),
        "/outcomes?days=365".to_owned(),
    ] {
        let mut times = Vec::with_capacity(args.requests);
        let mut bytes = 0;
        for _ in 0..args.requests {
            let started = Instant::now();
            let r = client
                .get(format!("{base}{path}"))
                .header("cookie", &cookies)
                .send()
                .await?;
            anyhow::ensure!(r.status().is_success(), "{path}: {}", r.status());
            bytes = r.bytes().await?.len();
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        println!("| `{path}` | {:.2} | {:.2} | {bytes} |", at(0.5), at(0.99));
    }
    let started = Instant::now();
    let mut tx = db.begin(&tenant).await?;
    let o = stats::outcomes::compute(&mut tx, 30).await?;
    tx.commit().await?;
    println!(
        "outcomes::compute over {} drafts: {:.1} ms",
        o.all.drafts.written,
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

fn cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned()
}
