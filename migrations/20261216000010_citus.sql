-- The whole product on Citus (issue 25): a customer scope that Citus copies to its shards
-- faithfully, and a claim that works one tenant, one shard at a time.
--
-- How migrations run on Citus: `support-agent migrate --citus` applies them on the coordinator
-- and then distributes (src/db/citus.rs): `users` a reference table, every table with a user_id
-- column distributed by it and colocated with `customers`. A migration applied to a database that
-- is already distributed runs there as written: Citus sends ALTER TABLE, CREATE INDEX, CREATE
-- POLICY, GRANT and CREATE FUNCTION to every node; a new tenant table is created local and
-- distributed by the `migrate --citus` that follows. Each migration from this one on says in its
-- header anything that runs differently there, and adds no RESTRICTIVE policy (see below). This
-- one: nothing (its functions reach every node, its policies every shard).

-- The customer scope, part 2 -------------------------------------------------------------------------
-- Two things Citus does not do with the customer_scope policies of 20261210000010_customer_scope.sql:
-- * it copies a policy to the shards without AS RESTRICTIVE (Citus 13.2: its CREATE POLICY for a
--   shard has no such clause), and a permissive customer_scope, ORed with tenant_isolation,
--   admitted every row of every tenant whenever no customer scope was set (verified: the service
--   role without a tenant context counted every tenant's tickets);
-- * it refuses a policy with a subquery on a distributed table ("Subqueries are not supported in
--   policies on distributed tables"), and the scope of the tables that belong to a customer
--   through their ticket was one.
-- So the scope moves into the one permissive policy, tenant_isolation, ANDed with the tenant
-- context: the rows admitted are the same as with the restrictive policy, on both. The tables
-- that belong to a customer through their ticket read the ticket's customer through
-- scope_ticket_customer instead of a subquery. No table has a restrictive policy any more
-- (`doctor` reports one on Citus).
--
-- scope_ticket_customer runs as the caller (the tickets policy applies to its read as it did to
-- the subquery) and takes the tenant with the ticket, so that its read is one tenant's. On Citus
-- the policy is evaluated on the worker that holds the row, where the ticket is in the colocated
-- shard of tickets on that same node: the function reads that shard itself (Citus refuses a
-- query of the distributed table from inside a shard's query).
CREATE FUNCTION scope_ticket_customer(tenant uuid, ticket uuid) RETURNS uuid
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    customer uuid;
BEGIN
    IF ticket IS NULL THEN
        RETURN NULL;
    END IF;
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition
                    WHERE logicalrelid = 'public.tickets'::regclass AND partmethod = 'h') THEN
            EXECUTE format('SELECT customer_id FROM public.%I WHERE user_id = $1 AND id = $2',
                           'tickets_' || get_shard_id_for_distribution_column('public.tickets'::regclass, tenant))
               INTO customer USING tenant, ticket;
            RETURN customer;
        END IF;
    END IF;
    SELECT t.customer_id INTO customer FROM public.tickets t WHERE t.user_id = tenant AND t.id = ticket;
    RETURN customer;
END
$$;
REVOKE ALL ON FUNCTION scope_ticket_customer(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scope_ticket_customer(uuid, uuid) TO support_agent_app;

DO $$
DECLARE
    t text;
    scoped text;
    expr text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'tickets', 'messages', 'jobs', 'inbound_emails',
                             'stripe_events', 'actions'] LOOP
        scoped := CASE t
            WHEN 'customers' THEN 'id'
            WHEN 'tickets' THEN 'customer_id'
            ELSE 'scope_ticket_customer(user_id, ticket_id)'
        END;
        expr := format(
            'user_id = NULLIF(current_setting(''app.current_user_id'', true), '''')::uuid '
            'AND (NULLIF(current_setting(''app.scope_customer_id'', true), '''') IS NULL '
            '     OR %s = NULLIF(current_setting(''app.scope_customer_id'', true), '''')::uuid)',
            scoped);
        EXECUTE format('DROP POLICY customer_scope ON %I', t);
        EXECUTE format('DROP POLICY tenant_isolation ON %I', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I FOR ALL USING (%s) WITH CHECK (%s)',
                       t, expr, expr);
    END LOOP;
END
$$;

-- The claim, one tenant at a time -----------------------------------------------------------------
-- claim_jobs updated jobs of many tenants in one statement, `UPDATE … FROM (SELECT … FOR UPDATE
-- SKIP LOCKED)` across every shard, which Citus cannot plan. A claim is now two steps
-- (src/jobs/store.rs): this function finds the tenants with due jobs, oldest due job first, with
-- how many more leases each may take; then the worker claims each tenant's share in that tenant's
-- own transaction, as the service role under its tenant context, with a statement that says
-- `user_id = $1` (one shard on Citus) and takes the jobs `FOR UPDATE SKIP LOCKED` (Q1).
--
-- SECURITY DEFINER, because the service role sees one tenant at a time and a worker must find the
-- tenants with due jobs. It returns tenant ids and counts only: no job, no row of a tenant. D4:
-- search_path is pg_catalog then pg_temp, and the table is written public.jobs. On Citus its query
-- groups by the distribution column, so every shard answers for its own tenants.
DROP FUNCTION claim_jobs(text, integer, integer, text[], integer);

CREATE FUNCTION due_tenants(kinds text[], per_tenant integer, max_tenants integer)
    RETURNS TABLE (user_id uuid, oldest timestamptz, due bigint, slots integer)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- plpgsql rather than sql: Citus cannot plan a distributed query inside a SQL function
    -- that uses the function's parameters ("could not create distributed plan").
    RETURN QUERY
    SELECT d.user_id, d.oldest, d.due, (least(per_tenant, 100) - d.live)::integer
      FROM (SELECT j.user_id,
                   min(j.run_at) FILTER (WHERE j.kind = ANY (kinds)
                       AND ((j.status = 'queued' AND j.run_at <= now())
                         OR (j.status = 'running' AND j.locked_until < now()))) AS oldest,
                   count(*) FILTER (WHERE j.kind = ANY (kinds)
                       AND ((j.status = 'queued' AND j.run_at <= now())
                         OR (j.status = 'running' AND j.locked_until < now()))) AS due,
                   count(*) FILTER (WHERE j.status = 'running' AND j.locked_until >= now()) AS live
              FROM public.jobs j
             WHERE j.status IN ('queued', 'running')
             GROUP BY j.user_id) d
     WHERE d.due > 0 AND d.live < least(per_tenant, 100)
     ORDER BY d.oldest, d.user_id
     LIMIT greatest(least(max_tenants, 1000), 1);
END
$$;
REVOKE ALL ON FUNCTION due_tenants(text[], integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION due_tenants(text[], integer, integer) TO support_agent_app;
