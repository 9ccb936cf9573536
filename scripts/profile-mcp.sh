#!/usr/bin/env bash
# Instruction counts of the MCP hot path (issue 21; tops in BENCHMARKS-mcp.md): the release
# server runs under `valgrind --tool=callgrind` with instrumentation off until it is serving, then
# exactly CALLS stateless 2026-07-28 `tools/call` requests for `lookup_customer` (one tenant's
# token, random seeded emails, over CONNS keep-alive connections) are sent, and the counts are
# dumped and summarised: instructions per call, the top functions by self cost, and by inclusive
# cost. Counts do not depend on the machine's load (unlike timings), so a before/after holds on
# shared cores. PostgreSQL's own work is another process and is not counted here.
#
#   bash scripts/profile-mcp.sh                  # CALLS=2000 CONNS=8 BIN=target/release/support-agent
#
# Needs the database of scripts/bench-seed.sh. Loopback only; bounded by CALLS.
set -euo pipefail
cd "$(dirname "$0")/.."

CALLS=${CALLS:-2000}
CONNS=${CONNS:-8}
PORT=${PORT:-18091}
BIN=${BIN:-target/release/support-agent}
TOP=${TOP:-30}
OUT=${OUT:-target/profile-mcp}
DB=support_agent_bench
mkdir -p "$OUT"
command -v valgrind >/dev/null ||
  apt-get install -y -qq valgrind >&2 || { apt-get update -qq >&2 && apt-get install -y -qq valgrind >&2; }

env_get() { sed -n "s/^$1=//p" .env | tail -n 1; }
app=$(env_get DATABASE_URL)
app_db="${app%/*}/$DB"
tenant=$(head -n 1 target/bench-tenants.txt)
TOKEN=$(DATABASE_URL="$app_db" RUST_LOG=error "$BIN" token issue --user "$tenant" --ttl 1h)

rm -f "$OUT"/callgrind.out*
DATABASE_URL="$app_db" DATABASE_MAX_CONNECTIONS=16 RUST_LOG=warn TENANT_REQUESTS_PER_MINUTE=1000000000 \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/callgrind.out" \
  "$BIN" serve --http "127.0.0.1:$PORT" 2>"$OUT/valgrind.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.2
done

drive() { # calls conns
  python3 - "$PORT" "$TOKEN" "$1" "$2" <<'PY'
import http.client, json, random, sys, threading
port, token, calls, conns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json",
           "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28",
           "Mcp-Method": "tools/call", "Mcp-Name": "lookup_customer"}
meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "profile", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}}
bad = []
def run(n):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
    for i in range(n):
        body = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
            "name": "lookup_customer", "arguments": {"email": "c%d@example.com" % random.randint(1, 50)},
            "_meta": meta}}
        c.request("POST", "/mcp", json.dumps(body), headers)
        r = c.getresponse(); data = r.read()
        if r.status != 200 or b'"structuredContent"' not in data:
            bad.append((r.status, data[:200]))
ts = [threading.Thread(target=run, args=(calls // conns,)) for _ in range(conns)]
[t.start() for t in ts]; [t.join() for t in ts]
if bad:
    sys.exit("failed replies: %d, first %r" % (len(bad), bad[0]))
PY
}
drive 200 "$CONNS"           # warm-up, not counted: pool connections, statement caches
callgrind_control -i on "$pid" >/dev/null 2>&1
drive "$CALLS" "$CONNS"
callgrind_control -d "$pid" >/dev/null 2>&1
callgrind_control -i off "$pid" >/dev/null 2>&1
sleep 1
out=$(ls -t "$OUT"/callgrind.out.* 2>/dev/null | head -n 1 || true)
[ -n "$out" ] || out="$OUT/callgrind.out"
total=$(callgrind_annotate "$out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "instructions: $total for $CALLS calls = $((total / CALLS)) per call ($out)"
callgrind_annotate --inclusive=no "$out" 2>/dev/null >"$OUT/self-all.txt" || true
callgrind_annotate --inclusive=yes "$out" 2>/dev/null >"$OUT/inclusive-all.txt" || true
callgrind_annotate --tree=caller "$out" 2>/dev/null >"$OUT/callers-all.txt" || true
grep -E '^ *[0-9,]+ \(' "$OUT/self-all.txt" | sed -n "2,$((TOP + 1))p" >"$OUT/self.txt" || true
grep -E '^ *[0-9,]+ \(' "$OUT/inclusive-all.txt" | sed -n "2,$((TOP + 1))p" >"$OUT/inclusive.txt" || true
echo "-- self --"; cat "$OUT/self.txt"
echo "-- inclusive --"; cat "$OUT/inclusive.txt"
