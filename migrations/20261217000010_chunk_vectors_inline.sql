-- A chunk's vector kept in its row (issue 26: the search statement's latency).
--
-- pgvector gives its type EXTERNAL storage, so every chunk's 1,544-byte embedding was written
-- out of line to the TOAST table, and every distance the exact path computes (tenants of up to
-- KB_EXACT_MAX_CHUNKS chunks, nearly all of them) first fetched the vector from there: for a
-- 999-chunk tenant 5.8 of the vector ranking's 6.6 ms (EXPLAIN ANALYZE in
-- BENCHMARKS-knowledge.md). MAIN keeps the vector in the row unless nothing else can make the row
-- fit; toast_tuple_target 8160 leaves a row of ordinary size (about 2.9 kB: text, tsvector,
-- vector) whole and uncompressed, so the full-text branch does not decompress tsv either. A
-- longer chunk (text up to 20,000 characters) is still compressed and moved out as before. The
-- HNSW index keeps its own copy of the vectors and is not touched.
--
-- Metadata only, instant on a populated database (no rewrite, no lock held beyond the catalog
-- update): rows written from now on (ingestion, re-ingestion, `knowledge reembed`) keep their
-- vectors inline; rows already written keep theirs out of line, are read exactly as before, and
-- move inline when they are written again (or all at once with `VACUUM FULL chunks` in a
-- maintenance window, which rebuilds the table and its indexes).
--
-- Citus: ALTER TABLE … SET STORAGE and SET (reloption) on a distributed table are sent to every
-- shard; not run on Citus here.

ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE MAIN;
ALTER TABLE chunks SET (toast_tuple_target = 8160);
