//! The operator CLI end to end, as a subprocess against the test's own database.

mod bad_input;
mod flow;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::TestDb;

pub const JWT_SECRET: &str = "cli-test-secret-0123456789abcdef0123456789";

/// What a run printed and how it ended.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        assert!(self.ok, "command failed: {}", self.stderr);
        let lines: Vec<_> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "exactly one JSON object on stdout: {}",
            self.stdout
        );
        serde_json::from_str(lines[0]).expect("stdout is JSON")
    }

    /// Asserts a failure with one clear line on stderr containing `needle`.
    pub fn fails_with(&self, needle: &str) {
        assert!(!self.ok, "expected failure, got: {}", self.stdout);
        let first = self
            .stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        assert!(
            first.contains(needle),
            "stderr {:?} lacks {needle:?}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "{}",
            self.stderr
        );
        let leaked_url = self
            .stderr
            .split_whitespace()
            .any(|w| w.contains("://") && w.contains('@'));
        assert!(
            !leaked_url,
            "a URL with credentials leaked: {}",
            self.stderr
        );
    }
}

/// Runs `support-agent args…` in an empty directory (so no stray .env) with the test's settings.
pub fn run_in(t: Option<&TestDb>, args: &[&str], stdin: Option<&str>) -> Run {
    run_env(t, args, stdin, &[])
}

/// [`run_in`] with extra environment variables.
pub fn run_env(
    t: Option<&TestDb>,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_support-agent"));
    cmd.args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("JWT_SECRET", JWT_SECRET)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = t {
        cmd.env("DATABASE_URL", &t.app_url)
            .env("DATABASE_OWNER_URL", &t.owner_url);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().expect("spawn support-agent");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn run(t: &TestDb, args: &[&str]) -> Run {
    run_in(Some(t), args, None)
}

/// [`run`] from a test whose own runtime serves HTTP: the runtime's other threads go on serving
/// (and flushing the audit) while the command runs, as a live server does beside an operator.
/// Without it a current-thread test runtime stands still, and a command that waits for a lock the
/// server holds — the audit's insert holds a key-share lock on the user's row — waits forever.
/// Needs `#[tokio::test(flavor = "multi_thread")]`.
pub fn run_beside_server(t: &TestDb, args: &[&str]) -> Run {
    tokio::task::block_in_place(|| run(t, args))
}

/// Creates a tenant through the CLI and returns its id.
pub fn create_user(t: &TestDb, email: &str) -> String {
    let v = run(
        t,
        &[
            "users",
            "create",
            "--name",
            "Acme Support",
            "--email",
            email,
            "--json",
        ],
    )
    .json();
    v["id"].as_str().expect("id").to_owned()
}
