#!/usr/bin/env bash
# Installs aiosmtpd (an SMTP server in Python), pinned, from PyPI, into .venv-aiosmtpd at the
# repository root, for the email channel's tests (tests/smtp_sink/sink.py). Idempotent and safe
# from parallel tests. Prints the venv's `python` path.
set -euo pipefail
cd "$(dirname "$0")/.."
PIN=1.4.6
VENV=.venv-aiosmtpd
exec 9>"$VENV.lock"
flock 9
if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -m venv "$VENV" >&2; then
    rm -rf "$VENV"
    apt-get install -y -qq python3-venv >&2 || { apt-get update -qq >&2 && apt-get install -y -qq python3-venv >&2; }
    python3 -m venv "$VENV" >&2
  fi
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('aiosmtpd') != '$PIN')" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$PIN" >&2
fi
echo "$(pwd)/$VENV/bin/python"
