#!/usr/bin/env bash
# Installs the independent MCP client used by the end-to-end tests: the Python SDK, pinned, from
# PyPI, into .venv at the repository root. Idempotent; prints the interpreter path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PIN="mcp==2.3.0"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv >&2
fi
if ! .venv/bin/python -c 'import importlib.metadata as m, sys; sys.exit(m.version("mcp") != "2.3.0")' 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check "$PIN" >&2
fi
echo "$(pwd)/.venv/bin/python"
