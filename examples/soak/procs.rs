//! The system under test as real child processes of the built binary: `support-agent serve
//! --http` and `support-agent worker`, their logs kept in files (warnings and errors also
//! counted), their resident memory read from /proc.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use super::record::Recorder;

/// A running child.
pub struct Proc {
    name: &'static str,
    child: Child,
    pub pid: u32,
}

/// How every child is started: the binary, its environment, where logs go.
pub struct Launch {
    pub binary: PathBuf,
    /// The scratch database's service-role and owner URLs.
    pub database_url: String,
    pub owner_url: String,
    pub logs: PathBuf,
    pub recorder: Arc<Recorder>,
}

impl Launch {
    /// `binary args…`, offline (no LLM settings reach it), on the scratch database.
    pub fn spawn(&self, name: &'static str, args: &[&str]) -> anyhow::Result<Proc> {
        let mut child = Command::new(&self.binary)
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("DATABASE_OWNER_URL", &self.owner_url)
            // The binary's own default log filter, as an operator runs it.
            .env_remove("RUST_LOG")
            .env_remove("LLM_BASE_URL")
            .env_remove("LLM_API_KEY")
            .env_remove("LLM_MODEL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        let pid = child.id().context("the child has no pid")?;
        let log = self.logs.join(format!("{name}.log"));
        let out = child.stdout.take().context("stdout")?;
        let err = child.stderr.take().context("stderr")?;
        tokio::spawn(keep_log(name, out, log.with_extension("out"), None));
        tokio::spawn(keep_log(name, err, log, Some(self.recorder.clone())));
        Ok(Proc { name, child, pid })
    }
}

impl Proc {
    /// SIGTERM (a graceful stop), then SIGKILL after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            eprintln!("soak: {} did not stop in {grace:?}; killing it", self.name);
            let _ = self.child.kill().await;
        }
    }
}

/// `VmRSS` of process `pid`, in KiB; `None` once it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// CPU time (user and system) process `pid` has used, in seconds; `None` once it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, which may hold spaces, in parentheses: utime and stime are the
    // 12th and 13th fields, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The load averages over 1, 5 and 15 minutes (what `uptime` prints).
pub fn load() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut v = text
        .split_whitespace()
        .map(|w| w.parse().unwrap_or(f64::NAN));
    [(); 3].map(|()| v.next().unwrap_or(f64::NAN))
}

/// Copies `stream` to `path`; with a recorder, counts its WARN and ERROR lines by message.
async fn keep_log(
    name: &'static str,
    stream: impl AsyncRead + Unpin,
    path: PathBuf,
    recorder: Option<Arc<Recorder>>,
) {
    let Ok(mut file) = tokio::fs::File::create(&path).await else {
        eprintln!("soak: cannot write {}", path.display());
        return;
    };
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let (Some(r), Some(kind)) = (&recorder, kind(&line)) {
            r.log_line(format!("{name} {kind}"));
        }
        let _ = file.write_all(line.as_bytes()).await;
        let _ = file.write_all(b"\n").await;
    }
    let _ = file.flush().await;
}

/// `WARN message` or `ERROR message` of a tracing line (`<time>  WARN message key=value…`),
/// without its fields; `None` for other levels.
fn kind(line: &str) -> Option<String> {
    let mut words = line.split_whitespace().skip(1);
    let level = words.next()?;
    if level != "WARN" && level != "ERROR" {
        return None;
    }
    let message: Vec<&str> = words.take_while(|w| !w.contains('=')).take(8).collect();
    Some(format!("{level} {}", message.join(" ")))
}

/// Waits until `url` answers 200, or fails after `limit`.
pub async fn wait_ready(http: &reqwest::Client, url: &str, limit: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + limit;
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < until, "{url} did not answer in {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `support-agent` beside this example (`target/<profile>/examples/soak` →
/// `target/<profile>/support-agent`), unless given.
pub fn binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("no target directory")?
            .join("support-agent"),
    };
    anyhow::ensure!(
        path.is_file(),
        "{} is missing: `cargo build --locked --bin support-agent` (same profile) first",
        path.display()
    );
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_counted_by_its_message_without_fields() {
        let line = "2026-12-04T01:00:00.000001Z  WARN job failed; will retry job=1 attempt=2";
        assert_eq!(kind(line).as_deref(), Some("WARN job failed; will retry"));
        assert_eq!(kind("2026-12-04T01:00:00Z  INFO serving"), None);
    }
}
