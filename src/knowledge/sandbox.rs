//! PDF extraction in a child process under a time and memory limit: a hostile PDF (a parser
//! loop, a decompression bomb, a crash) costs a reported failure for that file, never a hung or
//! aborted ingestion.
//!
//! The child is this same binary run as `support-agent __extract-pdf …`: it lowers its own
//! address-space and CPU limits (`setrlimit`), parses the file and writes the text to stdout.
//! The parent kills it when the wall-clock limit passes. The child gets an empty environment:
//! no secret of the parent's reaches it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::extract::{ExtractError, pdf_text};

/// Where the extractor is and how far it may go.
#[derive(Debug, Clone)]
pub struct PdfSandbox {
    /// The support-agent binary.
    pub program: PathBuf,
    /// Wall-clock time per file (`KB_PDF_TIMEOUT`).
    pub timeout: Duration,
    /// Address space of the child (`KB_PDF_MAX_MEMORY`).
    pub max_memory_bytes: u64,
}

impl PdfSandbox {
    /// The text of the PDF at `path`, extracted by a child process.
    pub async fn extract(&self, path: &Path) -> Result<String, ExtractError> {
        let cpu = self.timeout.as_secs().max(1);
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.arg("__extract-pdf")
            .arg("--max-memory")
            .arg(self.max_memory_bytes.to_string())
            .arg("--cpu-seconds")
            .arg(cpu.to_string())
            .arg(path)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| ExtractError::Pdf(format!("cannot start the PDF extractor: {e}")))?;
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => return Err(ExtractError::Pdf(format!("the PDF extractor failed: {e}"))),
            Err(_) => {
                return Err(ExtractError::Pdf(format!(
                    "parsing did not finish within {}s (KB_PDF_TIMEOUT); the file was skipped",
                    self.timeout.as_secs()
                )));
            }
        };
        if output.status.success() {
            return String::from_utf8(output.stdout).map_err(|_| {
                ExtractError::Pdf("the extractor wrote text that is not UTF-8".into())
            });
        }
        let said = String::from_utf8_lossy(&output.stderr);
        let said = said.lines().last().unwrap_or("").trim();
        match output.status.code() {
            Some(2) if !said.is_empty() => Err(ExtractError::Pdf(said.chars().take(200).collect())),
            _ => Err(ExtractError::Pdf(
                "the parser was stopped at its memory or CPU limit (KB_PDF_MAX_MEMORY, \
                 KB_PDF_TIMEOUT) or crashed; the file was skipped"
                    .into(),
            )),
        }
    }
}

/// The child's side: limits itself, extracts `path`, prints the text. Exit 0 with the text on
/// stdout, 2 with a reason on stderr.
pub fn run_child(path: &Path, max_memory_bytes: u64, cpu_seconds: u64) -> std::process::ExitCode {
    use std::io::Write;
    let limited = rlimit::setrlimit(rlimit::Resource::AS, max_memory_bytes, max_memory_bytes)
        .and_then(|()| rlimit::setrlimit(rlimit::Resource::CPU, cpu_seconds, cpu_seconds));
    if let Err(e) = limited {
        eprintln!("cannot limit the extractor: {e}");
        return std::process::ExitCode::from(2);
    }
    let result = std::fs::read(path)
        .map_err(|e| ExtractError::Pdf(format!("cannot read: {e}")))
        .and_then(|bytes| pdf_text(&bytes));
    match result {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return std::process::ExitCode::from(2);
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::from(2)
        }
    }
}
