//! What the soak measures, by minute: each operation's latencies and errors, the children's log
//! warnings and errors, and samples of memory, queue and load.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;

/// One operation's calls in one minute (by their scheduled send time).
#[derive(Debug, Default)]
pub struct OpMinute {
    /// Latencies of the calls that succeeded, in microseconds, from the scheduled send time.
    pub micros: Vec<u32>,
    pub errors: u64,
}

/// One sample of the system, taken every few seconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Sample {
    /// `VmRSS` of `support-agent serve` and `support-agent worker`, in KiB (0: gone).
    pub serve_kib: u64,
    pub worker_kib: u64,
    /// CPU seconds each has used so far.
    pub serve_cpu_s: f64,
    pub worker_cpu_s: f64,
    /// Jobs by state.
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
    /// The load averages over 1, 5 and 15 minutes (/proc/loadavg, what `uptime` prints).
    pub load: [f64; 3],
}

#[derive(Debug, Default)]
pub struct Minute {
    pub ops: BTreeMap<&'static str, OpMinute>,
    /// `op: kind` for the client's errors, `serve WARN: message` for the children's log lines.
    pub errors: BTreeMap<String, u64>,
    pub samples: Vec<Sample>,
}

/// Shared by every task of the soak.
pub struct Recorder {
    start: OnceLock<Instant>,
    minutes: usize,
    inner: Mutex<Vec<Minute>>,
}

impl Recorder {
    pub fn new(minutes: usize) -> Self {
        Self {
            start: OnceLock::new(),
            minutes,
            inner: Mutex::new((0..minutes.max(1)).map(|_| Minute::default()).collect()),
        }
    }

    /// Starts minute 1 now (once); returns when it started.
    pub fn begin(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    /// When minute 1 started (now, if it has not yet).
    pub fn start(&self) -> Instant {
        self.begin()
    }

    /// The minute `at` falls in; `None` after the end. Before the start: minute 0.
    fn minute(&self, at: Instant) -> Option<usize> {
        let Some(start) = self.start.get() else {
            return Some(0);
        };
        let m = at.saturating_duration_since(*start).as_secs() / 60;
        usize::try_from(m).ok().filter(|m| *m < self.minutes)
    }

    fn with<R>(&self, at: Instant, f: impl FnOnce(&mut Minute) -> R) -> Option<R> {
        let m = self.minute(at)?;
        let mut all = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Some(f(&mut all[m]))
    }

    /// A call scheduled at `scheduled`: its latency, or why it failed.
    pub fn call(&self, op: &'static str, scheduled: Instant, result: Result<Duration, String>) {
        self.with(scheduled, |m| {
            let o = m.ops.entry(op).or_default();
            match result {
                Ok(d) => o
                    .micros
                    .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX)),
                Err(kind) => {
                    o.errors += 1;
                    *m.errors.entry(format!("{op}: {kind}")).or_default() += 1;
                }
            }
        });
    }

    /// A warning or error a child logged (before the start: in minute 1).
    pub fn log_line(&self, kind: String) {
        self.with(Instant::now(), |m| *m.errors.entry(kind).or_default() += 1);
    }

    pub fn sample(&self, s: Sample) {
        self.with(Instant::now(), |m| m.samples.push(s));
    }

    /// The minutes, each summarised.
    pub fn rows(&self) -> Vec<Row> {
        let all = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Minute 1 counts from its first sample, taken at the start.
        let mut before = all
            .first()
            .and_then(|m| m.samples.first().copied())
            .unwrap_or_default();
        all.iter()
            .enumerate()
            .map(|(i, m)| {
                let row = Row::of(i + 1, m, &before);
                before = row.last;
                row
            })
            .collect()
    }
}

/// One operation's figures for a minute.
#[derive(Debug, Clone, Serialize)]
pub struct OpRow {
    pub ok: usize,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// One minute, summarised: what the table and `--json` print.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub minute: usize,
    pub ops: BTreeMap<&'static str, OpRow>,
    pub errors: BTreeMap<String, u64>,
    /// The minute's last sample, and its peaks.
    pub last: Sample,
    pub peak_serve_kib: u64,
    pub peak_worker_kib: u64,
    pub peak_queued: i64,
    /// Cores each used over the minute (CPU seconds / 60).
    pub serve_cores: f64,
    pub worker_cores: f64,
    /// Jobs finished in the minute.
    pub triaged: i64,
    /// CPU per unit of work, which neighbours on the machine do not change the way they change
    /// latency: the server's per call (of any kind), the worker's per job finished.
    pub serve_cpu_ms_per_call: f64,
    pub worker_cpu_s_per_job: f64,
}

impl Row {
    fn of(minute: usize, m: &Minute, before: &Sample) -> Self {
        let ops = m
            .ops
            .iter()
            .map(|(name, o)| {
                let mut v = o.micros.clone();
                v.sort_unstable();
                let row = OpRow {
                    ok: v.len(),
                    errors: o.errors,
                    p50_ms: percentile(&v, 0.50),
                    p99_ms: percentile(&v, 0.99),
                };
                (*name, row)
            })
            .collect();
        let peak = |f: fn(&Sample) -> u64| m.samples.iter().map(f).max().unwrap_or(0);
        let last = m.samples.last().copied().unwrap_or_default();
        let cores = |now: f64, then: f64| if now > 0.0 { (now - then) / 60.0 } else { 0.0 };
        let (serve_cores, worker_cores) = (
            cores(last.serve_cpu_s, before.serve_cpu_s),
            cores(last.worker_cpu_s, before.worker_cpu_s),
        );
        let calls: u64 = m
            .ops
            .values()
            .map(|o| o.micros.len() as u64 + o.errors)
            .sum();
        let triaged = last.done - before.done;
        let per = |total: f64, n: f64| if n > 0.0 { total / n } else { 0.0 };
        Self {
            minute,
            ops,
            errors: m.errors.clone(),
            last,
            serve_cores,
            worker_cores,
            triaged,
            serve_cpu_ms_per_call: per(serve_cores * 60_000.0, calls as f64),
            worker_cpu_s_per_job: per(worker_cores * 60.0, triaged as f64),
            peak_serve_kib: peak(|s| s.serve_kib),
            peak_worker_kib: peak(|s| s.worker_kib),
            peak_queued: m.samples.iter().map(|s| s.queued).max().unwrap_or(0),
        }
    }
}

/// The `p`-th quantile (0–1) of sorted microseconds, in milliseconds.
fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_land_in_the_minute_they_were_scheduled_in() {
        let r = Recorder::new(2);
        let start = r.begin();
        r.call("a", start, Ok(Duration::from_millis(2)));
        r.call(
            "a",
            start + Duration::from_secs(61),
            Ok(Duration::from_millis(4)),
        );
        r.call("a", start + Duration::from_secs(61), Err("http 500".into()));
        r.call("a", start + Duration::from_secs(200), Ok(Duration::ZERO));
        let rows = r.rows();
        assert_eq!(rows[0].ops["a"].ok, 1);
        assert_eq!(rows[1].ops["a"].ok, 1);
        assert_eq!(rows[1].ops["a"].p99_ms, 4.0);
        assert_eq!(rows[1].errors["a: http 500"], 1);
    }
}
