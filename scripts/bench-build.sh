#!/usr/bin/env bash
# Clean-build timings (BENCHMARKS-build.md): builds the project from nothing in a scratch target
# directory the way a newcomer's first `scripts/run.sh` (cargo build) and then `scripts/test.sh`
# (clippy, then nextest's test build) do, with `--timings`, and prints for each step the 15
# slowest units, the wall time and the machine's peak memory in use. Run it with nothing else on
# the machine (or give it the CPU: `nice -n -10 bash scripts/bench-build.sh` as root). Crates are
# downloaded first (`cargo fetch --locked`), so only compiling is timed.
#
#   bash scripts/bench-build.sh            # scratch dir under /tmp, removed at the end
#   BENCH_KEEP=1 bash scripts/bench-build.sh   # keep it (the path is printed)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fetch --locked --quiet
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-build.XXXXXX")
if [[ -z ${BENCH_KEEP:-} ]]; then trap 'rm -rf "$dir"' EXIT; fi
export CARGO_TARGET_DIR=$dir/target

# The machine's memory in use (MemTotal - MemAvailable), sampled every 0.5 s while a step runs.
sample_memory() {
  local peak=0 used
  while :; do
    used=$(awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} END{print t-a}' /proc/meminfo)
    ((used > peak)) && peak=$used && echo "$peak" >"$1"
    sleep 0.5
  done
}

step() {
  local name=$1
  shift
  local base
  base=$(awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} END{print t-a}' /proc/meminfo)
  echo "$base" >"$dir/$name.peak"
  sample_memory "$dir/$name.peak" &
  local sampler=$! started=$SECONDS
  /usr/bin/time -f %M -o "$dir/$name.rss" "$@" --locked --timings >"$dir/$name.log" 2>&1 || {
    kill "$sampler"
    tail -20 "$dir/$name.log" >&2
    echo "bench-build: $name failed" >&2
    exit 1
  }
  local seconds=$((SECONDS - started))
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  local html
  html=$(ls -t "$CARGO_TARGET_DIR"/cargo-timings/cargo-timing-*.html | head -1)
  cp "$html" "$dir/$name.html"
  python3 - "$name" "$dir/$name.html" "$seconds" "$base" "$(cat "$dir/$name.peak")" "$(tail -1 "$dir/$name.rss")" <<'PY'
import json, re, sys
name, html, seconds, base, peak, rss = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
text = open(html, encoding="utf-8").read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", text, re.S).group(1))
units.sort(key=lambda u: -u["duration"])
print(f"\n### {name}: {len(units)} units, {seconds // 60} min {seconds % 60} s wall, "
      f"peak memory in use {peak / 1048576:.1f} GiB ({(peak - base) / 1048576:.1f} GiB above the start), "
      f"largest process {rss / 1048576:.1f} GiB\n")
print("| unit | seconds |\n|---|---|")
for u in units[:15]:
    target = u.get("target", "").strip()
    mode = u.get("mode", "")
    label = f'{u["name"]} {u["version"]}{(" " + target) if target else ""}{" (" + mode + ")" if mode not in ("", "todo") else ""}'
    print(f"| {label} | {u['duration']:.1f} |")
PY
}

step "build" cargo build
step "clippy" cargo clippy --all-targets
step "test-build" cargo nextest run --no-run
if [[ -n ${BENCH_KEEP:-} ]]; then echo "bench-build: kept $dir" >&2; fi
