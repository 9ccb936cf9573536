-- The triage work queue, the triage fields of a ticket, and the link from an ai draft to the
-- message it answers (SECURITY.md Q1–Q4).

-- What triage decided about a ticket. NULL until the worker has looked at it.
ALTER TABLE tickets
    ADD COLUMN category    text CHECK (char_length(category) BETWEEN 1 AND 100),
    ADD COLUMN sentiment   text CHECK (sentiment IN ('negative', 'neutral', 'positive')),
    ADD COLUMN language    text CHECK (char_length(language) BETWEEN 2 AND 16),
    ADD COLUMN confidence  real CHECK (confidence BETWEEN 0 AND 1),
    ADD COLUMN needs_human boolean NOT NULL DEFAULT false,
    ADD COLUMN triaged_at  timestamptz;

-- An ai draft answers one trigger: a customer message, or the ticket itself (its description).
-- The unique key makes a retried job harmless: at most one draft per trigger (Q2).
ALTER TABLE messages
    ADD COLUMN reply_to  uuid,
    ADD COLUMN citations jsonb CHECK (jsonb_typeof(citations) = 'array'),
    ADD CONSTRAINT messages_user_id_reply_to_key UNIQUE (user_id, reply_to),
    ADD CONSTRAINT messages_reply_to_only_for_ai CHECK (reply_to IS NULL OR sender_type = 'ai');

CREATE TABLE jobs (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    kind         text NOT NULL DEFAULT 'triage' CHECK (kind IN ('triage')),
    ticket_id    uuid NOT NULL,
    -- The customer message that caused the job; NULL when a new ticket did.
    message_id   uuid,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_by    text CHECK (char_length(locked_by) <= 200),
    locked_until timestamptz,
    last_error   text CHECK (char_length(last_error) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT jobs_user_id_ticket_id_fkey FOREIGN KEY (user_id, ticket_id)
        REFERENCES tickets (user_id, id) ON DELETE CASCADE,
    CONSTRAINT jobs_user_id_message_id_fkey FOREIGN KEY (user_id, message_id)
        REFERENCES messages (user_id, id) ON DELETE CASCADE,
    CONSTRAINT jobs_user_id_trigger_key UNIQUE NULLS NOT DISTINCT (user_id, kind, ticket_id, message_id)
);
-- The claim scans due jobs across tenants; these partial indexes keep that cheap.
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_user_id_status_idx ON jobs (user_id, status);
CREATE TRIGGER jobs_set_updated_at BEFORE UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
-- The owner (this migration's role) may read and update every tenant's jobs: the operator's
-- `jobs list|retry` and the claim function below act through it. The service role may not.
CREATE POLICY queue_operator ON jobs FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);

-- Wakes idle workers (LISTEN support_agent_jobs). The payload carries no tenant data.
CREATE FUNCTION jobs_notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM pg_notify('support_agent_jobs', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF status, run_at ON jobs
    FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION jobs_notify();

-- Claims up to `batch` due jobs of any tenant for `worker` under a lease of `lease_seconds`:
-- queued jobs whose run_at has come, and running jobs whose lease has expired (a worker that died).
--
-- SECURITY DEFINER, because the service role sees one tenant at a time and a worker must find the
-- next due job of every tenant. It runs as the owner, whose queue_operator policy covers jobs only;
-- it returns nothing but the keys a worker needs to open a transaction under the job's own tenant
-- (Q1, Q2), and search_path is pinned so that no caller's objects can stand in for ours.
CREATE FUNCTION claim_jobs(worker text, batch integer, lease_seconds integer)
    RETURNS TABLE (user_id uuid, id uuid, ticket_id uuid, message_id uuid, attempts integer, max_attempts integer)
    LANGUAGE sql
    SECURITY DEFINER
    SET search_path = public, pg_catalog
AS $$
    UPDATE jobs j
       SET status = 'running',
           attempts = j.attempts + 1,
           locked_by = left(worker, 200),
           locked_until = now() + make_interval(secs => greatest(lease_seconds, 1))
      FROM (SELECT c.user_id, c.id FROM jobs c
             WHERE (c.status = 'queued' AND c.run_at <= now())
                OR (c.status = 'running' AND c.locked_until < now())
             ORDER BY c.run_at
             LIMIT greatest(least(batch, 100), 1)
             FOR UPDATE SKIP LOCKED) due
     WHERE j.user_id = due.user_id AND j.id = due.id
    RETURNING j.user_id, j.id, j.ticket_id, j.message_id, j.attempts, j.max_attempts
$$;
REVOKE ALL ON FUNCTION claim_jobs(text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_jobs(text, integer, integer) TO support_agent_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO support_agent_app;
