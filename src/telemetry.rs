//! Tracing set up once, to stderr (stdout belongs to `--json` output and to the stdio protocol).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` overrides `default_filter`. Colours only when
/// stderr is a terminal: a log file (Claude Desktop's, CI's) gets plain text.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
