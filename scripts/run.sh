#!/usr/bin/env bash
# The main job: set up PostgreSQL with pgvector, fetch the built-in embedding model, build,
# migrate, and run the demo (a demo desk triaged offline; see examples/demo/); then serve the
# inbox and run a worker in the foreground until Ctrl-C (INBOX_ADDR, default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/fetch-model.sh
cargo build --locked --quiet
./target/debug/support-agent migrate
./target/debug/support-agent demo

addr=${INBOX_ADDR:-127.0.0.1:8080}
./target/debug/support-agent serve --http "$addr" & serve_pid=$!
./target/debug/support-agent worker & worker_pid=$!
trap 'kill "$serve_pid" "$worker_pid" 2>/dev/null || true; wait' INT TERM EXIT
printf '\nInbox: http://%s/login  (log in as support@northwind-demo.example, password %s)\nCtrl-C stops the server and the worker.\n' \
  "$addr" "$(sed -n 's/^DEMO_PASSWORD=//p' .env | tail -n 1)"
wait -n
