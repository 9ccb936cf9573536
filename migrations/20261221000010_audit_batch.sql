-- Audit: a batch of many tenants' tool calls in one statement -------------------------------------
-- The HTTP server's audit writer (src/audit/writer.rs) drains its queue in batches that hold the
-- calls of many tenants when many tenants are calling. Written one transaction per tenant, a batch
-- of N tenants cost N × (BEGIN; SET LOCAL, INSERT, COMMIT, the pool's release ping) round trips —
-- as many as the calls themselves under a random-tenant load. This function writes the whole batch
-- in one statement.
--
-- SECURITY INVOKER (the default): it runs as its caller, the service role, so forced row-level
-- security checks every row. For each run of one tenant's rows (the caller sorts the batch by
-- tenant) it sets the transaction-local tenant context to that tenant and inserts those rows, as a
-- transaction of that tenant would (R3). Before it returns, the context is emptied, so nothing after
-- it in the same transaction runs as the batch's last tenant. It has no exception handler: a
-- subtransaction per tenant would overflow the backend's cache of 64 subtransactions on a large
-- batch and slow every other transaction's snapshots. A row that cannot be written (its tenant's
-- account deleted meanwhile) fails the statement, and the caller then writes the batch one tenant
-- per transaction, so that no other tenant loses its rows. D4: search_path is pg_catalog then
-- pg_temp, and the table is written public.tool_calls.
CREATE FUNCTION record_tool_calls(user_ids uuid[], ids uuid[], kinds text[], tools text[],
                                  hmacs text[], outcomes text[], latencies bigint[],
                                  transports text[])
    RETURNS bigint
    LANGUAGE plpgsql
    SECURITY INVOKER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := coalesce(array_length(user_ids, 1), 0);
    lo integer := 1;
    written bigint := 0;
    added bigint;
BEGIN
    IF array_length(ids, 1) IS DISTINCT FROM n OR array_length(kinds, 1) IS DISTINCT FROM n
       OR array_length(tools, 1) IS DISTINCT FROM n OR array_length(hmacs, 1) IS DISTINCT FROM n
       OR array_length(outcomes, 1) IS DISTINCT FROM n
       OR array_length(latencies, 1) IS DISTINCT FROM n
       OR array_length(transports, 1) IS DISTINCT FROM n THEN
        RAISE EXCEPTION 'record_tool_calls: the arrays differ in length';
    END IF;
    FOR hi IN 1 .. n LOOP
        CONTINUE WHEN hi < n AND user_ids[hi + 1] = user_ids[lo];
        PERFORM set_config('app.current_user_id', user_ids[lo]::text, true);
        INSERT INTO public.tool_calls (user_id, id, kind, tool, args_hmac, outcome, latency_us,
                                       transport)
        SELECT user_ids[lo], c.*
          FROM unnest(ids[lo:hi], kinds[lo:hi], tools[lo:hi], hmacs[lo:hi], outcomes[lo:hi],
                      latencies[lo:hi], transports[lo:hi]) AS c;
        GET DIAGNOSTICS added = ROW_COUNT;
        written := written + added;
        lo := hi + 1;
    END LOOP;
    PERFORM set_config('app.current_user_id', '', true);
    RETURN written;
END
$$;
REVOKE ALL ON FUNCTION record_tool_calls(uuid[], uuid[], text[], text[], text[], text[], bigint[],
                                         text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_tool_calls(uuid[], uuid[], text[], text[], text[], text[],
                                            bigint[], text[]) TO support_agent_app;
