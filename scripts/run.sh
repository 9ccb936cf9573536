#!/usr/bin/env bash
# The main job: set up PostgreSQL with pgvector, build, migrate, and show what support-agent does.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/fetch-model.sh
cargo build --locked --quiet
./target/debug/support-agent migrate
./target/debug/support-agent --help
