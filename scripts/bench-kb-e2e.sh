#!/usr/bin/env bash
# search_knowledge end to end over HTTP (issue 20; figures in BENCHMARKS-knowledge.md): the release
# server (`serve --http`) on kb_scale's database (support_agent_kb_scale, 1,000 tenants and
# 1,000,000 chunks), embedding each query with the built-in model, and examples/mcp_bench calling
# `search_knowledge` for the large tenant (100,000 chunks) and the tiny one (20), one client at a
# time. kb_scale's chunks are recorded as embedded by "synthetic-384": the server loads the
# built-in model through a folder of that name (a symbolic link under target/), so that it
# searches them. Runs: every query new (the query vector always computed), then queries drawn
# from a pool of 20 (a repeated query finds its vector in KB_QUERY_CACHE), then the same pool
# with KB_QUERY_CACHE=0. Not a test: about 2 minutes, after
#
#   cargo run --release --example kb_scale -- --tenants 1000 --chunks 1000000 --large 100000 --tiny 20
#   support-agent knowledge index --min-chunks 50000      # DATABASE_OWNER_URL of that database
#   cargo build --locked --release --bin support-agent --example mcp_bench
#   bash scripts/bench-kb-e2e.sh                          # SECONDS_PER_RUN=20
#
# Every request goes to 127.0.0.1 only; the server it starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECONDS_PER_RUN:-20}
PORT=${PORT:-18083}
DB=${KB_SCALE_DB:-support_agent_kb_scale}
BIN=${BIN:-target/release/support-agent}
MCP_BENCH=${MCP_BENCH:-target/release/examples/mcp_bench}
OUT=target/bench-kb-e2e
mkdir -p "$OUT/models"
[ -x "$BIN" ] && [ -x "$MCP_BENCH" ] ||
  { echo "build first: cargo build --locked --release --bin support-agent --example mcp_bench" >&2; exit 1; }
bash scripts/fetch-model.sh
ln -sfn "$PWD/models/all-MiniLM-L6-v2" "$OUT/models/synthetic-384"

env_get() { sed -n "s/^$1=//p" .env | tail -n 1; }
app=$(env_get DATABASE_URL)
[ -n "$app" ] || { echo "run scripts/setup.sh first" >&2; exit 1; }
app_db="${app%/*}/$DB"
owner=$(env_get DATABASE_OWNER_URL)
for name in large tiny; do
  psql "${owner%/*}/$DB" -XAtqc "SELECT id FROM users WHERE name = 'bench-$name'" >"$OUT/$name.txt"
  [ -s "$OUT/$name.txt" ] || { echo "no kb_scale database at $DB: run kb_scale first" >&2; exit 1; }
done
export JWT_SECRET JWT_ISSUER JWT_AUDIENCE
JWT_SECRET=$(env_get JWT_SECRET)
JWT_ISSUER=$(env_get JWT_ISSUER); JWT_ISSUER=${JWT_ISSUER:-support-agent}
JWT_AUDIENCE=$(env_get JWT_AUDIENCE); JWT_AUDIENCE=${JWT_AUDIENCE:-support-agent}

pid=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
serve() { # serve KB_QUERY_CACHE
  cleanup
  DATABASE_URL="$app_db" EMBED_MODEL_DIR="$OUT/models/synthetic-384" KB_QUERY_CACHE=$1 RUST_LOG=warn TENANT_REQUESTS_PER_MINUTE=1000000000 \
    "$BIN" serve --http "127.0.0.1:$PORT" 2>"$OUT/server.log" &
  pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return; sleep 0.1; done
  echo "the server did not start: $OUT/server.log" >&2; exit 1
}
run() { # run TENANT POOL LABEL
  "$MCP_BENCH" --url "http://127.0.0.1:$PORT/mcp" --tenants "$OUT/$1.txt" --tools search_knowledge \
    --concurrency 1 --seconds "$SECS" --query-pool "$2" | sed "s/^/$3 $1: /"
}
serve 2048
for t in large tiny; do run "$t" 0 "every query new,"; done
for t in large tiny; do run "$t" 20 "pool of 20, cache on,"; done
serve 0
for t in large tiny; do run "$t" 20 "pool of 20, cache off,"; done
