//! Inbox benchmark: mails/s read from a mailbox of `--mails` messages (5,000 by default) into
//! tickets — IMAP fetch, parse and store, one transaction per mail; triage excluded (its jobs are
//! queued, not run). Also the parse alone, to show where the time goes. Not a test.
//!
//! It runs dovecot on loopback as the tests do (tests/it/channels/imap_server.rs; needs
//! `dovecot-imapd` and `openssl`, see scripts/test-tools.sh), fills one maildir, and files it
//! into a new tenant of `--database-url` (a service-role URL of a migrated database it may fill;
//! SECRETS_KEY from the environment or .env).
//!
//! ```sh
//! cargo run --release --example inbox_bench -- --database-url postgres://…/sa_bench
//! ```

#[path = "../tests/it/channels/imap_server.rs"]
#[allow(dead_code)]
mod imap_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use support_agent::channels::email::{self, NewChannel};
use support_agent::channels::inbox::{Inbox, parse};
use support_agent::channels::{Channels, EmailSettings};
use support_agent::config::{Secret, load_dotenv};
use support_agent::stripe::Vault;
use support_agent::users::{self, NewUser};
use support_agent::{Db, db};

#[derive(Debug, Parser)]
struct Args {
    /// Service-role URL of a migrated database the benchmark may write to.
    #[arg(long)]
    database_url: String,
    /// Mails in the mailbox.
    #[arg(long, default_value_t = 5000)]
    mails: usize,
}

/// A customer's mail: every tenth a reply to an earlier one, every fifth with HTML and an
/// attachment, all with quoted history to cut.
fn mail(i: usize) -> Vec<u8> {
    let from = format!("customer{}@example.com", i % 700);
    let reply = if i % 10 == 9 {
        format!("In-Reply-To: <bench.{}@mail.example.com>\r\n", i - 1)
    } else {
        String::new()
    };
    let body = if i.is_multiple_of(5) {
        format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n<p>Order <b>{i}</b> has not arrived.</p>\
             <blockquote>old</blockquote>\r\n--b{i}\r\nContent-Type: application/pdf; name=r{i}.pdf\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b{i}--\r\n",
            "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoK".repeat(40)
        )
    } else {
        format!(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
             Hello, my order {i} has not arrived yet. Could you check? Gr=C3=BC=C3=9Fe\r\n\r\n\
             On Mon, 1 Dec 2026, Support <support@bench.test> wrote:\r\n> Thanks for your order.\r\n"
        )
    };
    format!(
        "From: Customer {i} <{from}>\r\nTo: support@bench.test\r\nSubject: Order {i}\r\n\
         Message-ID: <bench.{i}@mail.example.com>\r\n{reply}Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n{body}"
    )
    .into_bytes()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    load_dotenv()?;
    let args = Args::parse();
    let pool = db::connect(
        "DATABASE_URL",
        &Secret::new(args.database_url.clone()),
        10,
        None,
    )
    .await?;
    let db = Db::new(pool);
    let login = ("bench", "bench-pass-1!");
    let server = imap_server::ImapServer::start(&[login]).await;
    let raws: Vec<Vec<u8>> = (0..args.mails).map(mail).collect();
    for raw in &raws {
        server.deliver(login.0, raw);
    }
    let started = Instant::now();
    let mut n = 0;
    for raw in &raws {
        n += parse::parse(raw).text.len();
    }
    let parse_secs = started.elapsed().as_secs_f64();
    std::hint::black_box(n);

    let key = std::env::var("SECRETS_KEY").map(Secret::new).ok();
    let vault = Arc::new(Vault::new(key.as_ref(), None)?);
    let channels = Channels::new(
        Some(vault),
        EmailSettings {
            email_allow_private_hosts: true,
            email_ca_file: Some(server.ca_file()),
            email_poll_interval: Duration::from_secs(60),
            ..EmailSettings::default()
        },
    )?;
    let email = format!("bench-{}@bench.test", uuid::Uuid::new_v4().simple());
    let (tenant, _) = users::store::create(
        &db,
        &NewUser {
            name: "Bench",
            email: &email,
            password: None,
        },
    )
    .await?;
    email::set(
        &db,
        &channels,
        &tenant,
        &NewChannel {
            address: "support@bench.test".into(),
            smtp_url: "smtp://127.0.0.1:2525".into(),
            imap_url: Some(server.url()),
            username: login.0.into(),
            password: Secret::new(login.1),
        },
    )
    .await?;
    let inbox = Inbox::new(db.clone(), channels, "bench");
    let started = Instant::now();
    let pass = inbox
        .poll_once(&tenant)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no mailbox"))?;
    let secs = started.elapsed().as_secs_f64();
    println!("mails      {}", args.mails);
    println!(
        "stored     {} ({} duplicates, {} skipped)",
        pass.stored, pass.duplicates, pass.skipped
    );
    println!(
        "read+store {secs:.2} s  {:.0} mails/s  (IMAP fetch, parse, one transaction per mail)",
        pass.stored as f64 / secs
    );
    println!(
        "parse only {parse_secs:.2} s  {:.0} mails/s",
        args.mails as f64 / parse_secs
    );
    Ok(())
}
