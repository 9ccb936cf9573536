#!/usr/bin/env bash
# Installs Schemathesis (API testing from the OpenAPI contract), pinned, from PyPI, into
# .venv-schemathesis at the repository root (apart from .venv, whose MCP SDK pins its own
# dependencies). Idempotent and safe from parallel tests. Prints the `schemathesis` path.
set -euo pipefail
cd "$(dirname "$0")/.."
PIN=4.32.5
VENV=.venv-schemathesis
exec 9>"$VENV.lock"
flock 9
if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -m venv "$VENV" >&2; then
    rm -rf "$VENV"
    apt-get install -y -qq python3-venv >&2 || { apt-get update -qq >&2 && apt-get install -y -qq python3-venv >&2; }
    python3 -m venv "$VENV" >&2
  fi
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$PIN')" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$PIN" >&2
fi
echo "$(pwd)/$VENV/bin/schemathesis"
