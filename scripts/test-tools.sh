#!/usr/bin/env bash
# The outside programs the test suite runs, installed from Debian packages when missing
# (idempotent: nothing to do takes a moment). The Python tools come from PyPI through
# scripts/py-venv.sh when a test first needs them.
#   - dovecot (dovecot-imapd): the real IMAP server of the inbox tests, run by each test as an
#     unprivileged process on a loopback port (tests/it/channels/imap_server.rs);
#   - openssl: makes that server's test CA and certificate;
#   - chromium and chromium-driver: the headless browser the inbox pages' tests drive over
#     WebDriver (tests/it/inbox/browser.rs starts chromedriver on a loopback port).
set -euo pipefail

log() { printf 'test-tools: %s\n' "$*" >&2; }
die() { printf 'test-tools: error: %s\n' "$*" >&2; exit 1; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
[ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null 2>&1 || missing+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
[ "${#missing[@]}" -eq 0 ] && exit 0
command -v apt-get >/dev/null 2>&1 || die "missing: ${missing[*]} (install them; this script installs them only on Debian)"
log "apt-get update"
as_root apt-get update -qq >/dev/null
log "installing ${missing[*]}"
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
