#!/usr/bin/env bash
# The MCP hot path measured from outside (issue 21; figures in BENCHMARKS-mcp.md): wrk (Debian's
# package) posts stateless 2026-07-28 `tools/call` requests for `lookup_customer` with one tenant's
# bearer token (scripts/bench-mcp-wrk.lua), 2 threads and 64 connections, in 8-second runs that
# alternate A/B/A/B between the release server (`serve --http`) and the Python SDK peer
# (examples/mcp_peer.py: mcp==2.3.0, the same SQL as the same role on the same database), so that
# drift in the machine's load hits both. It prints calls/s, p50 and p99 of every run and of both
# sides, their ratio, pgbench's rate for the same transaction (`BEGIN; SET LOCAL …; SELECT …;
# COMMIT`, simple and prepared, 16 clients) and the server's share of it, and, when
# target/release/examples/mcp_bench exists, the p99 with 2,000 calls/s offered by 64 clients.
# Not a test: it takes about 1.5 minutes and needs the database of scripts/bench-seed.sh.
#
#   bash scripts/bench-seed.sh                       # once: support_agent_bench
#   cargo build --locked --release --bin support-agent --example mcp_bench
#   bash scripts/bench-mcp-wrk.sh                    # ROUNDS=2 SECONDS_PER_RUN=8 CONNECTIONS=64
#
# Every request goes to 127.0.0.1 only; every run is bounded in time; the servers it starts are
# stopped (by their own pid) when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-2}
SECS=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
RATE=${RATE:-2000}
PGCLIENTS=${PGCLIENTS:-16}
RUST_PORT=${RUST_PORT:-18081}
PY_PORT=${PY_PORT:-18082}
POOL=${DATABASE_MAX_CONNECTIONS:-16}
DB=support_agent_bench
BIN=${BIN:-target/release/support-agent}
MCP_BENCH=${MCP_BENCH:-target/release/examples/mcp_bench}
OUT=target/bench-mcp-wrk
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need pgbench; then
  apt-get install -y -qq wrk postgresql-client >&2 ||
    { apt-get update -qq >&2 && apt-get install -y -qq wrk postgresql-client >&2; }
fi
[ -x "$BIN" ] || cargo build --locked --release --bin support-agent >&2

env_get() { sed -n "s/^$1=//p" .env | tail -n 1; }
app=$(env_get DATABASE_URL)
[ -n "$app" ] || { echo "run scripts/setup.sh first" >&2; exit 1; }
app_db="${app%/*}/$DB"
if ! psql "$app_db" -XAtqc "SELECT 1 FROM customers LIMIT 1" >/dev/null 2>&1 ||
   [ ! -s target/bench-tenants.txt ]; then
  bash scripts/bench-seed.sh >&2
fi
tenant=$(head -n 1 target/bench-tenants.txt)
export JWT_SECRET JWT_ISSUER JWT_AUDIENCE
JWT_SECRET=$(env_get JWT_SECRET)
JWT_ISSUER=$(env_get JWT_ISSUER); JWT_ISSUER=${JWT_ISSUER:-support-agent}
JWT_AUDIENCE=$(env_get JWT_AUDIENCE); JWT_AUDIENCE=${JWT_AUDIENCE:-support-agent}
TOKEN=$(DATABASE_URL="$app_db" RUST_LOG=error "$BIN" token issue --user "$tenant" --ttl 1h)
export TOKEN CUSTOMERS=50

python=$(bash scripts/py-venv.sh .venv-mcp-peer mcp 2.3.0 python)
bash scripts/py-venv.sh .venv-mcp-peer asyncpg 0.32.0 python >/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

DATABASE_URL="$app_db" DATABASE_MAX_CONNECTIONS=$POOL RUST_LOG=warn \
  TENANT_REQUESTS_PER_MINUTE=1000000000 \
  "$BIN" serve --http "127.0.0.1:$RUST_PORT" 2>"$OUT/rust-server.log" &
pids+=($!)
DATABASE_URL="$app_db" "$python" examples/mcp_peer.py --port "$PY_PORT" --pool "$POOL" \
  2>"$OUT/python-peer.log" &
pids+=($!)
for port in "$RUST_PORT" "$PY_PORT"; do
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
done

# One call each, shown, so a broken request shape fails here rather than as a fast 4xx rate.
call() {
  curl -sS "http://127.0.0.1:$1/mcp" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: lookup_customer' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup_customer","arguments":{"email":"c7@example.com"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"curl","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}'
}
for side in "rust:$RUST_PORT" "python:$PY_PORT"; do
  reply=$(call "${side#*:}")
  echo "${side%%:*} reply: ${reply:0:200}…"
  grep -q '"structuredContent"' <<<"$reply" || { echo "the ${side%%:*} server did not answer the call" >&2; exit 1; }
done

run_wrk() { # side port seconds -> "calls p50 p99 failed"
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "${3}s" --latency -s scripts/bench-mcp-wrk.lua \
    "http://127.0.0.1:$2/mcp" >"$OUT/wrk-$1.txt" 2>"$OUT/wrk-$1.err"
  awk '/^calls\/s/{c=$2} /^p50_ms/{a=$2} /^p99_ms/{b=$2} /^failed/{f=$2} END{print c, a, b, f}' "$OUT/wrk-$1.txt"
}
# Warm-up (connections, caches, the Python interpreter's first calls); not counted.
run_wrk rust "$RUST_PORT" 2 >/dev/null
run_wrk python "$PY_PORT" 2 >/dev/null

echo
echo "load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min), $(nproc) cores;" \
  "other busy processes: $(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1>10 && $2!="wrk" && $2!="support-agent" && $2!="python" && $2!="postgres" && $2!="ps" {printf "%s(%s%%) ", $2, $1}')"
echo
echo "| run | server | calls/s | p50 ms | p99 ms | failed |"
echo "|---|---|---:|---:|---:|---:|"
: >"$OUT/runs.txt"
for r in $(seq "$ROUNDS"); do
  for side in rust python; do
    port=$RUST_PORT; [ "$side" = python ] && port=$PY_PORT
    read -r calls p50 p99 failed < <(run_wrk "$side" "$port" "$SECS")
    echo "$side $calls $p50 $p99 $failed" >>"$OUT/runs.txt"
    echo "| $r | $side | ${calls%.*} | $p50 | $p99 | $failed |"
  done
done
echo
awk '{n[$1]++; c[$1]+=$2; a[$1]+=$3; b[$1]+=$4}
  END {
    printf "| server | calls/s (mean of %d) | p50 ms | p99 ms |\n|---|---:|---:|---:|\n", n["rust"]
    for (s in n) printf "| %s | %.0f | %.2f | %.2f |\n", s, c[s]/n[s], a[s]/n[s], b[s]/n[s]
    printf "\nratio rust/python: %.1fx\n", (c["rust"]/n["rust"]) / (c["python"]/n["python"])
  }' "$OUT/runs.txt" | tee "$OUT/summary.txt"

# The database alone: the same transaction as the tool's, for the same tenant, as the same role.
cat >"$OUT/lookup.sql" <<SQL
\set c random(1, 50)
BEGIN;
SET LOCAL app.current_user_id = '$tenant';
SELECT c.*, (SELECT count(*) FROM tickets t WHERE t.user_id = c.user_id AND t.customer_id = c.id AND t.status IN ('open', 'pending')) AS open_tickets FROM customers c WHERE c.user_id = '$tenant' AND c.email = 'c' || :c || '@example.com';
COMMIT;
SQL
echo
for mode in simple prepared; do
  tps=$(pgbench -n -c "$PGCLIENTS" -j 2 -T "$SECS" -M "$mode" -f "$OUT/lookup.sql" "$app_db" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  echo "pgbench $mode, $PGCLIENTS clients: ${tps%.*} tps"
  echo "$mode $tps" >>"$OUT/summary.txt"
done
awk '/^rust/{c+=$2; n++} END{printf "%s", c/n}' "$OUT/runs.txt" >"$OUT/rust-mean"
awk -v r="$(cat "$OUT/rust-mean")" '$1=="simple"||$1=="prepared" {printf "server / pgbench %s: %.0f%%\n", $1, 100*r/$2}' "$OUT/summary.txt"

if [ -x "$MCP_BENCH" ] && [ "$RATE" != 0 ]; then
  echo
  echo "open loop, $RATE calls/s offered by 64 clients (examples/mcp_bench, random tenants):"
  "$MCP_BENCH" --url "http://127.0.0.1:$RUST_PORT/mcp" \
    --tenants target/bench-tenants.txt --seconds "$SECS" --concurrency 64 --rate "$RATE" \
    --tools lookup_customer --protocol 2026-07-28 | tail -n 1
fi
