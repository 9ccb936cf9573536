-- BM25's statistics kept per tenant as chunks are written (issue 26: the search statement's
-- latency).
--
-- The full-text ranking weighs each query word by its inverse document frequency among the
-- tenant's own chunks and normalises each chunk's length by the tenant's average. Until now the
-- search statement counted both on every search, reading every one of the tenant's rows and
-- cutting each matching row's tsvector down to the query's words to count the words' document
-- frequencies. Kept here, a search reads one row of chunk_stats and one row of chunk_terms per
-- query word, and only the matching chunks' positions.
--
-- Both tables are keyed by the embedding model, as the search is (it ranks only the chunks of the
-- configured model, so a tenant half-way through `knowledge reembed` has two sets of figures).
-- The knowledge store (src/knowledge/store/terms.rs) is their one writer: it adds a document's
-- figures in the transaction that writes its chunks, subtracts them in the one that deletes or
-- replaces them, and moves them from model to model in the one that re-embeds them, each time in
-- one statement per table whose rows it locks in key order, so concurrent ingestions of one
-- tenant wait for each other but never deadlock. A lexeme whose count falls to 0 keeps its row
-- (the tenant's vocabulary bounds them; `recount` in the store rewrites both tables from the
-- chunks). A user's rows go with the user (ON DELETE CASCADE).
--
-- On a populated database the figures of the chunks already written are counted here, with
-- chunks locked against writes (SHARE) for that time: seconds per million chunks.
--
-- Citus: the two tables are created local and distributed by user_id, colocated with chunks,
-- by the `migrate --citus` that follows (src/db/citus.rs); the backfill below reads chunks from
-- every shard through the coordinator. Not run on Citus here.

CREATE TABLE chunk_stats (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    embed_model text NOT NULL,
    -- How many of the tenant's chunks the model embedded.
    chunks      bigint NOT NULL,
    -- The sum of those chunks' lengths (distinct lexemes, `length(tsv)`).
    lexemes     bigint NOT NULL,
    CONSTRAINT chunk_stats_pkey PRIMARY KEY (user_id, embed_model)
);

CREATE TABLE chunk_terms (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    embed_model text NOT NULL,
    lexeme      text NOT NULL,
    -- How many of the tenant's chunks of that model contain the lexeme.
    df          bigint NOT NULL,
    CONSTRAINT chunk_terms_pkey PRIMARY KEY (user_id, embed_model, lexeme)
);

LOCK TABLE chunks IN SHARE MODE;

INSERT INTO chunk_stats (user_id, embed_model, chunks, lexemes)
SELECT user_id, embed_model, count(*), sum(length(tsv))
FROM chunks GROUP BY user_id, embed_model;

INSERT INTO chunk_terms (user_id, embed_model, lexeme, df)
SELECT c.user_id, c.embed_model, l.lexeme, count(*)
FROM chunks c, unnest(tsvector_to_array(c.tsv)) AS l (lexeme)
GROUP BY c.user_id, c.embed_model, l.lexeme;

-- Planner statistics now, not at autovacuum's next visit: until then the search would read
-- every one of a tenant's rows in chunk_terms instead of looking up the query's words.
ANALYZE chunk_stats, chunk_terms;

-- Row-level security, as on every tenant table (20261127000001_foundation.sql): enabled after the
-- backfill, which the owner writes for every tenant.
ALTER TABLE chunk_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE chunk_stats FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chunk_stats FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON chunk_stats FOR SELECT TO CURRENT_USER USING (true);

ALTER TABLE chunk_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE chunk_terms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chunk_terms FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON chunk_terms FOR SELECT TO CURRENT_USER USING (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON chunk_stats, chunk_terms TO support_agent_app;
