#!/usr/bin/env bash
# Makes PostgreSQL with pgvector >= 0.8 available and writes .env for support-agent.
#
# Idempotent: a second run with nothing left to do takes a few seconds.
#   1. If DATABASE_URL (environment or .env) already reaches a server where pgvector >= 0.8 is
#      available, that server is used as it is.
#   2. Otherwise: install PostgreSQL from Debian packages if missing, install pgvector from the
#      distribution package (postgresql-NN-pgvector) when one exists, else build it from Debian 13's
#      source package; start a cluster if none runs; create the database and both roles.
#   3. Write .env (git-ignored) with DATABASE_URL (service role), DATABASE_OWNER_URL (owner) and a
#      freshly generated JWT_SECRET, SECRETS_KEY and AUDIT_KEY, keeping any values already there.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

DB_NAME=${SUPPORT_AGENT_DB:-support_agent}
OWNER_ROLE=support_agent_owner
APP_ROLE=support_agent_app
PG_HOST=${PGHOST_SETUP:-127.0.0.1}
PG_PORT=${PGPORT_SETUP:-5432}
MIN_VECTOR=0.8.0

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- .env handling -----------------------------------------------------------------------------
env_get() { # KEY -> value from .env, empty when absent
  [ -f .env ] || return 0
  sed -n "s/^$1=//p" .env | tail -n 1
}

env_set() { # KEY VALUE: replaces or appends, keeping the file private
  local key=$1 value=$2 tmp
  touch .env && chmod 600 .env
  tmp=$(mktemp)
  grep -v "^$key=" .env > "$tmp" || true
  printf '%s=%s\n' "$key" "$value" >> "$tmp"
  cat "$tmp" > .env && rm -f "$tmp"
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
random_b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }

# The master key for Stripe credentials at rest: KID:base64 of 32 random bytes (README.md, Stripe).
new_secrets_key() { printf 'k%s:%s' "$(date -u +%Y%m%d)" "$(head -c 32 /dev/urandom | base64 | tr -d '\n')"; }

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

# --- 1. an existing server that already has pgvector -------------------------------------------
existing_url=${DATABASE_URL:-$(env_get DATABASE_URL)}
if [ -n "$existing_url" ] && command -v psql >/dev/null 2>&1; then
  v=$(psql "$existing_url" -XAtqc "select default_version from pg_available_extensions where name = 'vector'" 2>/dev/null || true)
  if [ -n "$v" ] && version_ge "$v" "$MIN_VECTOR"; then
    [ -n "$(env_get JWT_SECRET)" ] || env_set JWT_SECRET "$(random_hex 32)"
    [ -n "$(env_get AUDIT_KEY)" ] || env_set AUDIT_KEY "$(random_b64 32)"
    [ -n "$(env_get SECRETS_KEY)" ] || env_set SECRETS_KEY "$(new_secrets_key)"
    [ -n "$(env_get DATABASE_URL)" ] || env_set DATABASE_URL "$existing_url"
    log "using the server at DATABASE_URL (pgvector $v)"
    exit 0
  fi
fi

# --- 2a. PostgreSQL ----------------------------------------------------------------------------
apt_updated=0
apt_update_once() {
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq >/dev/null
    apt_updated=1
  fi
}
apt_install() {
  apt_update_once
  log "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt_install postgresql postgresql-contrib
fi
PG_MAJOR=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config || true)

# --- 2b. a running cluster ---------------------------------------------------------------------
if command -v pg_lsclusters >/dev/null 2>&1; then
  if [ -z "$(pg_lsclusters -h 2>/dev/null | awk -v v="$PG_MAJOR" '$1 == v')" ]; then
    log "creating cluster $PG_MAJOR/main"
    as_root pg_createcluster "$PG_MAJOR" main >/dev/null
  fi
  cluster=$(pg_lsclusters -h | awk -v v="$PG_MAJOR" '$1 == v {print $2; exit}')
  if ! pg_lsclusters -h | awk -v v="$PG_MAJOR" -v c="$cluster" '$1 == v && $2 == c {print $4}' | grep -q online; then
    log "starting cluster $PG_MAJOR/$cluster"
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$cluster" start
  fi
  PG_PORT=$(pg_lsclusters -h | awk -v v="$PG_MAJOR" -v c="$cluster" '$1 == v && $2 == c {print $3}')
fi

admin_psql() { # runs psql as the cluster's superuser, without NOTICE chatter
  export PGOPTIONS='-c client_min_messages=warning'
  if [ -n "${DATABASE_ADMIN_URL:-}" ]; then
    psql "$DATABASE_ADMIN_URL" -XAtq -v ON_ERROR_STOP=1 "$@"
  elif [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
    (cd / && runuser -u postgres -- psql -p "$PG_PORT" -XAtq -v ON_ERROR_STOP=1 "$@")
  else
    psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -XAtq -v ON_ERROR_STOP=1 "$@"
  fi
}

for _ in $(seq 1 30); do admin_psql -d postgres -c 'select 1' >/dev/null 2>&1 && break; sleep 1; done
admin_psql -d postgres -c 'select 1' >/dev/null || die "PostgreSQL $PG_MAJOR does not accept connections on port $PG_PORT"

# --- 2c. pgvector ------------------------------------------------------------------------------
vector_version() {
  admin_psql -d postgres -c "select default_version from pg_available_extensions where name = 'vector'" 2>/dev/null || true
}

build_pgvector_from_trixie_source() {
  local src=/etc/apt/sources.list.d/trixie-src.sources
  if [ ! -f "$src" ]; then
    # Derive the deb-src entry from the machine's own Debian entry (same mirror, same keyring).
    local uri keyring
    uri=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$uri" ] || die "no Debian entry in /etc/apt to derive a trixie deb-src entry from"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    log "adding a deb-src entry for Debian 13 (trixie) from $uri"
    printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' "$uri" "$keyring" \
      | as_root tee "$src" >/dev/null
    apt_updated=0
  fi
  apt_install "postgresql-server-dev-$PG_MAJOR" build-essential dpkg-dev
  local work
  work=$(mktemp -d)
  log "building pgvector from Debian 13's source package"
  (cd "$work" && apt-get source -qq pgvector >/dev/null 2>&1) || die "apt-get source pgvector failed"
  local dir
  dir=$(find "$work" -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
  [ -n "$dir" ] || die "the pgvector source package did not unpack"
  make -s -C "$dir" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >/dev/null 2>&1 || die "building pgvector failed"
  as_root make -s -C "$dir" PG_CONFIG="$PG_CONFIG" install >/dev/null || die "installing pgvector failed"
  rm -rf "$work"
}

v=$(vector_version)
if [ -z "$v" ] || ! version_ge "$v" "$MIN_VECTOR"; then
  apt_update_once
  pkg="postgresql-$PG_MAJOR-pgvector"
  candidate=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && version_ge "${candidate%%-*}" "$MIN_VECTOR"; then
    apt_install "$pkg"
  else
    build_pgvector_from_trixie_source
  fi
  v=$(vector_version)
  [ -n "$v" ] && version_ge "$v" "$MIN_VECTOR" || die "pgvector >= $MIN_VECTOR is still not available after installing it"
  log "pgvector $v installed"
fi

# --- 2d. roles and database --------------------------------------------------------------------
owner_pw=$(env_get DATABASE_OWNER_URL | sed -n 's|^postgres://[^:]*:\([^@]*\)@.*|\1|p')
app_pw=$(env_get DATABASE_URL | sed -n 's|^postgres://[^:]*:\([^@]*\)@.*|\1|p')
[ -n "$owner_pw" ] || owner_pw=$(random_hex 16)
[ -n "$app_pw" ] || app_pw=$(random_hex 16)

# The owner runs migrations and owns the tables; CREATEDB lets the test suite make a database per
# test. The service role is what everything else connects as: no superuser, no BYPASSRLS, no tables.
admin_psql -d postgres <<SQL >/dev/null
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$OWNER_ROLE') THEN
    CREATE ROLE $OWNER_ROLE LOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
    CREATE ROLE $APP_ROLE LOGIN;
  END IF;
END
\$\$;
ALTER ROLE $OWNER_ROLE LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '$owner_pw';
ALTER ROLE $APP_ROLE LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT PASSWORD '$app_pw';
SQL

if [ -z "$(admin_psql -d postgres -c "select 1 from pg_database where datname = '$DB_NAME'")" ]; then
  log "creating database $DB_NAME"
  admin_psql -d postgres -c "CREATE DATABASE $DB_NAME OWNER $OWNER_ROLE" >/dev/null
fi
# SECURITY.md D4: no temporary objects for anyone but the owner, so that no caller can shadow a
# table a SECURITY DEFINER function uses. (The migrations revoke it too; a database made with
# CREATE DATABASE … TEMPLATE does not inherit database privileges, so the test suite revokes it on
# each of its databases.)
admin_psql -d postgres -c "REVOKE TEMPORARY ON DATABASE $DB_NAME FROM PUBLIC" >/dev/null
# pgvector is created by the superuser once; migrations only check that it is there. template1 gets it
# too so that databases the test suite creates as the owner have it without superuser rights.
for db in "$DB_NAME" template1; do
  admin_psql -d "$db" -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
  admin_psql -d "$db" -c "ALTER EXTENSION vector UPDATE" >/dev/null 2>&1 || true
done

# --- 3. .env -----------------------------------------------------------------------------------
env_set DATABASE_URL "postgres://$APP_ROLE:$app_pw@$PG_HOST:$PG_PORT/$DB_NAME"
env_set DATABASE_OWNER_URL "postgres://$OWNER_ROLE:$owner_pw@$PG_HOST:$PG_PORT/$DB_NAME"
[ -n "$(env_get JWT_SECRET)" ] || env_set JWT_SECRET "$(random_hex 32)"
[ -n "$(env_get AUDIT_KEY)" ] || env_set AUDIT_KEY "$(random_b64 32)"
[ -n "$(env_get SECRETS_KEY)" ] || env_set SECRETS_KEY "$(new_secrets_key)"
[ -n "$(env_get JWT_ISSUER)" ] || env_set JWT_ISSUER "support-agent"
[ -n "$(env_get JWT_AUDIENCE)" ] || env_set JWT_AUDIENCE "support-agent"

log "ready: PostgreSQL $PG_MAJOR on port $PG_PORT, pgvector $(vector_version), database $DB_NAME, .env written"
