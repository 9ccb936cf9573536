-- The queue's shape for every kind of job, a claim that no caller can hijack and no tenant can
-- hog, and the per-tenant LLM token ledger (SECURITY.md D4, D5, Q1–Q4).
--
-- Citus: `jobs` and `llm_usage` are tenant tables distributed by user_id like the others
-- (`support-agent migrate --citus`); claim_jobs reads across tenants, which issue O replaces by a
-- per-tenant, single-shard claim there.

-- Kinds -------------------------------------------------------------------------------------------
-- triage:       a ticket (and the customer message that caused it, if any) to draft a reply for;
-- deliver:      an agent or approved ai message (message_id) on a ticket to send by email;
-- stripe_event: a stored Stripe event (payload_id) to act on; no ticket yet.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('triage', 'deliver', 'stripe_event'));
ALTER TABLE jobs ALTER COLUMN ticket_id DROP NOT NULL;
-- What the job acts on beyond its ticket and message: a row of a kind-specific table, in the
-- same tenant (e.g. the stripe_events row of a stripe_event job).
ALTER TABLE jobs ADD COLUMN payload_id uuid;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_references CHECK (
    CASE kind
        WHEN 'triage' THEN ticket_id IS NOT NULL AND payload_id IS NULL
        WHEN 'deliver' THEN ticket_id IS NOT NULL AND message_id IS NOT NULL AND payload_id IS NULL
        WHEN 'stripe_event' THEN ticket_id IS NULL AND message_id IS NULL AND payload_id IS NOT NULL
    END
);
-- One job per trigger and kind: a retried enqueue is a no-op (Q2).
ALTER TABLE jobs DROP CONSTRAINT jobs_user_id_trigger_key;
ALTER TABLE jobs ADD CONSTRAINT jobs_user_id_trigger_key
    UNIQUE NULLS NOT DISTINCT (user_id, kind, ticket_id, message_id, payload_id);

-- The claim's per-tenant scans: each tenant's due jobs, oldest first, and its live leases.
CREATE INDEX jobs_user_id_due_idx ON jobs (user_id, run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_user_id_lease_idx ON jobs (user_id, locked_until) WHERE status = 'running';

-- The claim ------------------------------------------------------------------------------------------
DROP FUNCTION claim_jobs(text, integer, integer);

-- Claims up to `batch` due jobs of the given `kinds` for `worker` under a lease of
-- `lease_seconds` (1 s to 1 h): queued jobs whose run_at has come, and running jobs whose lease
-- has expired (a worker that died).
--
-- Fair across tenants (D5): tenants take turns, oldest due job first — every tenant with a due
-- job gets its first job into a batch before any tenant gets its second — and no tenant holds
-- more than `per_tenant` live leases, so one tenant's backlog cannot take every worker.
-- Claims are serialised by a transaction-level advisory lock, so two workers claiming at once
-- cannot both give a tenant its last free slot.
--
-- SECURITY DEFINER, because the service role sees one tenant at a time and a worker must find
-- the next due job of every tenant. It runs as the owner, whose queue_operator policy covers jobs
-- only, and returns nothing but the keys a worker needs to open a transaction under the job's own
-- tenant (Q1, Q2). D4: search_path is pg_catalog then pg_temp, so that a caller's temporary
-- table named `jobs` cannot stand in for ours, and every table is written `public.…`.
CREATE FUNCTION claim_jobs(worker text, batch integer, lease_seconds integer, kinds text[],
                           per_tenant integer)
    RETURNS TABLE (user_id uuid, id uuid, kind text, ticket_id uuid, message_id uuid,
                   payload_id uuid, attempts integer, max_attempts integer)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(7160002);
    RETURN QUERY
    WITH due_tenants AS (
        SELECT d.user_id, min(d.run_at) AS oldest
          FROM public.jobs d
         WHERE d.kind = ANY (kinds)
           AND ((d.status = 'queued' AND d.run_at <= now())
             OR (d.status = 'running' AND d.locked_until < now()))
         GROUP BY d.user_id
    ),
    free AS (
        SELECT t.user_id, t.oldest,
               greatest(least(per_tenant, 100) - (
                   SELECT count(*) FROM public.jobs r
                    WHERE r.user_id = t.user_id AND r.status = 'running'
                      AND r.locked_until >= now()), 0) AS slots
          FROM due_tenants t
    ),
    candidates AS (
        SELECT c.user_id, c.id, f.oldest, c.run_at,
               row_number() OVER (PARTITION BY c.user_id ORDER BY c.run_at, c.id) AS turn
          FROM free f
          CROSS JOIN LATERAL (
              SELECT j.user_id, j.id, j.run_at
                FROM public.jobs j
               WHERE j.user_id = f.user_id
                 AND j.kind = ANY (kinds)
                 AND ((j.status = 'queued' AND j.run_at <= now())
                   OR (j.status = 'running' AND j.locked_until < now()))
               ORDER BY j.run_at, j.id
               LIMIT f.slots
               FOR UPDATE SKIP LOCKED
          ) c
    ),
    chosen AS (
        SELECT c.user_id, c.id
          FROM candidates c
         ORDER BY c.turn, c.oldest, c.user_id
         LIMIT greatest(least(batch, 100), 1)
    )
    UPDATE public.jobs j
       SET status = 'running',
           attempts = j.attempts + 1,
           locked_by = left(worker, 200),
           locked_until = now() + make_interval(secs => least(greatest(lease_seconds, 1), 3600))
      FROM chosen
     WHERE j.user_id = chosen.user_id AND j.id = chosen.id
    RETURNING j.user_id, j.id, j.kind, j.ticket_id, j.message_id, j.payload_id, j.attempts,
              j.max_attempts;
END
$$;
REVOKE ALL ON FUNCTION claim_jobs(text, integer, integer, text[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_jobs(text, integer, integer, text[], integer) TO support_agent_app;

-- The LLM token ledger -------------------------------------------------------------------------------
-- Tokens a tenant's triage jobs spent per UTC day, against TENANT_LLM_TOKENS_PER_DAY (D5).
CREATE TABLE llm_usage (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day        date NOT NULL,
    tokens     bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT llm_usage_pkey PRIMARY KEY (user_id, day)
);
ALTER TABLE llm_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE llm_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON llm_usage FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON llm_usage FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, UPDATE ON llm_usage TO support_agent_app;

-- D4: nobody but the owner may create temporary objects here; a temporary table is how a caller
-- would shadow one of ours. (CREATE DATABASE … TEMPLATE does not copy database privileges:
-- scripts/setup.sh and the test suite revoke TEMP on every database they create, too.)
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'could not revoke TEMPORARY on database %: run scripts/setup.sh', current_database();
END
$$;
