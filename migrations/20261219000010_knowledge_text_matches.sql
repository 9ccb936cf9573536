-- Full text for a large tenant (issue 20): its GIN index reached through one definer function.
--
-- The search's full-text ranking finds the chunks whose tsvector matches the query (`tsv @@ q`).
-- Under forced row-level security the service role cannot have that match answered by a GIN
-- index: `@@` (ts_match_vq) is not LEAKPROOF, so PostgreSQL evaluates it only after the policy's
-- check, row by row, and the statement reads every one of the tenant's rows (100,000 rows and
-- about 100 ms for the large tenant of BENCHMARKS-knowledge.md's scale run).
--
-- knowledge_text_matches answers the match for the tenant of the transaction's own context
-- (app.current_user_id, the setting the policies read), as the owner, whose operator_read policy
-- is no barrier, so that the planner may use a GIN index. D4: search_path pinned to pg_catalog,
-- pg_temp and the table written public.chunks. It takes no tenant argument, so a caller can only
-- ever ask about the tenant its own transaction is already confined to; without a context it
-- answers nothing. It returns what the ranking reads of each matching chunk (its id, document
-- and tsvector: what the service role could read of that tenant's rows itself), so that the
-- rows are visited once; the search then reads the chunks it returns as the service role, under
-- the policies. README (Large tenants) gives the whole argument, and
-- tests/it/knowledge/scale.rs the tests.
--
-- Custom plans (the function's plan_cache_mode): the tenant and the model are constants when the
-- statement is planned, so the planner can prove a per-tenant partial index's predicate
-- (`WHERE user_id = '…'`, built by `support-agent knowledge index`) and use that index, which
-- holds the tenant's rows only. The search calls this function only for a tenant that has one
-- (src/knowledge/store/search.rs), so its time depends on the tenant's own rows, never on how
-- many rows of other tenants share a word.
--
-- Citus: not used there (`knowledge index` refuses to build per-tenant indexes on Citus, and the
-- search calls the function only for a tenant that has them); created on the coordinator as
-- written.
CREATE FUNCTION knowledge_text_matches(query tsquery, model text)
    RETURNS TABLE (id uuid, document_id uuid, tsv tsvector)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    tenant uuid := NULLIF(current_setting('app.current_user_id', true), '')::uuid;
BEGIN
    IF tenant IS NULL OR query IS NULL OR model IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT c.id, c.document_id, c.tsv FROM public.chunks c
         WHERE c.user_id = tenant AND c.embed_model = model AND c.tsv @@ query;
END
$$;
REVOKE ALL ON FUNCTION knowledge_text_matches(tsquery, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION knowledge_text_matches(tsquery, text) TO support_agent_app;
