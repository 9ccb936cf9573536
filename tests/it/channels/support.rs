//! A desk with channels, a loopback SMTP server (aiosmtpd from PyPI, pinned in
//! scripts/aiosmtpd-venv.sh) that writes each message it accepts to a folder, and the worker.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support_agent::channels::delivery::DeliveryHandler;
use support_agent::channels::{Channels, EmailSettings};
use support_agent::config::Secret;
use support_agent::stripe::Vault;
use support_agent::tools::Ctx;
use support_agent::worker::{Worker, WorkerOptions};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::accounts::support::{Api, access};
use crate::common::TestDb;
use crate::mcp::support::Server;
use crate::stripe::MASTER_KEY;

pub const SMTP_USER: &str = "desk@acme.test";
pub const SMTP_PASSWORD: &str = "smtp-pass-Zq81!";
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The channels of a test server: the test master key, private hosts allowed or not.
pub fn channels(allow_private: bool) -> Channels {
    let vault = Vault::new(Some(&Secret::new(MASTER_KEY)), None).expect("vault");
    Channels::new(
        Some(Arc::new(vault)),
        EmailSettings {
            email_allow_private_hosts: allow_private,
            ..EmailSettings::default()
        },
    )
    .expect("channels")
}

/// A registered tenant on a server with channels.
pub struct Desk {
    pub api: Api,
    /// A full-scope access token.
    pub token: String,
    pub user_id: String,
}

impl Desk {
    pub async fn start(t: &TestDb, allow_private: bool) -> Self {
        let ctx = Ctx::new(t.db.clone()).with_channels(channels(allow_private));
        let api = Api {
            server: Server::spawn_configured(ctx, |_| {}).await,
        };
        Self::register(api, "owner@acme.test").await
    }

    /// Another tenant on the same server.
    pub async fn other(&self, email: &str) -> Self {
        Self::register(self.api.api_clone().await, email).await
    }

    async fn register(api: Api, email: &str) -> Self {
        let tokens = api.register(email).await;
        Self {
            token: access(&tokens),
            user_id: tokens["user"]["id"].as_str().expect("user id").to_owned(),
            api,
        }
    }

    /// An API key of `scope`.
    pub async fn api_key(&self, scope: &str) -> String {
        let a = self
            .api
            .post(
                "/api-keys",
                Some(&self.token),
                json!({"name": "site", "scope": scope}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.body["key"].as_str().expect("key").to_owned()
    }

    /// A new signing secret: (key_id, secret).
    pub async fn signing_secret(&self) -> (String, String) {
        let a = self
            .api
            .send(
                reqwest::Method::POST,
                "/channels/webhook/secret",
                Some(&self.token),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        (
            a.body["key_id"].as_str().expect("key_id").to_owned(),
            a.body["secret"].as_str().expect("secret").to_owned(),
        )
    }

    /// A raw POST with these headers and this exact body: (status, body).
    pub async fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let mut req = self
            .api
            .server
            .client
            .post(self.api.server.at(&format!("/api/v1{path}")))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sets the email channel to the loopback server on `port`.
    pub async fn set_channel(&self, port: u16) -> (StatusCode, Value) {
        let a = self
            .api
            .send(
                reqwest::Method::PUT,
                "/channels/email",
                Some(&self.token),
                Some(json!({
                    "address": "support@acme.test",
                    "smtp_url": format!("smtp://127.0.0.1:{port}"),
                    "username": SMTP_USER,
                    "password": SMTP_PASSWORD,
                })),
            )
            .await;
        (a.status, a.body)
    }
}

/// The current unix time.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The loopback SMTP server.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    /// Killed when the sink is dropped.
    _child: tokio::process::Child,
}

fn python() -> PathBuf {
    let out = std::process::Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/aiosmtpd-venv.sh"))
        .output()
        .expect("run scripts/aiosmtpd-venv.sh");
    assert!(
        out.status.success(),
        "installing aiosmtpd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

impl SmtpSink {
    pub async fn start() -> Self {
        let python = tokio::task::spawn_blocking(python).await.expect("join");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut child = tokio::process::Command::new(python)
            .arg(Path::new(ROOT).join("tests/smtp_sink/sink.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .arg(SMTP_USER)
            .arg(SMTP_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the SMTP server starts")
        .expect("read");
        assert_eq!(line.trim(), "ready");
        Self {
            port,
            dir,
            _child: child,
        }
    }

    /// Every message accepted so far, oldest first, as raw text.
    pub fn mails(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("mail"))
            .collect()
    }

    /// `ok`, `tempfail`, `reject` or `stall` (see tests/smtp_sink/sink.py).
    pub fn set_mode(&self, mode: &str) {
        std::fs::write(self.dir.path().join("mode"), mode).expect("mode");
    }
}

/// A header's value in a raw mail (unfolded).
pub fn header(mail: &str, name: &str) -> Option<String> {
    let head = mail.split("\r\n\r\n").next().unwrap_or(mail);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// The delivery worker of `t`, with the test channels.
pub fn delivery_worker(t: &TestDb, id: &str) -> Worker<DeliveryHandler> {
    Worker::new(
        t.db.clone(),
        DeliveryHandler::new(t.db.clone(), channels(true)),
        WorkerOptions {
            worker_id: id.into(),
            lease: Duration::from_secs(60),
            ..WorkerOptions::default()
        },
    )
}
