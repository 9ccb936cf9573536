#!/usr/bin/env bash
# The whole test suite: set-up (scripts/setup.sh, and the test suite's own servers from
# scripts/test-tools.sh), formatting, lints, then every test against a real PostgreSQL with
# pgvector (each test on a database of its own, see tests/it/common.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/test-tools.sh
bash scripts/fetch-model.sh
bash scripts/drop-test-databases.sh

echo "test: cargo fmt --check" >&2
cargo fmt --all -- --check
echo "test: cargo clippy" >&2
cargo clippy --locked --all-targets --quiet -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
  # Examples (benchmarks) are compiled and linted by clippy above; linking them is not a test.
  cargo nextest run --locked --no-fail-fast --lib --bins --tests
else
  cargo test --locked --no-fail-fast --lib --bins --tests
fi
