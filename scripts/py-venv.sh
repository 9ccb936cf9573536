#!/usr/bin/env bash
# Installs one pinned PyPI package into a venv of its own at the repository root, for the tests
# that run a real Python tool. Idempotent and safe from parallel tests. Prints the path of BIN in
# the venv.
#
#   bash scripts/py-venv.sh VENV PACKAGE VERSION BIN     # e.g. .venv-aiosmtpd aiosmtpd 1.4.6 python
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 4 ] || { echo "usage: $0 VENV PACKAGE VERSION BIN" >&2; exit 2; }
VENV=$1 PACKAGE=$2 PIN=$3 BIN=$4
exec 9>"$VENV.lock"
flock 9
if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -m venv "$VENV" >&2; then
    rm -rf "$VENV"
    apt-get install -y -qq python3-venv >&2 || { apt-get update -qq >&2 && apt-get install -y -qq python3-venv >&2; }
    python3 -m venv "$VENV" >&2
  fi
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$PACKAGE') != '$PIN')" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$PACKAGE==$PIN" >&2
fi
echo "$(pwd)/$VENV/bin/$BIN"
