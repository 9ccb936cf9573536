#!/usr/bin/env bash
# Where the whole machine's time goes under the MCP hot path (issue 21; tops in BENCHMARKS-mcp.md):
# `perf record -a -g` samples the server, PostgreSQL, the load generator and the kernel together
# (callgrind, in scripts/profile-mcp.sh, counts the server's process only). It starts the release
# server on the bench database, warms it for 2 s, and records 6 s of one load:
#   LOAD=wrk     wrk with scripts/bench-mcp-wrk.lua: one tenant's token, 64 connections
#   LOAD=random  examples/mcp_bench: 64 closed-loop clients over 1,000 random tenants
#                (RATE=2000 for the open loop; TOOLS=list_tickets for the other tool)
# then prints the share of each process and PostgreSQL's entries that BENCHMARKS-mcp.md follows.
#
#   bash scripts/bench-seed.sh; cargo build --locked --release --bin support-agent --example mcp_bench
#   LOAD=random bash scripts/perf-mcp.sh      # BIN=… OUT=target/perf-mcp POOL=16
#
# Installs perf (Debian's linux-perf) and wrk when missing, as its sibling scripts do; loopback
# only; bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

LOAD=${LOAD:-random}
BIN=${BIN:-target/release/support-agent}
MCP_BENCH=${MCP_BENCH:-target/release/examples/mcp_bench}
OUT=${OUT:-target/perf-mcp}
PORT=${PORT:-18083}
mkdir -p "$OUT"
need() { command -v "$1" >/dev/null 2>&1; }
if ! need perf || { [ "$LOAD" = wrk ] && ! need wrk; }; then
  apt-get install -y -qq linux-perf wrk >&2 ||
    { apt-get update -qq >&2 && apt-get install -y -qq linux-perf wrk >&2; }
fi

env_get() { sed -n "s/^$1=//p" .env | tail -n 1; }
app=$(env_get DATABASE_URL)
[ -n "$app" ] || { echo "run scripts/setup.sh first" >&2; exit 1; }
[ -s target/bench-tenants.txt ] || { echo "run scripts/bench-seed.sh first" >&2; exit 1; }
app_db="${app%/*}/support_agent_bench"
export JWT_SECRET JWT_ISSUER JWT_AUDIENCE
JWT_SECRET=$(env_get JWT_SECRET)
JWT_ISSUER=$(env_get JWT_ISSUER); JWT_ISSUER=${JWT_ISSUER:-support-agent}
JWT_AUDIENCE=$(env_get JWT_AUDIENCE); JWT_AUDIENCE=${JWT_AUDIENCE:-support-agent}

DATABASE_URL="$app_db" DATABASE_MAX_CONNECTIONS=${POOL:-16} RUST_LOG=warn \
  TENANT_REQUESTS_PER_MINUTE=1000000000 "$BIN" serve --http "127.0.0.1:$PORT" 2>"$OUT/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

(sleep 2; perf record -F 999 -a -g -o "$OUT/perf.data" -- sleep 6 2>/dev/null) &
recorder=$!
if [ "$LOAD" = wrk ]; then
  tenant=$(head -n 1 target/bench-tenants.txt)
  TOKEN=$(DATABASE_URL="$app_db" RUST_LOG=error "$BIN" token issue --user "$tenant" --ttl 1h)
  TOKEN=$TOKEN CUSTOMERS=50 wrk -t 2 -c 64 -d 8s -s scripts/bench-mcp-wrk.lua \
    "http://127.0.0.1:$PORT/mcp" | grep -E '^(calls/s|p50_ms|p99_ms|failed)'
else
  rate=(); [ -n "${RATE:-}" ] && rate=(--rate "$RATE")
  "$MCP_BENCH" --url "http://127.0.0.1:$PORT/mcp" --tenants target/bench-tenants.txt \
    --seconds 8 --concurrency 64 "${rate[@]}" --tools "${TOOLS:-lookup_customer}" \
    --protocol 2026-07-28 | tail -n 1
fi
wait $recorder

echo; echo "share of the machine's samples by process:"
perf report -i "$OUT/perf.data" --no-children --sort comm -q -g none 2>/dev/null | head -n 5
echo; echo "PostgreSQL, inclusive:"
perf report -i "$OUT/perf.data" --children --comm postgres --sort sym -q -g none 2>/dev/null |
  grep -E "\] (pg_plan_queries|GetCachedPlan|PortalRun|standard_ExecutorStart|plpgsql_exec_function|ReadBufferExtended|CommitTransactionCommand|pq_getbyte)$" || true
echo; echo "PostgreSQL, self:"
perf report -i "$OUT/perf.data" --no-children --comm postgres --sort sym -q -g none 2>/dev/null | head -n 8
