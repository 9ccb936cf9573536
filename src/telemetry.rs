//! Tracing set up once, to stderr (stdout belongs to `--json` output and to the stdio protocol).
//!
//! Every line goes through [`Redacting`], which masks credentials and card numbers
//! (SECURITY.md D3) whatever logged them: a field, an error's text, a message.

use std::io::{IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::secrets;

/// Installs the global subscriber; `RUST_LOG` overrides `default_filter`. Colours only when
/// stderr is a terminal: a log file (Claude Desktop's, CI's) gets plain text.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(std::io::stderr))
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// A [`MakeWriter`] that masks secrets in each log line before `W` writes it. The formatter
/// writes one event per writer it makes, so a whole line is masked at once.
pub struct Redacting<W>(pub W);

impl<'a, W: MakeWriter<'a>> MakeWriter<'a> for Redacting<W> {
    type Writer = MaskedLine<W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedLine {
            line: Vec::new(),
            out: self.0.make_writer(),
        }
    }
}

/// One event's text, held until it is complete, then masked and written.
pub struct MaskedLine<W: Write> {
    line: Vec<u8>,
    out: W,
}

impl<W: Write> MaskedLine<W> {
    fn write_out(&mut self) -> std::io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.line);
        let masked = secrets::redact(&text).into_owned();
        self.line.clear();
        self.out.write_all(masked.as_bytes())?;
        self.out.flush()
    }
}

impl<W: Write> Write for MaskedLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()
    }
}

impl<W: Write> Drop for MaskedLine<W> {
    fn drop(&mut self) {
        let _ = self.write_out();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_lines_have_credentials_and_cards_masked() {
        let sink = Sink::default();
        let out = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(Redacting(move || out.clone()))
            .with_ansi(false)
            .finish();
        let key = format!("sk_{}_{}", "live", "4eC39HqLyjWDarjtT1zdp7dc");
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(error = %format!("bad key {key}."), "card 4242-4242-4242-4242 refused");
        });
        let text = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf-8");
        assert!(text.contains("[redacted]."), "{text}");
        assert!(
            !text.contains(&key) && !text.contains("4242-4242"),
            "{text}"
        );
    }
}
