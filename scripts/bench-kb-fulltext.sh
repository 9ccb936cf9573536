#!/usr/bin/env bash
# The large tenant's full-text branch alone, two ways side by side (issue 20; figures in
# BENCHMARKS-knowledge.md, "The postings"): BM25's 40 best chunks for three random words of
# kb_scale's vocabulary, as the service role in the tenant's transaction,
#   definer:  the matches through knowledge_text_matches (the tenant's own GIN index), BM25
#             computed over the returned vectors (the search's form before the postings);
#   postings: BM25 from chunk_postings, one index-only range scan per word (the search's form).
# pgbench, one client, SECONDS_PER_RUN (10) each, alternated ROUNDS (2) times. Not a test; after
#
#   cargo run --release --example kb_scale -- --tenants 1000 --chunks 1000000 --large 100000 --tiny 20
#   support-agent knowledge index          # DATABASE_OWNER_URL of that database
#   bash scripts/bench-kb-fulltext.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-2}
DB=${KB_SCALE_DB:-support_agent_kb_scale}
MODEL=synthetic-384
env_get() { sed -n "s/^$1=//p" .env | tail -n 1; }
app=$(env_get DATABASE_URL)
owner=$(env_get DATABASE_OWNER_URL)
[ -n "$app" ] && [ -n "$owner" ] || { echo "run scripts/setup.sh first" >&2; exit 1; }
tenant=$(psql "${owner%/*}/$DB" -XAtqc "SELECT id FROM users WHERE name = 'bench-large'")
[ -n "$tenant" ] || { echo "no kb_scale database at $DB: run kb_scale first" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

head='\set a random(0, 1999)
\set b random(0, 1999)
\set c random(0, 1999)
BEGIN;
SELECT set_config('"'"'app.current_user_id'"'"', '"'"':tenant'"'"', true);'
stats="WITH terms AS MATERIALIZED (SELECT array_agg(lexeme) AS lexemes, \
string_agg('''' || lexeme || '''', ' | ')::tsquery AS query \
FROM unnest(to_tsvector('english', 'w:a w:b w:c'))), \
n AS MATERIALIZED (SELECT greatest(coalesce(max(chunks), 0), 1)::float8 AS n, \
greatest(coalesce(max(lexemes)::float8 / greatest(max(chunks), 1), 1), 1) AS avglen \
FROM chunk_stats WHERE user_id = ':tenant' AND embed_model = '$MODEL'), \
idf AS MATERIALIZED (SELECT d.lexeme, ln(1 + (n.n - w.df + 0.5) / (w.df + 0.5)) AS idf \
FROM chunk_terms d CROSS JOIN n CROSS JOIN LATERAL (SELECT least(greatest(d.df, 1)::float8, n.n) AS df) w \
WHERE d.user_id = ':tenant' AND d.embed_model = '$MODEL' AND d.lexeme = ANY ((SELECT lexemes FROM terms)::text[]))"
bm25="coalesce(idf.idf, ln(1 + (n.n - 0.5) / 1.5)) * TF * 2.2 / (TF + 1.2 * (0.25 + 0.75 * LEN / n.avglen))"
definer="$stats, scan AS MATERIALIZED (SELECT c.id, c.document_id, length(c.tsv) AS len, \
ts_filter(setweight(c.tsv, 'C', t.lexemes), '{c}') AS hit \
FROM terms t, knowledge_text_matches(t.query, '$MODEL') c), \
tf AS (SELECT s.id, s.document_id, s.len, u.lexeme, cardinality(u.positions) AS tf FROM scan s, unnest(s.hit) u), \
fts AS MATERIALIZED (SELECT tf.id, tf.document_id, sum(${bm25//TF/tf.tf}) AS score \
FROM tf CROSS JOIN n LEFT JOIN idf USING (lexeme) GROUP BY tf.id, tf.document_id \
ORDER BY score DESC, tf.id LIMIT 40) SELECT count(*) FROM fts;"
postings="$stats, fts AS MATERIALIZED (SELECT b.id, c.document_id, b.score FROM (\
SELECT p.chunk_id AS id, sum(${bm25//TF/p.tf}) AS score \
FROM chunk_postings p CROSS JOIN n LEFT JOIN idf USING (lexeme) \
WHERE p.user_id = ':tenant' AND p.embed_model = '$MODEL' AND p.lexeme = ANY ((SELECT lexemes FROM terms)::text[]) \
GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT 40) b \
JOIN chunks c ON c.user_id = ':tenant' AND c.id = b.id) SELECT count(*) FROM fts;"
printf '%s\n%s\nCOMMIT;\n' "$head" "${definer//LEN/tf.len}" >"$out/definer.sql"
printf '%s\n%s\nCOMMIT;\n' "$head" "${postings//LEN/p.len}" >"$out/postings.sql"
echo "| full-text branch | round | average latency | tps |"
echo "|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  for form in definer postings; do
    res=$(pgbench -n "${app%/*}/$DB" -D tenant="$tenant" -f "$out/$form.sql" -T "$SECS" 2>&1) ||
      { echo "$res" >&2; exit 1; }
    lat=$(sed -n 's/^latency average = //p' <<<"$res")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$res")
    echo "| $form | $round | $lat | $tps |"
  done
done
