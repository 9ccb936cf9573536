#!/usr/bin/env bash
# The main job: set up PostgreSQL with pgvector, fetch the built-in embedding model, build,
# migrate, and run the demo (a demo desk triaged offline; see examples/demo/).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/fetch-model.sh
cargo build --locked --quiet
./target/debug/support-agent migrate
./target/debug/support-agent demo
