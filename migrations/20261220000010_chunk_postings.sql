-- BM25's postings kept per tenant as chunks are written (issue 20: a large tenant's full-text
-- ranking).
--
-- The full-text ranking needs, for each of the tenant's chunks that holds one of the query's
-- words, how often it holds it and how long the chunk is. Read from `chunks`, that means visiting
-- every matching row (each beside its 1.5 kB vector, about one heap page a match: 1,800 pages and
-- 12 ms for a 100,000-chunk tenant's three-word question, BENCHMARKS-knowledge.md), and under
-- forced row-level security the service role could only find those rows by reading all of the
-- tenant's (`@@` is not LEAKPROOF). Kept here, one row per chunk and lexeme, the ranking is one
-- index-only range scan of the primary key per query word: its time follows the matches, never
-- the tenant's size, and every index condition (uuid and text equality) is LEAKPROOF, so the
-- policies below apply as on any tenant table.
--
-- Keyed by the embedding model, as chunk_terms is (the search ranks only the chunks of the
-- configured model). `tf` is the lexeme's occurrences in the chunk, `tf_title` those of them in
-- the title or headings (weight A, for a title weight other than 1), `len` the chunk's length in
-- distinct lexemes (`length(tsv)`). The chunk's document is not kept: the ranking reads it for
-- its 40 best chunks only, by primary key.
--
-- The knowledge store (src/knowledge/store/terms.rs) is the one writer, in the transactions that
-- write, replace, delete or re-embed chunks; `recount` rewrites a tenant's rows from its chunks.
-- A user's rows go with the user (ON DELETE CASCADE).
--
-- On a populated database the postings of the chunks already written are written here, with
-- chunks locked against writes (SHARE) meanwhile: 13,967,189 postings of 1,000,000 chunks
-- (kb_scale's database) in 162 s on 2 cores, 1.2 GB of table and 1.1 GB of index.
--
-- Citus: created local and distributed by user_id, colocated with chunks, by the `migrate
-- --citus` that follows (src/db/citus.rs). Not run on Citus here.

CREATE TABLE chunk_postings (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    embed_model text NOT NULL,
    lexeme      text NOT NULL,
    chunk_id    uuid NOT NULL,
    tf          integer NOT NULL,
    tf_title    integer NOT NULL,
    len         integer NOT NULL,
    CONSTRAINT chunk_postings_pkey PRIMARY KEY (user_id, embed_model, lexeme, chunk_id)
        INCLUDE (tf, tf_title, len)
);

LOCK TABLE chunks IN SHARE MODE;

INSERT INTO chunk_postings (user_id, embed_model, lexeme, chunk_id, tf, tf_title, len)
SELECT c.user_id, c.embed_model, u.lexeme, c.id, coalesce(cardinality(u.positions), 1),
       coalesce(cardinality(array_positions(u.weights, 'A')), 0), length(c.tsv)
FROM chunks c, unnest(c.tsv) AS u
ORDER BY 1, 2, 3, 4;

-- Planner statistics now, not at autovacuum's next visit.
ANALYZE chunk_postings;

-- Row-level security, as on every tenant table (20261127000001_foundation.sql): enabled after the
-- backfill, which the owner writes for every tenant.
ALTER TABLE chunk_postings ENABLE ROW LEVEL SECURITY;
ALTER TABLE chunk_postings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chunk_postings FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON chunk_postings FOR SELECT TO CURRENT_USER USING (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON chunk_postings TO support_agent_app;
