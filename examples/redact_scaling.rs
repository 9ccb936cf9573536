//! How long the credential and card scanner (`secrets::redact`) takes on text crafted to make a
//! backtracking scanner retry at every offset, at 25, 100 and 400 kB: linear scanning shows the
//! time growing 4× per step, a quadratic one 16×. A benchmark, not a test (the timing depends on
//! the machine):
//!
//!     cargo run --release --example redact_scaling

use std::time::Instant;

use support_agent::secrets::redact;

fn main() {
    println!("| unit | 25 kB | 100 kB | 400 kB | 400 kB / 100 kB |");
    println!("|---|---|---|---|---|");
    for unit in [
        "eyJ-",
        "sk-",
        "x://",
        "-----BEGIN PRIVATE KEY-----",
        "1 ",
        "4242 ",
    ] {
        let times: Vec<f64> = [25_000, 100_000, 400_000]
            .iter()
            .map(|&bytes| {
                let text = unit.repeat(bytes / unit.len());
                // The best of five runs: the least disturbed by whatever else the machine does.
                (0..5)
                    .map(|_| {
                        let started = Instant::now();
                        std::hint::black_box(redact(std::hint::black_box(&text)));
                        started.elapsed().as_secs_f64() * 1e3
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        println!(
            "| `{unit}` | {:.2} ms | {:.2} ms | {:.2} ms | {:.1}× |",
            times[0],
            times[1],
            times[2],
            times[2] / times[1]
        );
    }
}
