//! The soak's summary: the rows by minute, the goals checked, the table.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::record::{Row, Sample};

/// How the soak was run.
#[derive(Debug, Serialize)]
pub struct Setup {
    pub tenants: u32,
    pub customers: u32,
    pub tickets: u32,
    pub minutes: u64,
    pub mcp_calls_per_second: f64,
    pub writes_per_second: f64,
    pub uploads_per_minute: f64,
    pub worker_concurrency: u16,
    pub binary: String,
}

/// The three goals, each with its figures.
#[derive(Debug, Serialize)]
pub struct Goals {
    /// No call failed and no child logged an ERROR (warnings are listed, not counted).
    pub zero_errors: bool,
    pub errors: u64,
    pub logged_errors: u64,
    /// Per operation: the last minute's p99 over the first's (goal ≤ 1.5).
    pub p99_last_over_first: BTreeMap<&'static str, f64>,
    pub p99_within_1_5x: bool,
    /// Resident memory at the end over the end of minute 1 (warm-up), minus 1 (goal ≤ 0.10).
    pub serve_rss_growth: f64,
    pub worker_rss_growth: f64,
    pub memory_flat: bool,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub setup: Setup,
    pub minutes: Vec<Row>,
    /// After the load stopped and the queue drained (or did not).
    pub end: Sample,
    /// Seconds the queue took to empty after the load stopped (`null`: not within 2 minutes).
    pub drain_seconds: Option<f64>,
    pub goals: Goals,
}

pub fn summary(
    setup: Setup,
    minutes: Vec<Row>,
    end: Sample,
    drain_seconds: Option<f64>,
) -> Summary {
    let goals = goals(&minutes);
    Summary {
        setup,
        minutes,
        end,
        drain_seconds,
        goals,
    }
}

fn goals(rows: &[Row]) -> Goals {
    let errors = rows
        .iter()
        .flat_map(|r| r.ops.values())
        .map(|o| o.errors)
        .sum();
    let logged_errors = rows
        .iter()
        .flat_map(|r| &r.errors)
        .filter(|(k, _)| k.contains(" ERROR "))
        .map(|(_, n)| n)
        .sum();
    let (first, last) = (rows.first(), rows.last());
    let mut ratios = BTreeMap::new();
    if let (Some(first), Some(last)) = (first, last) {
        for (op, f) in &first.ops {
            if let Some(l) = last.ops.get(op)
                && f.p99_ms > 0.0
            {
                ratios.insert(*op, l.p99_ms / f.p99_ms);
            }
        }
    }
    let growth = |kib: fn(&Sample) -> u64| match (first, last) {
        (Some(f), Some(l)) if kib(&f.last) > 0 => kib(&l.last) as f64 / kib(&f.last) as f64 - 1.0,
        _ => f64::NAN,
    };
    let serve_rss_growth = growth(|s| s.serve_kib);
    let worker_rss_growth = growth(|s| s.worker_kib);
    Goals {
        zero_errors: errors == 0 && logged_errors == 0,
        errors,
        logged_errors,
        p99_within_1_5x: !ratios.is_empty() && ratios.values().all(|r| *r <= 1.5),
        p99_last_over_first: ratios,
        serve_rss_growth,
        worker_rss_growth,
        memory_flat: serve_rss_growth <= 0.10 && worker_rss_growth <= 0.10,
    }
}

/// One minute in a line, for the progress on stderr.
pub fn progress_line(r: &Row) -> String {
    let mut s = format!("minute {:>2}:", r.minute);
    for (op, o) in &r.ops {
        let _ = write!(
            s,
            " {} {}/{:.0}/{:.0}ms",
            op.rsplit(' ').next().unwrap_or(op),
            o.ok,
            o.p50_ms,
            o.p99_ms
        );
    }
    let errors: u64 = r.ops.values().map(|o| o.errors).sum();
    let _ = write!(
        s,
        " | errors {errors} | queued {} | serve {:.0} MiB {:.2} cores, worker {:.0} MiB {:.2} cores | load {:.2}",
        r.last.queued,
        mib(r.last.serve_kib),
        r.serve_cores,
        mib(r.last.worker_kib),
        r.worker_cores,
        r.last.load[0]
    );
    s
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The Markdown tables: latency by operation and minute, then the system by minute, the errors
/// and the goals.
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    let ops: Vec<&'static str> = {
        let mut v: Vec<_> = s
            .minutes
            .iter()
            .flat_map(|r| r.ops.keys().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let _ = writeln!(
        out,
        "Latency per minute, p50 / p99 ms (calls answered; errors in brackets when any):\n"
    );
    let _ = writeln!(out, "| min | {} |", ops.join(" | "));
    let _ = writeln!(out, "|---:|{}", "---:|".repeat(ops.len()));
    for r in &s.minutes {
        let cells: Vec<String> = ops
            .iter()
            .map(|op| match r.ops.get(op) {
                Some(o) if o.errors > 0 => {
                    format!(
                        "{:.1} / {:.1} ({}) [{}]",
                        o.p50_ms, o.p99_ms, o.ok, o.errors
                    )
                }
                Some(o) => format!("{:.1} / {:.1} ({})", o.p50_ms, o.p99_ms, o.ok),
                None => "–".into(),
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", r.minute, cells.join(" | "));
    }
    let _ = writeln!(
        out,
        "\nSystem per minute (at the minute's end; peaks in brackets):\n"
    );
    let _ = writeln!(
        out,
        "| min | queued (peak) | running | triaged (total) | dead | serve RSS MiB (peak) | worker RSS MiB (peak) | serve cores | serve CPU ms / call | worker cores | worker CPU s / job | load 1 / 5 / 15 min |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in &s.minutes {
        let l = &r.last;
        let _ = writeln!(
            out,
            "| {} | {} ({}) | {} | {} ({}) | {} | {:.1} ({:.1}) | {:.1} ({:.1}) | {:.2} | {:.1} | {:.2} | {:.2} | {:.2} / {:.2} / {:.2} |",
            r.minute,
            l.queued,
            r.peak_queued,
            l.running,
            r.triaged,
            l.done,
            l.dead,
            mib(l.serve_kib),
            mib(r.peak_serve_kib),
            mib(l.worker_kib),
            mib(r.peak_worker_kib),
            r.serve_cores,
            r.serve_cpu_ms_per_call,
            r.worker_cores,
            r.worker_cpu_s_per_job,
            l.load[0],
            l.load[1],
            l.load[2]
        );
    }
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &s.minutes {
        for (k, n) in &r.errors {
            *kinds.entry(k).or_default() += n;
        }
    }
    let _ = writeln!(out, "\nErrors and logged warnings, by kind:\n");
    if kinds.is_empty() {
        let _ = writeln!(out, "- none");
    }
    for (k, n) in kinds {
        let _ = writeln!(out, "- {k}: {n}");
    }
    let g = &s.goals;
    let drain = s
        .drain_seconds
        .map_or("not within 120 s".to_owned(), |d| format!("{d:.1} s"));
    let _ = writeln!(
        out,
        "\nAfter the load: queue drained in {drain}; {} triaged, {} dead.",
        s.end.done, s.end.dead
    );
    let ratios: Vec<String> = g
        .p99_last_over_first
        .iter()
        .map(|(op, r)| format!("{op} {r:.2}"))
        .collect();
    let yes = |b: bool| if b { "met" } else { "MISSED" };
    let _ = writeln!(
        out,
        "\nGoals: zero errors {} ({} call errors, {} logged errors); p99 last/first ≤ 1.5 {} ({}); \
         memory flat {} (serve {:+.1} %, worker {:+.1} % from the end of minute 1)",
        yes(g.zero_errors),
        g.errors,
        g.logged_errors,
        yes(g.p99_within_1_5x),
        ratios.join(", "),
        yes(g.memory_flat),
        g.serve_rss_growth * 100.0,
        g.worker_rss_growth * 100.0
    );
    out
}
