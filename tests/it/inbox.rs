//! The inbox pages (issue H) against the real server on port 0: the security properties over
//! plain HTTP, the outcome figures against a direct SQL count, and the core loop in headless
//! Chromium (Debian's `chromium` and `chromium-driver`, which scripts/test-tools.sh installs).

mod browser;
mod forms;
mod outcomes;
mod pages;
pub mod support;
