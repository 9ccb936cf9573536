#!/usr/bin/env bash
# Drops the databases that earlier test runs left behind (sa_test_*), and test templates built
# from older migrations (sa_tpl_* other than the current one). Databases still in use are skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
owner_url=${DATABASE_OWNER_URL:-$(sed -n 's/^DATABASE_OWNER_URL=//p' .env 2>/dev/null | tail -n 1)}
[ -n "$owner_url" ] || exit 0
admin_url="${owner_url%/*}/postgres"
current="sa_tpl_$(cat $(ls migrations/*.sql | sort) | sha256sum | cut -c1-12)"
psql "$admin_url" -XAtqc "SELECT datname FROM pg_database WHERE datname LIKE 'sa\_test\_%' OR (datname LIKE 'sa\_tpl\_%' AND datname <> '$current')" 2>/dev/null |
  while read -r db; do
    psql "$admin_url" -XAtqc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
  done
exit 0
