#!/usr/bin/env bash
# Seeds a benchmark database: TENANTS tenants (default 1000), each with CUSTOMERS customers
# (default 50, emails c1..cN@example.com) and TICKETS tickets (default 1000) spread over statuses,
# priorities and the last year. The database is its own (support_agent_bench, dropped and made
# anew), so the dev database is left alone. Writes the tenant ids to target/bench-tenants.txt and
# says how to serve it.
#
#   bash scripts/bench-seed.sh            # 1000 x 1000
#   TENANTS=10 TICKETS=100 bash scripts/bench-seed.sh
set -euo pipefail
cd "$(dirname "$0")/.."

TENANTS=${TENANTS:-1000}
CUSTOMERS=${CUSTOMERS:-50}
TICKETS=${TICKETS:-1000}
BATCH=50
DB=support_agent_bench

env_get() { sed -n "s/^$1=//p" .env | tail -n 1; }
owner=$(env_get DATABASE_OWNER_URL)
app=$(env_get DATABASE_URL)
[ -n "$owner" ] && [ -n "$app" ] || { echo "run scripts/setup.sh first" >&2; exit 1; }
owner_db="${owner%/*}/$DB"
app_db="${app%/*}/$DB"

psql "$owner" -XAtq -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
cargo run --quiet --release --bin support-agent -- migrate --database-owner-url "$owner_db"

mkdir -p target
start=$(date +%s)
for ((first = 1; first <= TENANTS; first += BATCH)); do
  last=$((first + BATCH - 1)); [ "$last" -le "$TENANTS" ] || last=$TENANTS
  # As the service role, under row-level security: each tenant's rows are written with its own
  # tenant context (set_config is transaction-local, and this DO block is one transaction).
  psql "$app_db" -XAtq -v ON_ERROR_STOP=1 <<SQL
DO \$\$
DECLARE
  u uuid;
  customers uuid[];
BEGIN
  FOR i IN $first..$last LOOP
    u := gen_random_uuid();
    PERFORM set_config('app.current_user_id', u::text, true);
    INSERT INTO users (id, name, email) VALUES (u, 'Bench tenant ' || i, 'bench-' || i || '@example.com');
    WITH c AS (
      INSERT INTO customers (user_id, id, name, email)
      SELECT u, gen_random_uuid(), 'Customer ' || j, 'c' || j || '@example.com'
      FROM generate_series(1, $CUSTOMERS) j
      RETURNING id)
    SELECT array_agg(id) INTO customers FROM c;
    INSERT INTO tickets (user_id, id, customer_id, subject, description, status, priority, created_at)
    SELECT u, gen_random_uuid(), customers[1 + k % $CUSTOMERS], 'Ticket ' || k,
           'Seeded for the benchmark', (ARRAY['open','pending','solved','closed'])[1 + k % 4],
           (ARRAY['low','medium','high','urgent'])[1 + (k / 4) % 4],
           now() - make_interval(mins => k * 17)
    FROM generate_series(1, $TICKETS) k;
    RAISE NOTICE '%', u;
  END LOOP;
END
\$\$;
SQL
  echo "bench-seed: tenants $first-$last" >&2
done 2>&1 | sed -n 's/^.*NOTICE:  //p; /^bench-seed/p; /ERROR/p' > target/bench-seed.log
grep -v '^bench-seed' target/bench-seed.log > target/bench-tenants.txt
psql "$owner_db" -XAtq -c "ANALYZE users, customers, tickets, messages, tool_calls"
echo "bench-seed: $(wc -l < target/bench-tenants.txt) tenants, $TICKETS tickets each, in $(( $(date +%s) - start )) s" >&2
# The URL holds a password: say where it is rather than print it.
echo "bench-seed: serve it with DATABASE_URL set to .env's DATABASE_URL with the database $DB" >&2
