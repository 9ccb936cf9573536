#!/usr/bin/env bash
# Installs the independent MCP client the end-to-end tests drive: the Python SDK, pinned, from
# PyPI, into .venv at the repository root. Idempotent and safe to run from parallel tests (one
# installs while the others wait on a lock). Prints the interpreter's path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PIN=2.3.0
exec 9>".venv.lock"
flock 9
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv >&2; then
    # Debian splits venv support (ensurepip) into its own package.
    rm -rf .venv
    apt-get install -y -qq python3-venv >&2 || { apt-get update -qq >&2 && apt-get install -y -qq python3-venv >&2; }
    python3 -m venv .venv >&2
  fi
fi
if ! .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$PIN')" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check "mcp==$PIN" >&2
fi
echo "$(pwd)/.venv/bin/python"
