-- Stripe webhooks (issue I1): each tenant's signing secrets for its own endpoint, the events
-- received (each stored once by its event id), and the one lookup a Connect event needs before
-- its tenant is known.
--
-- Same shape as every tenant table (20261127000001_foundation.sql): user_id leads the key,
-- row-level security ENABLED and FORCED with the one tenant_isolation policy, the owner's
-- read-only operator_read policy. Secrets are sealed like Stripe keys (20261127000020_stripe.sql).

-- A tenant's endpoint, POST /webhooks/stripe/{endpoint_id} ----------------------------------------
-- endpoint_id is `we_<user id, 32 hex>_<16 hex>`: the tenant is read from it and the secrets
-- looked up inside that tenant's own transaction (as the intake's key ids are), so no lookup
-- across tenants is needed. `stripe webhook-secret set` seals the whsec_… Stripe shows; setting a
-- new one keeps the one before valid for 24 hours (previous_*), while Stripe signs with both
-- during a rotation.
CREATE TABLE stripe_webhooks (
    user_id                uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint_id            text NOT NULL CHECK (endpoint_id ~ '^we_[0-9a-f]{32}_[0-9a-f]{16}$'),
    master_key_id          text NOT NULL CHECK (master_key_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    nonce                  bytea NOT NULL CHECK (octet_length(nonce) = 12),
    ciphertext             bytea NOT NULL CHECK (octet_length(ciphertext) BETWEEN 17 AND 1040),
    previous_master_key_id text CHECK (previous_master_key_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    previous_nonce         bytea CHECK (octet_length(previous_nonce) = 12),
    previous_ciphertext    bytea CHECK (octet_length(previous_ciphertext) BETWEEN 17 AND 1040),
    previous_until         timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stripe_webhooks_pkey PRIMARY KEY (user_id),
    CONSTRAINT stripe_webhooks_user_id_endpoint_id_key UNIQUE (user_id, endpoint_id),
    CONSTRAINT stripe_webhooks_previous_columns CHECK (
        (previous_master_key_id IS NULL) = (previous_nonce IS NULL)
        AND (previous_nonce IS NULL) = (previous_ciphertext IS NULL)
        AND (previous_ciphertext IS NULL) = (previous_until IS NULL)
    )
);
CREATE TRIGGER stripe_webhooks_set_updated_at BEFORE UPDATE ON stripe_webhooks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE stripe_webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_webhooks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stripe_webhooks FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON stripe_webhooks FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON stripe_webhooks TO support_agent_app;

-- The events received -----------------------------------------------------------------------------
-- One row per (tenant, event id): a replay (Stripe retries, a captured request sent again) finds
-- the row and changes nothing. The payload is kept as Stripe sent it, for the stripe_event job
-- (jobs.payload_id = id) and for a person; unknown types are stored and acknowledged all the
-- same. outcome says what handling did (a ticket, a note, nothing); ticket_id is the ticket the
-- event opened or noted on, so that the event belongs to that ticket's customer (customer_scope,
-- as jobs do: an event with no ticket belongs to no customer).
CREATE TABLE stripe_events (
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    event_id      text NOT NULL CHECK (event_id ~ '^evt_[A-Za-z0-9_]{1,250}$'),
    type          text NOT NULL CHECK (char_length(type) BETWEEN 1 AND 200),
    account_id    text CHECK (account_id ~ '^acct_[A-Za-z0-9]{1,250}$'),
    livemode      boolean NOT NULL DEFAULT false,
    event_created timestamptz NOT NULL,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    handled_at    timestamptz,
    outcome       text CHECK (char_length(outcome) <= 2000),
    ticket_id     uuid,
    CONSTRAINT stripe_events_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT stripe_events_user_id_event_id_key UNIQUE (user_id, event_id),
    CONSTRAINT stripe_events_user_id_ticket_id_fkey FOREIGN KEY (user_id, ticket_id)
        REFERENCES tickets (user_id, id) ON DELETE SET NULL (ticket_id)
);
-- `stripe status`: when the tenant's last event came.
CREATE INDEX stripe_events_user_id_received_at_idx ON stripe_events (user_id, received_at);
CREATE INDEX stripe_events_user_id_ticket_id_idx ON stripe_events (user_id, ticket_id)
    WHERE ticket_id IS NOT NULL;
ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stripe_events FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON stripe_events FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY customer_scope ON stripe_events AS RESTRICTIVE FOR ALL
    USING (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = stripe_events.user_id AND t.id = stripe_events.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid))
    WITH CHECK (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = stripe_events.user_id AND t.id = stripe_events.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid));
GRANT SELECT, INSERT, UPDATE, DELETE ON stripe_events TO support_agent_app;

-- A Connect event's tenant ------------------------------------------------------------------------
-- POST /webhooks/stripe carries events of every connected account, signed with the platform's
-- secrets (STRIPE_CONNECT_WEBHOOK_SECRETS); which tenant an event is for is known only from its
-- `account`. stripe_accounts rows are visible only to their own tenant, and `serve` never holds
-- the owner role, so the webhook asks this one function: the tenant whose Connect account that
-- is (account_id is unique across tenants), and nothing else. It is called only after the
-- signature has been verified.
-- D4: runs as the owner (whose operator_read policy sees every row), search_path pinned to
-- pg_catalog, pg_temp so that a caller's temporary table cannot stand in, the table written
-- public.stripe_accounts.
CREATE FUNCTION stripe_tenant_by_account(account text)
    RETURNS uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.user_id FROM public.stripe_accounts a
     WHERE a.mode = 'connect' AND a.account_id = $1
$$;
REVOKE ALL ON FUNCTION stripe_tenant_by_account(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stripe_tenant_by_account(text) TO support_agent_app;
